"""The regulation objects this server process owns, built once per process from the
configuration tree (core.config.root): one ObjectFactory, so a loop's device and
its input's device share the same Input object and controller."""

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


def get(name: str, expected: type | tuple[type, ...]) -> Any:
    obj: Any = factory().get(name)
    if not isinstance(obj, expected):
        want = expected.__name__ if isinstance(expected, type) else " or ".join(t.__name__ for t in expected)
        raise RuntimeError(f"{name} is a {type(obj).__name__}, not a regulation {want}")
    return obj


def built() -> list[Any]:
    """Every object built so far (controllers included)."""
    return list(factory().built().values()) if _factory is not None else []


def reset() -> None:
    global _factory
    _factory = None
