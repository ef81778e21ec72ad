"""The in-memory Tango database model and its journaled mutations.

Every change goes through :meth:`TangoStore.mutate`, which applies it under one lock
and hands it to the persistence layer (journal, YAML) before the Tango command returns,
so an acknowledged write survives a ``kill -9``. Reads never touch the disk.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from .errors import DB_DeviceNotDefined, DB_IncorrectServerName, DB_SQLError, DbError
from .props import PropTable

TABLES = ("device", "class", "object", "device_attr", "class_attr")


def now_str() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


class Device:
    """One row of the device table: static definition plus export (runtime) data."""

    __slots__ = ("name", "server", "klass", "alias", "exported", "ior", "host", "pid",
                 "version", "started", "stopped")

    def __init__(self, name: str, server: str, klass: str, alias: str | None = None):
        self.name, self.server, self.klass, self.alias = name, server, klass, alias
        self.exported, self.ior, self.host, self.pid, self.version = 0, "nada", "nada", 0, "0"
        self.started: str | None = None
        self.stopped: str | None = None

    @property
    def domain(self) -> str:
        return self.name.split("/")[0]

    @property
    def family(self) -> str:
        return self.name.split("/")[1]

    @property
    def member(self) -> str:
        return self.name.split("/")[2]

    def dump(self) -> list:
        return [getattr(self, s) for s in self.__slots__]

    @classmethod
    def load(cls, row: list) -> Device:
        d = cls.__new__(cls)
        for s, v in zip(cls.__slots__, row):
            setattr(d, s, v)
        return d


class TangoStore:
    """Servers, devices, aliases, properties, server info, events; thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.devices: dict[str, Device] = {}
        self.aliases: dict[str, str] = {}          # alias lower -> device name
        self.attr_aliases: dict[str, tuple[str, str]] = {}   # alias lower -> (alias, attr)
        self.server_info: dict[str, list[str]] = {}  # server lower -> [server, host, mode, level]
        self.access_control: dict = {}  # Tango access rules (core.tangodb.access)
        self.events: dict[str, list] = {}           # name -> [exported, ior, host, pid, version]
        self.tables: dict[str, PropTable] = {t: PropTable() for t in TABLES}
        self.hist_id = 0
        self.validators: list[Callable[[str, tuple], None]] = []
        self.listeners: list[Callable[[str, str, tuple], None]] = []
        self.config_mode = False  # devices and their properties come from YAML, not the journal
        self.after_commit: list[Callable[[str, tuple, object], None]] = []
        # Options of the serving process, read by the commands (never persisted):
        self.served_at: list[str] = []     # "host:port" of this database (DbGetCSDbServerList)
        self.server_cache_enabled = True   # False: DbGetDataForServerCache is not implemented

    # -- mutation plumbing ---------------------------------------------------
    def mutate(self, op: str, *args):
        """Apply op under the lock, then let listeners persist it (journal fsync)."""
        with self.lock:
            for validate in self.validators:
                validate(op, args)
            now = now_str()
            result = getattr(self, "_do_" + op)(now, *args)
            for listener in self.listeners:
                listener(op, now, args)
        for hook in self.after_commit:
            hook(op, args, result)
        return result

    def replay(self, op: str, now: str, args: list) -> None:
        """Re-apply a journaled op (no listeners): used when loading the journal."""
        getattr(self, "_do_" + op)(now, *args)

    def _next_id(self) -> int:
        self.hist_id += 1
        return self.hist_id

    # -- lookups -------------------------------------------------------------
    def device(self, name: str) -> Device | None:
        return self.devices.get(name.lower())

    def device_by_name_or_alias(self, name: str) -> Device | None:
        dev = self.devices.get(name.lower())
        if dev is None:
            real = self.aliases.get(name.lower())
            dev = self.devices.get(real) if real else None
        return dev

    def server_devices(self, server: str) -> list[Device]:
        low = server.lower()
        return [d for d in self.devices.values() if d.server.lower() == low]

    # -- servers and devices -------------------------------------------------
    def _do_add_device(self, now, server: str, name: str, klass: str, alias: str | None = None):
        key = name.lower()
        old = self.devices.get(key)
        if alias is None and old is not None:
            alias = old.alias  # re-adding a device keeps its alias (PyTango's DB drops it)
        if old is not None and old.alias and old.alias != alias:
            self.aliases.pop(old.alias.lower(), None)
        if alias:
            other = self.aliases.get(alias.lower())
            if other and other != key:
                raise DbError(DB_SQLError, f"alias {alias} already exists (device {other}) !",
                              "DataBase::DbAddDevice()")
            self.aliases[alias.lower()] = key
        self.devices[key] = Device(name, server, klass, alias)
        admin = "dserver/" + server
        if admin.lower() not in self.devices:
            self.devices[admin.lower()] = Device(admin, server, "DServer")

    def _do_add_devices(self, now, server: str, pairs: list):
        """DbAddServer: every (device, class) of a server in one journal record."""
        for name, klass in pairs:
            self._do_add_device(now, server, name, klass, None)

    def _drop_device(self, name: str) -> None:
        name = name.lower()
        dev = self.devices.pop(name, None)
        if dev is None:
            return
        if dev.alias:
            self.aliases.pop(dev.alias.lower(), None)
        self.tables["device"].drop_owner(name)
        attrs = self.tables["device_attr"]
        for owner in [o for o in attrs.owners() if o[0].lower() == name]:
            attrs.drop_owner(owner)

    def _do_delete_device(self, now, name: str):
        self._drop_device(name.lower())

    def _do_delete_server(self, now, server: str):
        """As the C++ DataBaseds: devices go with their properties and aliases."""
        for dev in self.server_devices(server):
            self._drop_device(dev.name)

    def _do_rename_server(self, now, old: str, new: str):
        if "dserver/" + new.lower() in self.devices:
            raise DbError(DB_SQLError, f"Device server process name {new} is already used !",
                          "DataBase::DbRenameServer()")
        devices = self.server_devices(old)
        if not devices:
            raise DbError(DB_IncorrectServerName, f"Server {old} not defined in database!",
                          "DataBase::DbRenameServer()")
        for dev in devices:
            dev.server = new
        old_admin, new_admin = "dserver/" + old, "dserver/" + new
        admin = self.devices.pop(old_admin.lower(), None)
        if admin is not None:
            admin.name = new_admin
            self.devices[new_admin.lower()] = admin
            self.tables["device"].rename_owner(old_admin, new_admin)

    def _do_put_device_alias(self, now, name: str, alias: str):
        dev = self.devices.get(name.lower())
        other = self.aliases.get(alias.lower())
        if other and other != name.lower():
            raise DbError(DB_SQLError, f"alias {alias} already exists !", "DataBase::DbPutDeviceAlias()")
        if dev is None:
            raise DbError(DB_DeviceNotDefined, f"device {name} not defined in the database !",
                          "DataBase::DbPutDeviceAlias()")
        if dev.alias:
            self.aliases.pop(dev.alias.lower(), None)
        dev.alias = alias
        self.aliases[alias.lower()] = dev.name.lower()

    def _do_delete_device_alias(self, now, alias: str):
        name = self.aliases.pop(alias.lower(), None)
        if name and name in self.devices:
            self.devices[name].alias = None

    def _do_put_attribute_alias(self, now, attr: str, alias: str):
        attr = attr.lower()
        if len(attr.split("/")) != 4:
            raise DbError(DB_SQLError, f"attribute name {attr} has bad syntax, must have 3 / in it",
                          "DataBase::DbPutAttributeAlias()")
        other = self.attr_aliases.get(alias.lower())
        if other and other[1] != attr:
            raise DbError(DB_SQLError, f"alias {alias} already exists !", "DataBase::DbPutAttributeAlias()")
        for key in [k for k, (_, a) in self.attr_aliases.items() if a == attr]:
            del self.attr_aliases[key]
        self.attr_aliases[alias.lower()] = (alias, attr)

    def _do_delete_attribute_alias(self, now, alias: str):
        self.attr_aliases.pop(alias.lower(), None)

    # -- export (runtime data) -----------------------------------------------
    def _do_export_device(self, now, name: str, ior: str, host: str, pid: int, version: str):
        dev = self.devices.get(name.lower())
        if dev is None:
            raise DbError(DB_DeviceNotDefined, f"device {name} not defined in the database !",
                          "DataBase::ExportDevice()")
        dev.exported, dev.ior, dev.host, dev.pid, dev.version = 1, ior, host, pid, version
        dev.started = now
        info = self.server_info.get(dev.server.lower())
        if info is not None and not self.config_mode:  # YAML's `hosts` says where it belongs
            info[1] = host

    def _do_unexport_device(self, now, name: str):
        dev = self.devices.get(name.lower())
        if dev is not None:
            dev.exported, dev.stopped = 0, now

    def _do_unexport_server(self, now, server: str):
        for dev in self.server_devices(server):
            dev.exported, dev.stopped = 0, now

    def _do_export_event(self, now, name: str, ior: str, host: str, pid: str, version: str):
        self.events[name.lower()] = [1, ior, host, pid, version]

    def _do_unexport_event(self, now, name: str):
        if name.lower() in self.events:
            self.events[name.lower()][0] = 0

    def _do_put_server_info(self, now, server: str, host: str, mode: str, level: str):
        self.server_info[server.lower()] = [server, host, mode, level]

    def _do_delete_server_info(self, now, server: str):
        self.server_info.pop(server.lower(), None)

    def _do_put_access_control(self, now, rules: dict):
        self.access_control = rules

    # -- properties ----------------------------------------------------------
    def _do_put_props(self, now, table: str, owner, props: list):
        t, hid = self.tables[table], self._next_id()
        owner = tuple(owner) if isinstance(owner, list) else owner
        for name, values in props:
            t.put(owner, name, values, hid, now)

    def _do_delete_props(self, now, table: str, owner, names: Iterable[str]):
        t = self.tables[table]
        owner = tuple(owner) if isinstance(owner, list) else owner
        for pattern in names:
            for name in t.names(owner, pattern):
                t.delete(owner, name, self._next_id(), now)

    def _do_put_attr_props(self, now, table: str, owner: str, attrs: list):
        """attrs: [(attribute, [(name, values), ...]), ...]; one history id per call."""
        t, hid = self.tables[table], self._next_id()
        for attr, props in attrs:
            for name, values in props:
                t.put((owner, attr), name, values, hid, now)

    def _do_delete_attr_props(self, now, table: str, owner: str, attr: str, names: list):
        t = self.tables[table]
        for name in names:
            if t.get((owner, attr), name) is not None:
                t.delete((owner, attr), name, self._next_id(), now)

    def _do_delete_all_attr_props(self, now, table: str, owner: str, attrs: list):
        t = self.tables[table]
        for attr in attrs:
            for name in t.names((owner, attr)):
                t.delete((owner, attr), name, self._next_id(), now)

    def _do_delete_attribute(self, now, table: str, owner: str, attr: str):
        """Drop an attribute's properties without history (DbDeleteDeviceAttribute)."""
        self.tables[table].drop_owner((owner, attr))

    # -- attribute listing helpers -------------------------------------------
    def attributes(self, table: str, owner: str) -> list[str]:
        low = owner.lower()
        return [o[1] for o in self.tables[table].owners() if o[0].lower() == low]

    # -- snapshot ------------------------------------------------------------
    def dump(self) -> dict:
        """Whole state; in config mode only runtime data (exports, history, the rest)."""
        with self.lock:
            if self.config_mode:
                tables = {k: t.dump() for k, t in self.tables.items()}
                # properties of devices the YAML defines live there; keep only the others
                tables["device"]["data"] = [
                    row for row in tables["device"]["data"] if row[0].lower() not in self.devices]
                tables["device_attr"]["data"] = [
                    row for row in tables["device_attr"]["data"] if row[0][0].lower() not in self.devices]
                for k in ("class", "class_attr", "object"):  # the YAML globals block holds these
                    tables[k]["data"] = []
                return {
                    "exports": {k: d.dump()[4:] for k, d in self.devices.items() if d.ior != "nada"},
                    "attr_aliases": [],
                    "server_info": [],  # the YAML's `hosts` block holds it
                    "events": self.events,
                    "tables": tables,
                    "hist_id": self.hist_id,
                }
            return {
                "devices": [d.dump() for d in self.devices.values()],
                "attr_aliases": list(self.attr_aliases.values()),
                "server_info": list(self.server_info.values()),
                "access_control": self.access_control,
                "events": self.events,
                "tables": {k: t.dump() for k, t in self.tables.items()},
                "hist_id": self.hist_id,
            }

    def load(self, state: dict) -> None:
        with self.lock:
            if self.config_mode and "devices" in state:  # a journal-only snapshot
                state = {**state, "exports": {r[0].lower(): r[4:] for r in state["devices"]}}
            if "exports" in state:  # config mode: devices come from YAML, add runtime data
                for key, row in state["exports"].items():
                    dev = self.devices.get(key)
                    if dev is not None:
                        (dev.exported, dev.ior, dev.host, dev.pid, dev.version,
                         dev.started, dev.stopped) = row
                tables = {k: PropTable.load(v) for k, v in state["tables"].items()}
                for k in ("device", "device_attr"):
                    tables[k].data = {**tables[k].data, **self.tables[k].data}
                for k in ("class", "class_attr", "object"):
                    tables[k].data = self.tables[k].data
                self.tables = tables
                self.events = state["events"]
                self.hist_id = state["hist_id"]
                return
            self.devices = {row[0].lower(): Device.load(row) for row in state["devices"]}
            self.aliases = {d.alias.lower(): d.name.lower() for d in self.devices.values() if d.alias}
            self.attr_aliases = {a.lower(): (a, attr) for a, attr in state["attr_aliases"]}
            self.server_info = {i[0].lower(): i for i in state["server_info"]}
            self.access_control = state.get("access_control") or {}
            self.events = state["events"]
            self.tables = {k: PropTable.load(v) for k, v in state["tables"].items()}
            self.hist_id = state["hist_id"]
