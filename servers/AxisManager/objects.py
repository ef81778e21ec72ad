"""The configuration objects this server process drives, built once per process.

The YAML tree comes from BLISSTANGO_CONFIG (a local folder) or, failing that, from
the Beacon device (core.beacon.BEACON_DEVICE, attribute ConfigRoot) reached through TANGO_HOST.
One ObjectFactory per process, so that axes shared by several devices (a calc axis
and its blades) are the same Python objects.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from blisstango.core.beacon import BEACON_DEVICE
from blisstango.core.config import ObjectFactory, load_tree
from blisstango.core.motion import Axis

_factory: ObjectFactory | None = None


def config_root() -> Path:
    env = os.environ.get("BLISSTANGO_CONFIG")
    if env:
        return Path(env)
    import tango

    try:
        root = tango.DeviceProxy(BEACON_DEVICE).read_attribute("ConfigRoot").value
    except tango.DevFailed as exc:
        raise RuntimeError(f"no configuration: BLISSTANGO_CONFIG unset and {BEACON_DEVICE} "
                           f"(TANGO_HOST={os.environ.get('TANGO_HOST')}) did not answer: "
                           f"{exc.args[0].desc.strip()}") from None
    return Path(root)


def factory() -> ObjectFactory:
    global _factory
    if _factory is None:
        _factory = ObjectFactory(load_tree(config_root()))
    return _factory


def get_axis(name: str) -> Axis:
    obj: Any = factory().get(name)
    if not isinstance(obj, Axis):
        raise RuntimeError(f"{name} is a {type(obj).__name__}, not a motion axis")
    return obj


def reset() -> None:
    """Forget built objects (tests; a configuration reload)."""
    global _factory
    _factory = None
