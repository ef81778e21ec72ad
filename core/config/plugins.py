"""Registry of the plugins that build configuration objects.

The loader only needs plugin *names* to validate a tree, so nothing is imported until
an object is actually built: entry points (group ``blisstango.config_plugins``) are
listed by name and their module loaded on first use.
"""

from __future__ import annotations

import functools
import importlib
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from .errors import ConfigError

ENTRY_POINT_GROUP = "blisstango.config_plugins"

BuildFunction = Callable[[Any, Any], Any]  # build(node, factory) -> object

_runtime: dict[str, str | BuildFunction] = {}
_resolved: dict[str, BuildFunction] = {}
_lock = threading.Lock()


def register_plugin(name: str, target: str | BuildFunction) -> None:
    """Register (or replace) plugin `name`: a build callable or "module:attribute"."""
    if not isinstance(target, str) and not callable(target):
        raise TypeError(f"plugin {name!r}: expected a callable or 'module:attr', got {target!r}")
    if isinstance(target, str) and ":" not in target:
        raise ValueError(f"plugin {name!r}: {target!r} is not of the form 'module:attribute'")
    with _lock:
        _runtime[name] = target
        _resolved.pop(name, None)


def unregister_plugin(name: str) -> None:
    """Forget a run-time registration (entry points stay known)."""
    with _lock:
        _runtime.pop(name, None)
        _resolved.pop(name, None)


@functools.cache
def _entry_points() -> dict[str, str]:
    """Read once per process: listing entry points scans every installed distribution
    (7 ms here), and every tree load and validation asks for the plugin names."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_plugins() -> set[str]:
    """Names of every plugin: declared entry points plus run-time registrations."""
    with _lock:
        runtime = set(_runtime)
    return set(_entry_points()) | runtime


def get_plugin(name: str) -> BuildFunction:
    """The build function of plugin `name`, importing its module on first use."""
    with _lock:
        if name in _resolved:
            return _resolved[name]
        target = _runtime.get(name)
    if target is None:
        target = _entry_points().get(name)
    if target is None:
        raise ConfigError(f"unknown plugin {name!r}; known plugins: "
                          f"{', '.join(sorted(known_plugins()))}")
    if isinstance(target, str):
        module_name, _, attr = target.partition(":")
        try:
            func = importlib.import_module(module_name.strip())
            for part in attr.strip().split("."):
                func = getattr(func, part)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"plugin {name!r}: cannot load {target!r}: {exc}") from exc
    else:
        func = target
    with _lock:
        _resolved[name] = func
    return func
