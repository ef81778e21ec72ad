"""The one simulated detector of a LimaSimulator process, shared by its LimaCCDs device
and its plugin devices (roicounter, bpm), as one Lima server drives one camera.

Its description comes from the configuration object the LimaCCDs device exports
(property ObjectName, read from the Beacon device), or from the device property Config
(JSON, for a device run without Beacon)."""

from __future__ import annotations

import json
from typing import Any

import tango

from blisstango.core.beacon import BEACON_DEVICE
from blisstango.core.lima.control import CameraConfig, LimaControl

#: keys of the configuration object that are not the camera's
_NOT_CAMERA = {"name", "plugin", "tango", "__file__", "__line__"}

_control: LimaControl | None = None


def camera_config(object_name: str, config_json: str) -> CameraConfig:
    """The camera described by the object (through Beacon) or by JSON text."""
    if config_json:
        cfg: dict[str, Any] = json.loads(config_json)
    elif object_name:
        try:
            beacon = tango.DeviceProxy(BEACON_DEVICE)
            cfg = json.loads(beacon.GetObjectConfig(object_name))
        except tango.DevFailed as exc:
            raise RuntimeError(f"{object_name}: configuration not readable from {BEACON_DEVICE}: "
                               f"{exc.args[0].desc.strip()}") from None
    else:
        cfg = {}
    try:
        return CameraConfig.from_config({k: v for k, v in cfg.items() if k not in _NOT_CAMERA})
    except (ValueError, TypeError) as exc:
        where = f" ({cfg.get('__file__')}:{cfg.get('__line__')})" if cfg.get("__file__") else ""
        raise RuntimeError(f"{object_name or 'camera'}{where}: {exc}") from None


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
