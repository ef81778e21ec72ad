"""The configuration objects this server process drives, built once per process.

The YAML tree and the one ObjectFactory of the process: core.config.root (so that axes
shared by several devices, a calc axis and its blades, are the same Python objects).
"""

from __future__ import annotations

from typing import Any

from blisstango.core.config import ObjectFactory
from blisstango.core.config.root import process_objects, reset_process_objects
from blisstango.core.motion import Axis


def factory() -> ObjectFactory:
    return process_objects()


def get_axis(name: str) -> Axis:
    obj: Any = factory().get(name)
    if not isinstance(obj, Axis):
        raise RuntimeError(f"{name} is a {type(obj).__name__}, not a motion axis")
    return obj


def reset() -> None:
    """Forget built objects (tests; a configuration reload)."""
    reset_process_objects()
