"""The session a ScanServer works for, loaded from Beacon and built client-side.

GetSession (sys/beacon/1) gives the resolved object names (config-objects,
include-sessions) and the setup files. Objects some server exports as Tango devices
(the Tango database knows them by alias) are used through Tango: axes as AxisProxy,
anything else as a plain green DeviceProxy. The others (simulation and calc counters,
measurement groups) are built here from GetObjectConfig through their config plugin,
with the remote objects standing in for the references they hold (`axis: $m0`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import tango

from blisstango.core.config.errors import ConfigError
from blisstango.core.config.plugins import get_plugin
from blisstango.core.motion.axis_proxy import AxisProxy
from blisstango.core.scanning.session_objects import SessionObjects

log = logging.getLogger(__name__)

BEACON_DEVICE = "sys/beacon/1"
AXIS_CLASSES = {"BlissAxis"}
AXIS_MANAGER_CLASS = "AxisManagerDevice"
#: plugins whose objects only exist inside a server (never built client-side)
SERVER_SIDE_PLUGINS = {"emotion", "session"}


class RemoteNode:
    """A configuration object as GetObjectConfig returns it, shaped like a ConfigNode for
    plugins (name, plugin, file, line, to_dict, get, [])."""

    def __init__(self, name: str, data: dict) -> None:
        self.name = name
        self.file = data.pop("__file__", None)
        self.line = data.pop("__line__", None)
        self.plugin = data.get("plugin", "default")
        self._data = data
        self.parent = None

    def to_dict(self) -> dict:
        return json.loads(json.dumps(self._data))

    def raw(self) -> dict:
        return self.to_dict()

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_dict().get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def keys(self):
        return self._data.keys()

    def key_line(self, _key: str) -> int | None:
        return self.line


class RemoteFactory:
    """ObjectFactory over Beacon: objects built once, remote ones pre-registered."""

    def __init__(self, beacon: Any, remote: dict[str, Any]) -> None:
        self._beacon = beacon
        self._built: dict[str, Any] = dict(remote)
        self._building: list[str] = []

    def node(self, name: str) -> RemoteNode:
        try:
            return RemoteNode(name, json.loads(self._beacon.GetObjectConfig(name)))
        except tango.DevFailed as exc:
            raise ConfigError(f"{name}: Beacon has no such object: {exc.args[0].desc.strip()}") from None

    def get(self, name: str) -> Any:
        if name in self._built:
            return self._built[name]
        if name in self._building:
            raise ConfigError(f"circular build of {name!r}: {' -> '.join(self._building + [name])}")
        node = self.node(name)
        self._building.append(name)
        try:
            obj = get_plugin(node.plugin)(node, self)
        finally:
            self._building.pop()
        self._built.setdefault(name, obj)
        return self._built[name]

    def add(self, name: str, obj: Any) -> None:
        self._built[name] = obj


def _exported(db: Any, name: str) -> tuple[str, str] | None:
    """(device, class) of the Tango device whose alias is name, or None."""
    try:
        device = db.get_device_from_alias(name)
    except tango.DevFailed:
        return None
    try:
        klass = db.get_class_for_device(device)
    except tango.DevFailed:
        klass = ""
    return device, klass


def _manager_of(db: Any, device: str, cache: dict[str, str | None]) -> str | None:
    server = db.get_device_info(device).ds_full_name
    if server not in cache:
        pairs = list(db.get_device_class_list(server))
        found = [d for d, k in zip(pairs[::2], pairs[1::2]) if k == AXIS_MANAGER_CLASS]
        cache[server] = found[0] if found else None
    return cache[server]


def calc_reals(beacon: Any) -> dict[str, list[str]]:
    """{calc axis: its real axes} from the emotion controllers that list `$real` references
    (a scan of a calc axis locks its reals too: they are what moves)."""
    out: dict[str, list[str]] = {}
    for name in beacon.ListObjects(["*", "emotion"]):
        axes = json.loads(beacon.GetObjectConfig(name)).get("axes")
        if not isinstance(axes, list):
            continue
        names = [str(a.get("name", "")) for a in axes if isinstance(a, dict)]
        reals = [n[1:] for n in names if n.startswith("$")]
        if reals:
            for calc in (n for n in names if not n.startswith("$")):
                out[calc] = reals
    return out


def load_session(name: str, beacon_device: str = BEACON_DEVICE) -> SessionObjects:
    """Build the session's client-side objects (the setup file is run separately)."""
    beacon = tango.DeviceProxy(beacon_device, green_mode=tango.GreenMode.Gevent)
    try:
        info = json.loads(beacon.GetSession(name))
    except tango.DevFailed as exc:
        raise ConfigError(f"session {name}: {beacon_device} refused GetSession: "
                          f"{exc.args[0].desc.strip()}") from None
    session = SessionObjects(name)
    session.objects = list(info.get("objects", []))
    session.setup_files = list(info.get("setup_files", []))
    session.setup_text = info.get("setup_text") or ""
    db = tango.Database()
    managers: dict[str, str | None] = {}
    remote: dict[str, Any] = {}
    for obj in session.objects:
        found = _exported(db, obj)
        if found is None:
            continue
        device, klass = found
        if klass in AXIS_CLASSES:
            axis = AxisProxy(obj, device, _manager_of(db, device, managers))
            remote[obj] = session.axes[obj] = axis
        else:
            remote[obj] = session.devices[obj] = tango.DeviceProxy(device, green_mode=tango.GreenMode.Gevent)
    if session.axes:
        reals = calc_reals(beacon)
        for axis in session.axes.values():
            axis.reals = list(reals.get(axis.name, []))
    factory = RemoteFactory(beacon, remote)
    for obj in session.objects:
        if obj in remote:
            session.namespace[obj] = remote[obj]
            continue
        node = factory.node(obj)
        if node.plugin in SERVER_SIDE_PLUGINS:
            log.info("session %s: %s (%s) is not exported by any server: skipped", name, obj, node.plugin)
            continue
        built = factory.get(obj)
        session.namespace[obj] = built
    session.refresh_from_namespace()
    return session
