"""DbGetDataForServerCache: everything a device server reads at start-up, in one reply.

cppTango's ``DbServerCache`` (src/client/dbapi_cache.cpp) fetches this once when a server
starts, then answers its admin-device import and its class / device / attribute / pipe /
free-object property reads from it instead of one database round trip each. The reply is
a flat string list that the client walks by counts, so every block must have exactly the
layout of the C++ DataBaseds' ``ds_start`` stored procedure (TangoDatabase,
create_db.sql.in / stored_proc.sql.in, 'release 1.13')::

    ["release 1.13"]                    only if the host argument ends in "%%<tango major>"
                                        with major >= 9 (then pipe blocks are present)
    import(dserver/<ds>)                name, ior, version, server, host, exported, pid,
                                        class -- or name, "Not Found" and nothing else
    event(notifd/factory/<host>)        name, ior, version, host, exported, pid | name,
    event(dserver/<ds>)                 "Not Found"
    props("DServer") props("Default") props(dserver/<ds>)     class, class, device
    <ds>, <number of classes>
    per class (DServer excluded):
        props(class) attr_props(class) [pipe_props(class)]
        class, <number of devices>, device names...
        per device: props(device) attr_props(device) [pipe_props(device)]
    props("CtrlSystem")                 free-object properties
    [import(access control device)]     when CtrlSystem/Services names AccessControl/tango

    props:      owner, n, (name, n_values, values...) * n
    attr_props: owner, n_attr, (attr, n_props, (name, n_values, values...) * n_props) * n_attr
"""

from __future__ import annotations

import logging
from collections import defaultdict

from .errors import API_CommandNotImplemented, DbError
from .registry import STRS, db_command, need
from .store import Device, TangoStore

log = logging.getLogger(__name__)

RELEASE = "release 1.13"  # the stored procedure release whose layout this follows
NOT_FOUND = "Not Found"
ACCESS_CONTROL = "accesscontrol/tango:"


def _split_host(host: str) -> tuple[str, bool]:
    """'host%%10' -> ('host', True): a Tango >= 9 client, which understands pipe blocks."""
    host, sep, release = host.partition("%%")
    digits = "".join(c for c in release.split(".")[0] if c.isdigit())
    return host, bool(sep) and digits != "" and int(digits) >= 9


def _import(dev: Device | None, name: str) -> list[str]:
    if dev is None:
        return [name, NOT_FOUND]
    version = dev.version if dev.version != "nada" else "0"  # as DbImportDevice
    return [name, dev.ior, version, dev.server, dev.host, str(dev.exported), str(dev.pid), dev.klass]


def _event(store: TangoStore, name: str) -> list[str]:
    ev = store.events.get(name.lower())
    if ev is None and "." in name:  # the procedure retries with the short host name
        ev = store.events.get(name.split(".", 1)[0].lower())
    if ev is None:
        return [name, NOT_FOUND]
    exported, ior, host, pid, version = ev
    return [name, ior, str(version), host, str(exported), str(pid)]


def _valued(table, owner) -> list[tuple[str, list[str]]]:
    """The owner's properties by name; value-less ones left out, as in MySQL (a row per
    value): the client would read a dummy value after a zero count (dbapi_base.cpp)."""
    return sorted((p for p in table.props(owner).values() if p[1]), key=lambda p: p[0].lower())


def _props(table, owner, label: str) -> list[str]:
    props = _valued(table, owner)
    out = [label, str(len(props))]
    for name, values in props:
        out += [name, str(len(values)), *values]
    return out


def _attr_props(table, attrs: list, label: str) -> list[str]:
    """attrs: the owner's (owner, attribute) keys in table, as written."""
    out = [label, "0"]
    n = 0
    for key in sorted(attrs, key=lambda k: k[1].lower()):
        props = _valued(table, key)
        if not props:
            continue
        n += 1
        out += [key[1], str(len(props))]
        for name, values in props:
            out += [name, str(len(values)), *values]
    out[1] = str(n)
    return out


def _by_owner(table) -> dict[str, list]:
    """owner (lower case) -> its (owner, attribute) keys: one pass over the table."""
    index: dict[str, list] = defaultdict(list)
    for key in table.owners():
        index[key[0].lower()].append(key)
    return index


def _access_control_device(values: list[str]) -> str | None:
    """The device named by an 'AccessControl/tango:<device>' service entry, if any."""
    found = None
    for value in values:
        if ACCESS_CONTROL in value.lower():
            found = value[len(ACCESS_CONTROL):]
            if "tango://" in found.lower():
                found = "/".join(found.split("/")[-3:])
    return found


def server_cache(store: TangoStore, server: str, host: str) -> list[str]:
    """The ds_start reply for server (exec/instance) started on host."""
    host, pipes = _split_host(host)
    admin = "dserver/" + server
    t = store.tables
    out: list[str] = [RELEASE] if pipes else []
    with store.lock:
        out += _import(store.device(admin), admin)
        if out[-1] == NOT_FOUND:
            return out
        out += _event(store, "notifd/factory/" + host)
        out += _event(store, admin)
        out += _props(t["class"], "DServer", "DServer")
        out += _props(t["class"], "Default", "Default")
        out += _props(t["device"], admin, admin)

        devices = [d for d in store.server_devices(server) if d.klass.lower() != "dserver"]
        classes: dict[str, list[Device]] = {}
        for dev in devices:
            classes.setdefault(dev.klass, []).append(dev)
        dev_attrs, class_attrs = _by_owner(t["device_attr"]), _by_owner(t["class_attr"])
        out += [server, str(len(classes))]
        for klass, members in classes.items():
            out += _props(t["class"], klass, klass)
            out += _attr_props(t["class_attr"], class_attrs.get(klass.lower(), []), klass)
            if pipes:
                out += [klass, "0"]  # no pipe properties are stored
            members.sort(key=lambda d: d.name.lower())
            out += [klass, str(len(members))] + [d.name for d in members]
            for dev in members:
                out += _props(t["device"], dev.name, dev.name)
                out += _attr_props(t["device_attr"], dev_attrs.get(dev.name.lower(), []), dev.name)
                if pipes:
                    out += [dev.name, "0"]

        out += _props(t["object"], "CtrlSystem", "CtrlSystem")
        services = t["object"].get("CtrlSystem", "Services") or []
        tac = _access_control_device(services)
        if tac is not None:
            out += _import(store.device(tac), tac)
    return out


@db_command(STRS, STRS)
def DbGetDataForServerCache(store: TangoStore, argin):
    """[server, host] -> the ds_start layout above, read by cppTango's DbServerCache."""
    if not store.server_cache_enabled:  # BeaconDB --no-server-cache: one call per item
        raise DbError(API_CommandNotImplemented, "DbGetDataForServerCache is disabled "
                      "(BeaconDB --no-server-cache)", "DataBase::DbGetDataForServerCache()")
    need(argin, 2, "DbGetDataForServerCache", "server name, host")
    out = server_cache(store, argin[0], argin[1])
    log.info("DbGetDataForServerCache(%s, %s): %d strings", argin[0], argin[1], len(out))
    return out
