"""Db* commands for servers, devices, export/import, aliases, events, host and server info."""

from __future__ import annotations

import time
from operator import attrgetter

from . import patterns
from .errors import (
    DB_AliasNotDefined,
    DB_DeviceNotDefined,
    DB_IncorrectArguments,
    DB_IncorrectServerName,
    DB_SQLError,
    DbError,
    bad_args,
)
from .registry import LONGSTRS, STR, STRS, VOID, db_command, device_name, need, register
from .store import Device, TangoStore


def _server_name(name: str, cmd: str) -> str:
    if "*" in name or "%" in name or name.count("/") != 1 or not all(name.split("/")):
        raise DbError(DB_IncorrectServerName,
                      f"{cmd}: server name {name[:120]!r} is not executable/instance",
                      f"DataBase::{cmd}()")
    return name


# -- servers and devices ---------------------------------------------------------------
@db_command(STRS, VOID)
def DbAddServer(store: TangoStore, argin):
    if len(argin) < 3 or len(argin) % 2 == 0:
        raise bad_args("DbAddServer", "needs server name then (device, class) pairs, "
                       f"got {len(argin)} items")
    server = _server_name(argin[0], "DbAddServer")
    pairs = [[device_name(argin[i], "DbAddServer"), argin[i + 1]] for i in range(1, len(argin), 2)]
    store.mutate("add_devices", server, pairs)


@db_command(STRS, VOID)
def DbAddDevice(store: TangoStore, argin):
    need(argin, 3, "DbAddDevice", "server, device, class")
    server = _server_name(argin[0], "DbAddDevice")
    name = device_name(argin[1], "DbAddDevice")
    alias = argin[3] if len(argin) > 3 and argin[3] else None
    store.mutate("add_device", server, name, argin[2], alias)


@db_command(STR, VOID)
def DbDeleteDevice(store: TangoStore, argin):
    store.mutate("delete_device", device_name(argin, "DbDeleteDevice"))


@db_command(STR, VOID)
def DbDeleteServer(store: TangoStore, argin):
    store.mutate("delete_server", _server_name(argin, "DbDeleteServer"))


@db_command(STRS, VOID)
def DbRenameServer(store: TangoStore, argin):
    need(argin, 2, "DbRenameServer", "old name, new name")
    old = _server_name(argin[0], "DbRenameServer")
    new = _server_name(argin[1], "DbRenameServer")
    store.mutate("rename_server", old, new)


# -- export / import -------------------------------------------------------------------
@db_command(STRS, VOID)
def DbExportDevice(store: TangoStore, argin):
    need(argin, 5, "DbExportDevice", "device, IOR, host, pid, version")
    name, ior, host, pid, version = argin[:5]
    try:
        pid = 0 if pid.lower() == "null" else int(pid)
    except ValueError:
        raise bad_args("DbExportDevice", f"pid must be an integer, got {pid[:40]!r}") from None
    store.mutate("export_device", name.lower(), ior, host, pid, version)


@db_command(STR, VOID)
def DbUnExportDevice(store: TangoStore, argin):
    store.mutate("unexport_device", argin.lower())


@db_command(STR, VOID)
def DbUnExportServer(store: TangoStore, argin):
    store.mutate("unexport_server", argin)


def _defined(store: TangoStore, name: str, shown: str, origin: str) -> Device:
    """The device called or aliased name; DB_DeviceNotDefined naming `shown` if none."""
    dev = store.device_by_name_or_alias(name)
    if dev is None:
        raise DbError(DB_DeviceNotDefined, f"device {shown[:200]} not defined in the database !",
                      f"DataBase::{origin}()")
    return dev


@db_command(STR, LONGSTRS)
def DbImportDevice(store: TangoStore, argin):
    dev = _defined(store, argin, argin.lower(), "ImportDevice")
    version = dev.version if dev.version != "nada" else "0"
    return ([dev.exported, dev.pid],
            [argin.lower(), dev.ior, version, dev.server, dev.host, dev.klass])


def _fmt_date(date: str | None) -> str:
    if not date:
        return "?"
    return time.strftime("%d-%m-%Y at %H:%M:%S", time.strptime(date, "%Y-%m-%d %H:%M:%S"))


@db_command(STR, LONGSTRS)
def DbGetDeviceInfo(store: TangoStore, argin):
    dev = _defined(store, argin, argin, "GetDeviceInfo")
    return ([dev.exported, dev.pid],
            [argin.lower(), dev.ior, dev.version, dev.server, dev.host,
             _fmt_date(dev.started), _fmt_date(dev.stopped), dev.klass])


@db_command(STRS, VOID)
def DbExportEvent(store: TangoStore, argin):
    need(argin, 5, "DbExportEvent", "event, IOR, host, pid, version")
    store.mutate("export_event", *[a for a in argin[:5]])


@db_command(STR, VOID)
def DbUnExportEvent(store: TangoStore, argin):
    store.mutate("unexport_event", argin)


