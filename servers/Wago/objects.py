"""The Wago controllers and actuators this server process drives: the process' one
ObjectFactory (core.config.root), so that a valve and its Wago device share one
controller and one Modbus connection."""

from __future__ import annotations

from typing import Any

from blisstango.core.config.root import process_objects


def get(name: str, kind: type) -> Any:
    obj = process_objects().get(name)
    if not isinstance(obj, kind):
        raise RuntimeError(f"{name} is a {type(obj).__name__}, not a {kind.__name__} (plugin wago)")
    return obj
