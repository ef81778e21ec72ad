"""The one simulated detector of a LimaSimulator process, shared by its LimaCCDs device
and its plugin devices (roicounter, bpm), as one Lima server drives one camera.

Its description comes from the configuration object the LimaCCDs device exports
(property ObjectName, read from the Beacon device), or from the device property Config
(JSON, for a device run without Beacon)."""

from __future__ import annotations

import json
from typing import Any

from blisstango.core.lima import plugin
from blisstango.core.lima.control import CameraConfig, LimaControl
from blisstango.core.lima.plugin import beacon_config


def camera_config(object_name: str, config_json: str) -> CameraConfig:
    """The camera described by the object (through Beacon) or by JSON text."""
    if config_json:
        cfg: dict[str, Any] = json.loads(config_json)
    elif object_name:
        cfg = beacon_config(object_name)
    else:
        cfg = {}
    return plugin.camera_config(cfg, object_name or "camera")


_control: LimaControl | None = None


def install(control: LimaControl) -> None:
    global _control
    _control = control


def control() -> LimaControl:
    """The process's detector; RuntimeError before the LimaCCDs device made it."""
    if _control is None:
        raise RuntimeError("no LimaCCDs device in this server: its plugins have no camera")
    return _control


def uninstall(control: LimaControl) -> None:
    global _control
    if _control is control:
        _control = None
