"""The regulation objects this server process owns: the process' one ObjectFactory over
its configuration tree (core.config.root.process_objects), so a loop's device and its
input's device share the same Input object and controller."""

from __future__ import annotations

from typing import Any

from blisstango.core.config.root import process_objects


def get(name: str, expected: type | tuple[type, ...]) -> Any:
    obj: Any = process_objects().get(name)
    if not isinstance(obj, expected):
        want = expected.__name__ if isinstance(expected, type) else " or ".join(t.__name__ for t in expected)
        raise RuntimeError(f"{name} is a {type(obj).__name__}, not a regulation {want}")
    return obj


def built() -> list[Any]:
    """Every object built so far (controllers included)."""
    return list(process_objects().built().values())