@db_command(STR, LONGSTRS)
def DbImportEvent(store: TangoStore, argin):
    ev = store.events.get(argin.lower())
    if ev is None:
        raise DbError(DB_DeviceNotDefined, f"event {argin.lower()[:200]} not defined in the database !",
                      "DataBase::ImportEvent()")
    exported, ior, host, pid, version = ev
    try:
        pid = int(pid)
    except ValueError:
        pid = 0
    return ([exported, pid], [argin.lower(), ior, version, host])


# -- device lists: sorted distinct values of the devices a wildcard selects ------------
#: command -> (the device field answered, the fields the wildcard matches, exported only)
DEVICE_LISTS = {
    "DbGetDeviceDomainList": ("domain", ("name",), False),
    "DbGetDeviceFamilyList": ("family", ("name",), False),
    "DbGetDeviceMemberList": ("member", ("name",), False),
    "DbGetDeviceWideList": ("name", ("name",), False),
    "DbGetDeviceExportedList": ("name", ("name", "alias"), True),
    "DbGetExportdDeviceListForClass": ("name", ("klass",), True),
    "DbGetDeviceServerClassList": ("klass", ("server",), False),
    "DbGetClassList": ("klass", ("klass",), False),
    "DbGetHostList": ("host", ("host",), False),
}


def _matching(devices, keys, ok) -> list:
    """The devices one of whose `keys` (attrgetters, one or two) matches: written out per
    count, as a generator per device tripled the time of a 2,000-device list."""
    if len(keys) == 1:
        (key,) = keys
        return [d for d in devices if (v := key(d)) is not None and ok(v)]
    first, second = keys
    return [d for d in devices
            if ((v := first(d)) is not None and ok(v)) or ((w := second(d)) is not None and ok(w))]


def _device_list(name: str, field: str, matched: tuple[str, ...], exported_only: bool) -> None:
    answer, keys = attrgetter(field), [attrgetter(f) for f in matched]

    def handler(store: TangoStore, argin):
        ok = patterns.matcher(argin)
        with store.lock:
            devices = store.devices.values()
            if exported_only:
                devices = [d for d in devices if d.exported]
            if not patterns.matches_all(argin):  # "*" (the usual query) needs no test per device
                devices = _matching(devices, keys, ok)
            return sorted({answer(d) for d in devices})

    handler.__name__ = handler.__qualname__ = name
    handler.__doc__ = (f"wildcard on {' or '.join(matched)} -> sorted distinct {field} of the "
                       f"{'exported ' if exported_only else ''}devices").replace("klass", "class")
    register(name, STR, STRS, handler)


for _name, _spec in DEVICE_LISTS.items():
    _device_list(_name, *_spec)


@db_command(STRS, STRS)
def DbGetDeviceList(store: TangoStore, argin):
    need(argin, 2, "DbGetDeviceList", "server, class")
    ok_server, ok_class = patterns.matcher(argin[0]), patterns.matcher(argin[1])
    with store.lock:
        return sorted(d.name for d in store.devices.values() if ok_server(d.server) and ok_class(d.klass))


@db_command(STR, STRS)
def DbGetDeviceClassList(store: TangoStore, argin):
    out = []
    with store.lock:
        for d in sorted(store.server_devices(argin), key=lambda d: d.name):
            out += [d.name, d.klass]
    return out


@db_command(STR, STR)
def DbGetClassForDevice(store: TangoStore, argin):
    dev = store.device(argin)
    if dev is None:
        raise DbError(DB_IncorrectArguments, f"Class not found for {argin[:200]}",
                      "DataBase::DbGetClassForDevice()")
    return dev.klass


@db_command(STR, STRS)
def DbGetClassInheritanceForDevice(store: TangoStore, argin):
    klass = DbGetClassForDevice(store, argin)
    return [klass] + (store.tables["class"].get(klass, "InheritedFrom") or [])


# -- servers, hosts --------------------------------------------------------------------
def _servers(store: TangoStore, pattern: str) -> list[str]:
    ok = patterns.matcher(pattern)
    with store.lock:
        found = {}
        for d in store.devices.values():
            if ok(d.server):
                found.setdefault(d.server.lower(), d.server)
    return sorted(found.values())


@db_command(STR, STRS)
def DbGetServerList(store: TangoStore, argin):
    return _servers(store, argin)


@db_command(STR, STRS)
def DbGetServerNameList(store: TangoStore, argin):
    seen: dict[str, str] = {}
    for server in _servers(store, argin):
        exe = server.split("/")[0]
        seen.setdefault(exe.lower(), exe)
    return list(seen.values())


@db_command(STR, STRS)
def DbGetInstanceNameList(store: TangoStore, argin):
    return [s.split("/", 1)[1] for s in _servers(store, argin + "/*") if "/" in s]


@db_command(STR, STRS)
def DbGetHostServerList(store: TangoStore, argin):
    ok, ok_domain = patterns.matcher(argin), patterns.matcher(argin + ".*")
    with store.lock:
        return sorted({d.server for d in store.devices.values()
                       if d.klass == "DServer" and (ok(d.host) or ok_domain(d.host))})


