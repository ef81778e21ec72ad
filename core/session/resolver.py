"""The one session resolver: a session name -> its objects, each with the Tango device
that exports it (name, class, server, manager) and its configuration, through TANGO_HOST
only (the Beacon device for the session and configurations, the Tango database for
aliases, classes and servers).

What another process uses for an exported object is decided by the server that exports
it: its ServerKind's `clients` {Tango class: factory(entry)} (core/config/servers.py),
so a new server plugs its client objects in without editing this module. Objects no
server exports (simulation and calc counters, measurement groups) are built here by
their config plugin, the exported objects standing in for the references they hold
(`axis: $m0`).

    rs = resolve_session("demo")            # ConfigError if Beacon does not know it
    rs.objects; rs.setup_files; rs.setup_text; rs.session_device  # "demo/scan/demo"
    e = rs.entries["m0"]; e.device, e.klass, e.server, e.manager, e.config, e.kind
    rs.client("m0")      # what the server's kind gives for its class (else a DeviceProxy)
    rs.build("diode")    # client if exported, else built by its plugin (cached)
    resolve_objects().build("m1")  # the same outside any session (a server using another's object)
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Callable
from typing import Any

import tango

from ..beacon import BEACON_DEVICE
from ..config.errors import ConfigError
from ..config.factory import ObjectFactory
from ..config.release import release_all
from ..config.servers import ServerKind, server_kinds
from .nodes import RemoteNode

log = logging.getLogger(__name__)

ClientFactory = Callable[["SessionEntry"], Any]
_registered_clients: dict[str, ClientFactory | str] = {}


def register_client(klass: str, factory: ClientFactory | str) -> None:
    """A client factory for a Tango class no ServerKind declares (tests, third-party
    servers): factory(entry) -> object; a ServerKind's `clients` are found without this."""
    _registered_clients[klass] = factory


def _load(factory: ClientFactory | str) -> ClientFactory:
    if callable(factory):
        return factory
    module, _, attr = str(factory).partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class SessionEntry:
    """One object of a session: its Tango device (None if no server exports it) and its
    configuration, each looked up when first asked for."""

    def __init__(self, session: ResolvedSession, name: str, device: str | None = None,
                 klass: str = "", server: str = "") -> None:
        self.session = session
        self.name = name
        self.device = device      # Tango device name, e.g. "demo/axis/m0"
        self.klass = klass        # Tango class, e.g. "BlissAxis"
        self.server = server      # "AxisManager/demo"

    def __repr__(self) -> str:
        where = f"{self.device} ({self.klass}, {self.server})" if self.device else "not exported"
        return f"<SessionEntry {self.name}: {where}>"

    @property
    def exported(self) -> bool:
        return self.device is not None

    @property
    def instance(self) -> str:
        return self.server.partition("/")[2]

    @property
    def kind(self) -> ServerKind | None:
        """The suite server kind serving this device's class (None: a plain Tango device)."""
        return self.session.kind_of(self.klass) if self.klass else None

    @property
    def manager(self) -> str | None:
        """The per-instance device of the same server (the kind's manager_class), if any."""
        kind = self.kind
        if not self.device or kind is None or not kind.manager_class:
            return None
        return self.session.manager_of(self.server, kind.manager_class)

    @property
    def config(self) -> dict:
        """The object's configuration as Beacon serves it (inherited defaults merged)."""
        return self.session.config(self.name)


class SessionFactory(ObjectFactory):
    """ObjectFactory over Beacon's configuration: an exported object is its client (never
    rebuilt here: its server owns it), any other is built by its plugin once."""

    def __init__(self, session: ResolvedSession) -> None:
        super().__init__(session)   # tree[name] -> RemoteNode, through session.__getitem__
        self.session = session

    def get(self, name: str) -> Any:
        if name not in self._built and self.session.entry(name).exported:
            self.add(name, self.session.client(name))
        return super().get(name)


