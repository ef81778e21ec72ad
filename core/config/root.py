"""Where a server process finds the YAML tree of the objects it drives.

BLISSTANGO_CONFIG (a local folder) if set, else the folder the Beacon device
(core.beacon.BEACON_DEVICE, attribute ConfigRoot) serves, reached through TANGO_HOST: a
server runs on a host that sees the beamline's configuration files. `process_objects()`
is the one ObjectFactory of a server process over that tree, so objects shared by
several devices (a calc axis and its blades, a controller and its channels) are the
same Python objects.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..beacon import BEACON_DEVICE
from .factory import ObjectFactory
from .tree import load_tree

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


def process_objects() -> ObjectFactory:
    """The ObjectFactory of this process over config_root(), built on first use."""
    global _factory
    if _factory is None:
        _factory = ObjectFactory(load_tree(config_root()))
        _factory.remote = _remote_object
    return _factory


_resolver: Any = None


def _remote_object(name: str) -> Any:
    """An object another server owns, as its clients see it (core.session's resolver:
    the exported object's client, or an object built with such clients for its
    references) — never a second copy driving the same hardware from this process."""
    global _resolver
    if _resolver is None:
        import tango

        from ..session import resolve_objects

        _resolver = resolve_objects(green_mode=tango.GreenMode.Gevent)
    return _resolver.build(name)


def process_object(name: str, expected: type | tuple[type, ...], what: str = "") -> Any:
    """The object `name` of this process's factory, refused unless it is an `expected`
    (a server builds only what it serves): "m0 is a SimulationCounter, not a motion axis"."""
    obj: Any = process_objects().get(name)
    if not isinstance(obj, expected):
        types = expected if isinstance(expected, tuple) else (expected,)
        want = what or " or ".join(t.__name__ for t in types)
        raise TypeError(f"{name} is a {type(obj).__name__}, not a {want}")
    return obj


def built_process_objects() -> list[Any]:
    """Every object this process has built so far (controllers included)."""
    return list(process_objects().built().values()) if _factory is not None else []


def reset_process_objects() -> None:
    """Forget the objects built so far (tests; a server re-reading its configuration)."""
    global _factory, _resolver
    _factory = _resolver = None
