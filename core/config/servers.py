"""Which Tango device servers a configuration tree implies.

Each suite server declares, through the ``blisstango.server_kinds`` entry point
group, a :class:`ServerKind`: which configuration objects it exports as Tango
devices and which server instance serves each of them. The launcher starts
``implied_servers(tree)``; BeaconDB derives the Tango devices from the same kinds
(see tango_view), so the two never disagree and no server is hard-coded in
either.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

ENTRY_POINT_GROUP = "blisstango.server_kinds"


@dataclass(frozen=True)
class Simulator:
    """A simulated-hardware process `blisstango up` runs for a configuration object, after
    BeaconDB and before the servers, which connect to it as to the hardware."""

    name: str                 # process name in `blisstango status` and its log
    argv: tuple[str, ...]     # argv[0]: a console script of this installation
    port: int | None          # TCP port it accepts connections on once ready (None: no TCP)
    path: str | None = None   # a file it creates once ready (a serial line's pseudo-terminal)


@dataclass(frozen=True)
class ServerKind:
    """How one suite server maps configuration objects onto Tango devices.

    server: executable and Tango server name (``AxisManager``).
    device_class: Tango class of the exported devices (``BlissAxis``).
    family: middle field of the device name ``<domain>/<family>/<name>``.
    select: true for the configuration nodes this server exports.
    instance: server instance serving a selected node.
    manager_class: class of one extra per-instance device, if any.
    object_devices: false when the selected objects only tell which instances must run:
        no device per object, only the per-instance device (the NexusWriter selects the
        sessions and serves them all from one device).
    manager_family: family of the per-instance device (default: the server in lower case).
    attribute_properties: attribute properties the database serves for a selected node's
        device ({attr: {prop: str | list}}), derived from its YAML (unit, format, limits)
        so the device never has to write them (BeaconDB would turn them into YAML).
    clients: what another process (a ScanServer, the shell) uses for a device of this
        server, by Tango class: {class: factory or "module:attribute"}, the factory
        called as factory(entry) with a core.session.SessionEntry (name, device, klass,
        server, manager, config, session). A detector usable as a counter controller, a
        loop usable as an axis... The session resolver finds it here: a new server plugs
        its client objects in without editing the resolver. A class without a factory
        is used as a plain DeviceProxy.
    plugins: config plugins whose objects only this server builds (from their YAML, owning
        their hardware and settings); another process never builds them, it uses the
        clients of the devices exported for them (AxisManager: "emotion").
    class_of: (Tango class, family) of a selected node, for a server exporting devices of
        several classes (the Wago server: couplers, valves, shutters); default
        (device_class, family).
    simulators: the simulated hardware a selected node asks for (a Wago's coupler
        emulator), as Simulator processes `blisstango up` starts before the servers.
    sub_devices: more devices the same server instance serves for a selected node, as
        (family, class) pairs: `<domain>/<family>/<name>`, no alias, property ObjectName
        (Lima's plugin devices beside its LimaCCDs device).
    """

    server: str
    device_class: str
    family: str
    select: Callable[[Any], bool]
    instance: Callable[[Any], str]
    manager_class: str | None = None
    object_devices: bool = True
    manager_family: str | None = None
    attribute_properties: Callable[[Any], dict[str, dict[str, Any]]] | None = None
    clients: Mapping[str, str | Callable[[Any], Any]] | None = field(default=None, hash=False,
                                                                    compare=False)
    plugins: tuple[str, ...] = ()
    class_of: Callable[[Any], tuple[str, str]] | None = None
    sub_devices: tuple[tuple[str, str], ...] = ()
    simulators: Callable[[Any], list[Simulator]] | None = None

    def class_and_family(self, node: Any) -> tuple[str, str]:
        return self.class_of(node) if self.class_of is not None else (self.device_class, self.family)


_registered: dict[str, ServerKind] = {}


def register_server_kind(kind: ServerKind) -> None:
    """Add a kind at run time (tests, third-party servers without entry points)."""
    _registered[kind.server] = kind


@functools.cache
def _declared_kinds() -> tuple[ServerKind, ...]:
    """The entry points' kinds, read once per process (listing entry points scans every
    installed distribution, and every tree validation asks)."""
    return tuple(ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP))


def server_kinds() -> list[ServerKind]:
    """Every known kind: entry points first, run-time registrations override."""
    kinds: dict[str, ServerKind] = {}
    for kind in _declared_kinds():
        kinds[kind.server] = kind
    kinds.update(_registered)
    return [kinds[name] for name in sorted(kinds)]


def kind_of_class(klass: str) -> ServerKind | None:
    """The kind whose server serves devices of Tango class klass (device, manager or
    client class), or None for a class no suite server serves."""
    for kind in server_kinds():
        if klass in (kind.device_class, kind.manager_class, *(kind.clients or {})):
            return kind
    return None


def tango_override(node: Any, key: str) -> Any:
    """Value of ``tango: {key: ...}`` on the node or, failing that, on its parents."""
    while node is not None:
        tango = node.get("tango") or {}
        if isinstance(tango, dict) and key in tango:
            return tango[key]
        node = node.parent
    return None


def exported_nodes(tree: Any, kinds: Iterable[ServerKind] | None = None):
    """Yield (kind, node, instance) for every configuration object a server exports."""
    kinds = server_kinds() if kinds is None else kinds
    for kind in kinds:
        for name in tree.names():
            node = tree[name]
            if kind.select(node):
                yield kind, node, kind.instance(node)


def implied_simulators(tree: Any) -> list[Simulator]:
    """The simulated-hardware processes the configuration asks for, in object order, one
    per name (the axes of one simulated controller all ask for its simulator)."""
    out: dict[str, Simulator] = {}
    for kind, node, _instance in exported_nodes(tree):
        if kind.simulators is not None:
            for sim in kind.simulators(node) or []:
                out.setdefault(sim.name, sim)
    return list(out.values())


def implied_servers(tree: Any) -> list[tuple[str, str]]:
    """Sorted (server, instance) pairs that must run for this configuration."""
    return sorted({(kind.server, instance) for kind, _node, instance in exported_nodes(tree)})