class ResolvedSession:
    """What resolve_session found; clients and built objects are cached here."""

    def __init__(self, name: str, info: dict, beacon: Any, db: Any, green_mode: Any = None,
                 clients: dict[str, ClientFactory | str] | None = None) -> None:
        self.name = name
        self.beacon = beacon
        self.db = db
        self.green_mode = green_mode
        self.objects: list[str] = list(info.get("objects", []))
        self.included: list[str] = list(info.get("included", []))
        self.setup_files: list[str] = list(info.get("setup_files", []))
        self.setup_text: str = info.get("setup_text") or ""
        self.script_files: list[str] = list(info.get("script_files", []))
        self.scripts_text: str = info.get("scripts_text") or ""
        self.entries: dict[str, SessionEntry] = {}
        #: shared by client factories for per-session lookups (e.g. calc axes' reals)
        self.cache: dict[str, Any] = {}
        self._configs: dict[str, dict] = {}
        self._managers: dict[tuple[str, str], str | None] = {}
        self._clients: dict[str, Any] = {}
        self._overrides = dict(clients or {})
        self._kinds: dict[str, ServerKind] | None = None
        self._plugins: set[str] = set()
        self._factory = SessionFactory(self)

    def __repr__(self) -> str:
        return f"<ResolvedSession {self.name}: {', '.join(self.objects)}>"

    # -- Tango database ------------------------------------------------------------------
    def entry(self, name: str) -> SessionEntry:
        """The entry of any configuration object (a session object or one it references)."""
        if name not in self.entries:
            self.entries[name] = self._lookup(name)
        return self.entries[name]

    def _lookup(self, name: str) -> SessionEntry:
        try:
            device = self.db.get_device_from_alias(name)
        except tango.DevFailed:
            return SessionEntry(self, name)
        try:
            info = self.db.get_device_info(device)
            return SessionEntry(self, name, device, str(info.class_name), str(info.ds_full_name))
        except tango.DevFailed:
            return SessionEntry(self, name, device)

    @property
    def session_device(self) -> str | None:
        """The device exported for the session object itself: its ScanServer."""
        return self.entry(self.name).device

    def server_plugins(self) -> set[str]:
        """Config plugins whose objects only their server builds (ServerKind.plugins)."""
        self.kind_of("")
        return self._plugins

    def kind_of(self, klass: str) -> ServerKind | None:
        if self._kinds is None:
            self._kinds, self._plugins = {}, set()
            for kind in server_kinds():
                self._plugins.update(kind.plugins)
                for k in (kind.device_class, kind.manager_class, *(kind.clients or {})):
                    if k:
                        self._kinds.setdefault(k, kind)
        return self._kinds.get(klass)

    def manager_of(self, server: str, manager_class: str) -> str | None:
        key = (server, manager_class)
        if key not in self._managers:
            try:
                pairs = list(self.db.get_device_class_list(server))
            except tango.DevFailed:
                pairs = []
            found = [d for d, k in zip(pairs[::2], pairs[1::2]) if k == manager_class]
            self._managers[key] = found[0] if found else None
        return self._managers[key]

    def sub_device(self, name: str, family: str) -> str | None:
        """A device the object's server serves beside its own (ServerKind.sub_devices,
        `<domain>/<family>/<name>`): the session's Procedures device beside its ScanServer."""
        entry = self.entry(name)
        if not entry.server:
            return None
        try:
            pairs = list(self.db.get_device_class_list(entry.server))
        except tango.DevFailed:
            return None
        for device in pairs[::2]:
            parts = device.lower().split("/")
            if len(parts) == 3 and parts[1] == family.lower() and parts[2] == name.lower():
                return device
        return None

    # -- configuration (Beacon) -------------------------------------------------------------
    def config(self, name: str) -> dict:
        """GetObjectConfig of name (a copy; `__file__`/`__line__` kept)."""
        if name not in self._configs:
            try:
                self._configs[name] = json.loads(self.beacon.GetObjectConfig(name))
            except tango.DevFailed as exc:
                raise ConfigError(f"{name}: Beacon has no such object: {exc.args[0].desc.strip()}") from None
        return json.loads(json.dumps(self._configs[name]))

    def __getitem__(self, name: str) -> RemoteNode:
        """The object's configuration node (what config plugins are given)."""
        return RemoteNode(name, self.config(name))

    def list_objects(self, pattern: str = "*", plugin: str | None = None) -> list[str]:
        return list(self.beacon.ListObjects([pattern, plugin or ""]))

    # -- objects ----------------------------------------------------------------------------
    def client_factory(self, klass: str) -> ClientFactory | None:
        found = self._overrides.get(klass) or _registered_clients.get(klass)
        kind = self.kind_of(klass) if found is None else None
        if kind is not None and kind.clients:
            found = kind.clients.get(klass)
        return _load(found) if found is not None else None

    def client(self, name: str) -> Any:
        """What this process uses for an exported object: the factory its server's kind
        declares for the device class, else a DeviceProxy."""
        if name not in self._clients:
            entry = self.entry(name)
            if not entry.exported:
                raise ConfigError(f"{name}: no Tango device exports it (no server serves its plugin, "
                                  "or its server is not registered)")
            factory = self.client_factory(entry.klass)
            if factory is None:
                self._clients[name] = tango.DeviceProxy(entry.device, green_mode=self.green_mode)
            else:
                self._clients[name] = factory(entry)
        return self._clients[name]

    def build(self, name: str) -> Any:
        """The client of an exported object, else the object built by its config plugin
        (ConfigError for an object only its server builds that no device exports)."""
        entry = self.entry(name)
        if not entry.exported:
            plugin = self[name].plugin
            if plugin in self.server_plugins():
                raise ConfigError(f"{name}: its server builds {plugin!r} objects and no Tango "
                                  "device exports it (is its server registered?)")
        return self._factory.get(name)

    def namespace(self, build_local: Callable[[SessionEntry], Any] | None = None) -> dict[str, Any]:
        """{name: object} for every object of the session: the client of an exported one,
        else build_local(entry) if given, else the object its plugin builds here. Objects
        only a server builds that no device exports are left out (logged)."""
        out: dict[str, Any] = {}
        for name in self.objects:
            entry = self.entry(name)
            if entry.exported:
                out[name] = self.client(name)
                continue
            plugin = self[name].plugin
            if plugin in self.server_plugins():
                log.info("session %s: %s (%s) is not exported by any server: skipped", self.name, name, plugin)
                continue
            out[name] = build_local(entry) if build_local is not None else self._factory.get(name)
        return out

    def clients(self) -> dict[str, Any]:
        """Every client made so far, by object name."""
        return dict(self._clients)

    def close(self) -> None:
        """Let go of the clients' subscriptions (core.config.release: their __close__,
        never a valve's or a shutter's close())."""
        release_all(self._clients.values(), "client of")


