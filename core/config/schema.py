"""Value types of the keys a plugin reads, checked when a tree is loaded.

A velocity of ``fast`` would otherwise load, be served, and only fail when an axis is
built, far from the file that holds it. Each plugin declares the types of the keys it
reads through the ``blisstango.config_schemas`` entry point group, which names a
mapping ``{key: kind}`` in a light module (loading a tree never imports a plugin's
build code). Kinds: ``number``, ``number_or_none``, ``integer``, ``text``, ``sign``
(1 or -1), ``list`` and ``ref`` (a ``$name`` reference).
"""

from __future__ import annotations

import importlib
import threading
from importlib.metadata import entry_points
from typing import Any

from .errors import ConfigError

ENTRY_POINT_GROUP = "blisstango.config_schemas"

_cache: dict[str, dict[str, str]] | None = None
_lock = threading.Lock()


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_CHECKS = {
    "number": (_is_number, "a number"),
    "number_or_none": (lambda v: v is None or _is_number(v), "a number (or empty)"),
    "integer": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "text": (lambda v: isinstance(v, str | int | float) and not isinstance(v, bool), "a text"),
    "sign": (lambda v: v in (1, -1) and not isinstance(v, bool), "1 or -1"),
    "list": (lambda v: isinstance(v, list), "a list"),
    "ref": (lambda v: isinstance(v, str) and v.startswith("$"), "a $name reference"),
}


def schemas() -> dict[str, dict[str, str]]:
    """{plugin: {key: kind}} of every declared schema (loaded once)."""
    global _cache
    with _lock:
        if _cache is None:
            found: dict[str, dict[str, str]] = {}
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                module, _, attr = ep.value.partition(":")
                try:
                    found[ep.name] = dict(getattr(importlib.import_module(module.strip()),
                                                  attr.strip()))
                except (ImportError, AttributeError):
                    continue  # a broken plugin install must not hide the tree's own errors
            _cache = found
        return _cache


def key_kinds(plugin: str) -> dict[str, str]:
    """{key: kind} declared by plugin (empty for a plugin without a schema)."""
    return schemas().get(plugin, {})


def check_value(kind: str, value: Any) -> str | None:
    """None if value is of kind, else what it should be ("a number")."""
    test, what = _CHECKS[kind]
    return None if test(value) else what


def check_value_types(tree: Any) -> list[ConfigError]:
    """One error per wrongly typed key, at the line where the value is written."""
    errors: dict[tuple, ConfigError] = {}
    for node in tree.nodes():
        kinds = key_kinds(node.plugin)
        if not kinds:
            continue
        for key, kind in kinds.items():
            if key not in node:
                continue
            value = node.get(key)
            what = check_value(kind, value)
            if what is None:
                continue
            file, line = node.key_location(key)
            if (file, line) not in errors:
                errors[(file, line)] = ConfigError(
                    f"{node.name}: {key} must be {what}, not {value!r}", file, line)
    return list(errors.values())