@db_command(STR, STRS)
def DbGetHostServersInfo(store: TangoStore, argin):
    """What a host's Starter runs: the servers placed on the host (server info, from the
    YAML's `hosts` block or DbPutServerInfo, as the C++ DataBaseds' server table) and those
    that last ran there (PyTango's answer), each with its mode and level."""
    ok, ok_domain = patterns.matcher(argin), patterns.matcher(argin + ".*")
    with store.lock:
        placed = {i[0].lower(): i[0] for i in store.server_info.values()
                  if ok(i[1]) or ok_domain(i[1])}
        spelled = {d.server.lower(): d.server for d in store.devices.values() if d.klass == "DServer"}
    for server in DbGetHostServerList(store, argin):
        placed.setdefault(server.lower(), server)
    out = []
    for key in sorted(placed):
        server = spelled.get(key, placed[key])
        _, _, mode, level = DbGetServerInfo(store, server)
        out += [server, mode, level]
    return out


@db_command(STR, STRS)
def DbGetServerInfo(store: TangoStore, argin):
    info = store.server_info.get(argin.lower())
    if info is None:
        return [argin, " ", " ", " "]
    return [argin, info[1], str(info[2]), str(info[3])]


@db_command(STRS, VOID)
def DbPutServerInfo(store: TangoStore, argin):
    need(argin, 4, "DbPutServerInfo", "server, host, mode, level")
    store.mutate("put_server_info", argin[0].lower(), argin[1], argin[2], argin[3])


@db_command(STR, VOID)
def DbDeleteServerInfo(store: TangoStore, argin):
    store.mutate("delete_server_info", argin)


# -- aliases ---------------------------------------------------------------------------
@db_command(STRS, VOID)
def DbPutDeviceAlias(store: TangoStore, argin):
    need(argin, 2, "DbPutDeviceAlias", "device, alias")
    if not argin[1] or "/" in argin[1] or "*" in argin[1]:
        raise bad_args("DbPutDeviceAlias", f"alias {argin[1][:120]!r} must be a non-empty word without / or *")
    store.mutate("put_device_alias", device_name(argin[0], "DbPutDeviceAlias"), argin[1])


@db_command(STR, STR)
def DbGetDeviceAlias(store: TangoStore, argin):
    dev = store.device(device_name(argin, "DbGetDeviceAlias"))
    if dev is None:
        raise DbError(DB_DeviceNotDefined, f"No device called '{argin}'", "DataBase::DbGetDeviceAlias()")
    if not dev.alias:
        raise DbError(DB_AliasNotDefined, f"No alias found for device '{argin}'",
                      "DataBase::DbGetDeviceAlias()")
    return dev.alias


@db_command(STR, STR)
def DbGetAliasDevice(store: TangoStore, argin):
    ok = patterns.matcher(argin or "*")
    with store.lock:
        for alias, name in sorted(store.aliases.items()):
            if ok(alias):
                return name
    raise DbError(DB_DeviceNotDefined, f"No device found for alias '{argin[:200]}'",
                  "DataBase::DbGetAliasDevice()")


@db_command(STR, VOID)
def DbDeleteDeviceAlias(store: TangoStore, argin):
    store.mutate("delete_device_alias", argin)


@db_command(STR, STRS)
def DbGetDeviceAliasList(store: TangoStore, argin):
    with store.lock:
        return patterns.select(argin or "*", [d.alias for d in store.devices.values() if d.alias])


@db_command(STRS, VOID)
def DbPutAttributeAlias(store: TangoStore, argin):
    need(argin, 2, "DbPutAttributeAlias", "attribute, alias")
    store.mutate("put_attribute_alias", argin[0], argin[1])


def _attr_of_alias(store: TangoStore, alias: str, cmd: str) -> str:
    item = store.attr_aliases.get(alias.lower())
    if item is None:
        raise DbError(DB_SQLError, f"No attribute found for alias '{alias[:200]}'", f"DataBase::{cmd}()")
    return item[1]


@db_command(STR, STR)
def DbGetAttributeAlias(store: TangoStore, argin):
    return _attr_of_alias(store, argin, "DbGetAttributeAlias")


@db_command(STR, STR)
def DbGetAliasAttribute(store: TangoStore, argin):
    return _attr_of_alias(store, argin, "DbGetAliasAttribute")


@db_command(STR, STR)
def DbGetAttributeAlias2(store: TangoStore, argin):
    low = argin.lower()
    with store.lock:
        for alias, attr in store.attr_aliases.values():
            if attr == low:
                return alias
    raise DbError(DB_SQLError, f"No attribute found for attribute '{argin[:200]}'",
                  "DataBase::DbGetAttributeAlias2()")


@db_command(STR, STRS)
def DbGetAttributeAliasList(store: TangoStore, argin):
    ok = patterns.matcher(argin or "*")
    with store.lock:
        items = sorted((attr, alias) for alias, attr in store.attr_aliases.values() if ok(alias))
    return [alias for _, alias in items]


@db_command(STR, VOID)
def DbDeleteAttributeAlias(store: TangoStore, argin):
    store.mutate("delete_attribute_alias", argin)