def resolve_session(name: str, *, beacon_device: str = BEACON_DEVICE, green_mode: Any = None,
                    clients: dict[str, ClientFactory | str] | None = None) -> ResolvedSession:
    """The session `name` as Beacon and the Tango database describe it (TANGO_HOST only).

    green_mode: of the proxies made here (tango.GreenMode.Gevent in a gevent server).
    clients: {Tango class: factory} used instead of the kinds' own for this resolution.
    Raises ConfigError naming the Beacon device when the session is unknown or Beacon
    cannot be reached."""
    try:
        beacon = tango.DeviceProxy(beacon_device, green_mode=green_mode)
        info = json.loads(beacon.GetSession(name))
    except tango.DevFailed as exc:
        raise ConfigError(f"session {name}: {beacon_device} refused GetSession: "
                          f"{exc.args[0].desc.strip()}") from None
    rs = ResolvedSession(name, info, beacon, tango.Database(), green_mode, clients)
    for obj in rs.objects:
        rs.entry(obj)
    return rs


def resolve_objects(*, beacon_device: str = BEACON_DEVICE, green_mode: Any = None,
                    clients: dict[str, ClientFactory | str] | None = None) -> ResolvedSession:
    """Configuration objects outside any session, as another process than their server
    sees them: what a server uses for an object another server owns (a loop's input over
    a Wago channel, its output over an AxisManager axis) — `.build(name)`, `.client(name)`.
    No session is asked for: objects and setup are empty."""
    beacon = tango.DeviceProxy(beacon_device, green_mode=green_mode)
    return ResolvedSession("", {}, beacon, tango.Database(), green_mode, clients)
