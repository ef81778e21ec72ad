"""The Wago controllers and actuators this server process drives, built once per process
from the configuration tree (core.config.root), so that a valve and its Wago device share
one controller and one Modbus connection."""

from __future__ import annotations

from typing import Any

from blisstango.core.config import ObjectFactory, load_tree
from blisstango.core.config.root import config_root

_factory: ObjectFactory | None = None


def factory() -> ObjectFactory:
    global _factory
    if _factory is None:
        _factory = ObjectFactory(load_tree(config_root()))
    return _factory


def get(name: str, kind: type) -> Any:
    obj = factory().get(name)
    if not isinstance(obj, kind):
        raise RuntimeError(f"{name} is a {type(obj).__name__}, not a {kind.__name__}")
    return obj
