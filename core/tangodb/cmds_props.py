"""Db* commands for device, class and free-object properties, attribute properties and
their history. Reply layouts follow the C++ DataBaseds (see DataBase.xmi docs)."""

from __future__ import annotations

from . import patterns
from .props import DELETED, HistEntry
from .registry import (
    STRS,
    VOID,
    count,
    db_command,
    device_name,
    need,
    parse_attr_props,
    parse_props,
)
from .store import TangoStore


# -- plain properties (device, class, free object) --------------------------------------
def _get(store: TangoStore, table: str, owner: str, names, blank_if_missing: bool):
    t = store.tables[table]
    out = [owner, str(len(names))]
    with store.lock:
        for name in names:
            if patterns.is_wildcard(name):
                values = [v for _, vals in t.matching(owner, name) for v in vals]
            else:
                values = t.get(owner, name) or []
            out += [name, str(len(values))]
            out += values if values or not blank_if_missing else [" "]
    return out


def _put(store: TangoStore, table: str, cmd: str, argin, owner: str | None = None):
    need(argin, 2, cmd, "name, property count")
    nb = count(argin[1], cmd, "property count")
    props = parse_props(argin, 2, nb, cmd)
    store.mutate("put_props", table, owner or argin[0], props)


def _delete(store: TangoStore, table: str, cmd: str, argin, owner: str | None = None):
    need(argin, 1, cmd, "name")
    store.mutate("delete_props", table, owner or argin[0], list(argin[1:]))


def _hist(store: TangoStore, table: str, cmd: str, argin, owner: str | None = None):
    need(argin, 2, cmd, "name, property")
    out = []
    with store.lock:
        for e in store.tables[table].history(owner or argin[0], argin[1]):
            values = e.values or [DELETED]
            out += [e.name, e.date, str(len(values))] + values
    return out


@db_command(STRS, STRS)
def DbGetDeviceProperty(store, argin):
    need(argin, 1, "DbGetDeviceProperty", "device")
    return _get(store, "device", argin[0], argin[1:], True)


@db_command(STRS, VOID)
def DbPutDeviceProperty(store, argin):
    need(argin, 1, "DbPutDeviceProperty", "device")
    _put(store, "device", "DbPutDeviceProperty", argin, device_name(argin[0], "DbPutDeviceProperty"))


@db_command(STRS, VOID)
def DbDeleteDeviceProperty(store, argin):
    need(argin, 1, "DbDeleteDeviceProperty", "device")
    _delete(store, "device", "DbDeleteDeviceProperty", argin, argin[0].lower())


@db_command(STRS, STRS)
def DbGetDevicePropertyList(store, argin):
    need(argin, 2, "DbGetDevicePropertyList", "device, wildcard")
    with store.lock:
        return store.tables["device"].names(argin[0], argin[1] or "*")


@db_command(STRS, STRS)
def DbGetDevicePropertyHist(store, argin):
    return _hist(store, "device", "DbGetDevicePropertyHist", argin)


@db_command(STRS, STRS)
def DbGetClassProperty(store, argin):
    need(argin, 1, "DbGetClassProperty", "class")
    return _get(store, "class", argin[0], argin[1:], False)


@db_command(STRS, VOID)
def DbPutClassProperty(store, argin):
    _put(store, "class", "DbPutClassProperty", argin)


@db_command(STRS, VOID)
def DbDeleteClassProperty(store, argin):
    _delete(store, "class", "DbDeleteClassProperty", argin)


@db_command("DevString", STRS)
def DbGetClassPropertyList(store, argin):
    with store.lock:
        t = store.tables["class"]
        ok = patterns.matcher(argin or "*")
        return sorted({n for o in t.owners() if ok(o) for n in t.names(o)})


@db_command(STRS, STRS)
def DbGetClassPropertyHist(store, argin):
    return _hist(store, "class", "DbGetClassPropertyHist", argin)


@db_command(STRS, STRS)
def DbGetProperty(store, argin):
    need(argin, 1, "DbGetProperty", "object")
    return _get(store, "object", argin[0], argin[1:], True)


@db_command(STRS, VOID)
def DbPutProperty(store, argin):
    _put(store, "object", "DbPutProperty", argin)


@db_command(STRS, VOID)
def DbDeleteProperty(store, argin):
    _delete(store, "object", "DbDeleteProperty", argin)


@db_command(STRS, STRS)
def DbGetPropertyList(store, argin):
    need(argin, 2, "DbGetPropertyList", "object, wildcard")
    with store.lock:
        return store.tables["object"].names(argin[0], argin[1] or "*")


@db_command(STRS, STRS)
def DbGetPropertyHist(store, argin):
    return _hist(store, "object", "DbGetPropertyHist", argin)


@db_command("DevString", STRS)
def DbGetObjectList(store, argin):
    with store.lock:
        return patterns.select(argin or "*", store.tables["object"].owners())


# -- attribute properties ---------------------------------------------------------------
def _attr_get(store, table: str, argin, v2: bool, cmd: str):
    need(argin, 1, cmd, "name")
    owner = argin[0]
    t = store.tables[table]
    out = [owner, str(len(argin) - 1)]
    with store.lock:
        for attr in argin[1:]:
            props = t.props((owner, attr))
            items = sorted(props.values())
            out += [attr, str(len(items))]
            for name, values in items:
                if v2:
                    out += [name, str(len(values))] + values
                else:
                    out += [name, "\n".join(values)]
    return out


def _attr_put(store, table: str, argin, multi: bool, cmd: str, owner: str | None = None):
    need(argin, 2, cmd, "name, attribute count")
    nb = count(argin[1], cmd, "attribute count")
    attrs = parse_attr_props(argin, nb, cmd, multi)
    store.mutate("put_attr_props", table, owner or argin[0], attrs)


def _attr_hist(store, table: str, argin, cmd: str, per_value: bool):
    need(argin, 3, cmd, "name, attribute, property")
    owner = argin[0].lower()
    ok_attr = patterns.matcher(argin[1])
    t = store.tables[table]
    entries: list[tuple[str, HistEntry]] = []
    with store.lock:
        for (okey, _), hist in t.hist.items():
            if okey[0] == owner and ok_attr(okey[1]):
                attr = t.data.get(okey, ((okey[0], okey[1]), {}))[0][1]
                entries += [(attr, e) for e in hist if patterns.matcher(argin[2])(e.name)]
    entries.sort(key=lambda item: item[1].hid)
    out = []
    for attr, e in entries:
        values = e.values or [DELETED]
        if per_value:
            for v in values:
                out += [attr, e.name, e.date, str(len(values)), v]
        else:
            out += [attr, e.name, e.date, str(len(values))] + values
    return out


@db_command(STRS, STRS)
def DbGetDeviceAttributeProperty(store, argin):
    return _attr_get(store, "device_attr", argin, False, "DbGetDeviceAttributeProperty")


@db_command(STRS, STRS)
def DbGetDeviceAttributeProperty2(store, argin):
    return _attr_get(store, "device_attr", argin, True, "DbGetDeviceAttributeProperty2")


@db_command(STRS, VOID)
def DbPutDeviceAttributeProperty(store, argin):
    need(argin, 1, "DbPutDeviceAttributeProperty", "device")
    _attr_put(store, "device_attr", argin, False, "DbPutDeviceAttributeProperty",
              device_name(argin[0], "DbPutDeviceAttributeProperty"))


@db_command(STRS, VOID)
def DbPutDeviceAttributeProperty2(store, argin):
    need(argin, 1, "DbPutDeviceAttributeProperty2", "device")
    _attr_put(store, "device_attr", argin, True, "DbPutDeviceAttributeProperty2",
              device_name(argin[0], "DbPutDeviceAttributeProperty2"))


@db_command(STRS, VOID)
def DbDeleteDeviceAttributeProperty(store, argin):
    need(argin, 3, "DbDeleteDeviceAttributeProperty", "device, attribute, property")
    dev = device_name(argin[0], "DbDeleteDeviceAttributeProperty")
    store.mutate("delete_attr_props", "device_attr", dev, argin[1], list(argin[2:]))


@db_command(STRS, VOID)
def DbDeleteDeviceAttribute(store, argin):
    need(argin, 2, "DbDeleteDeviceAttribute", "device, attribute")
    dev = device_name(argin[0], "DbDeleteDeviceAttribute")
    store.mutate("delete_attribute", "device_attr", dev, argin[1])


@db_command(STRS, VOID)
def DbDeleteAllDeviceAttributeProperty(store, argin):
    need(argin, 2, "DbDeleteAllDeviceAttributeProperty", "device, attribute")
    dev = device_name(argin[0], "DbDeleteAllDeviceAttributeProperty")
    store.mutate("delete_all_attr_props", "device_attr", dev, list(argin[1:]))


@db_command(STRS, STRS)
def DbGetDeviceAttributeList(store, argin):
    need(argin, 2, "DbGetDeviceAttributeList", "device, wildcard")
    with store.lock:
        return patterns.select(argin[1] or "*", store.attributes("device_attr", argin[0]))


@db_command(STRS, STRS)
def DbGetDeviceAttributePropertyHist(store, argin):
    return _attr_hist(store, "device_attr", argin, "DbGetDeviceAttributePropertyHist", False)


@db_command(STRS, STRS)
def DbGetClassAttributeProperty(store, argin):
    return _attr_get(store, "class_attr", argin, False, "DbGetClassAttributeProperty")


@db_command(STRS, STRS)
def DbGetClassAttributeProperty2(store, argin):
    return _attr_get(store, "class_attr", argin, True, "DbGetClassAttributeProperty2")


@db_command(STRS, VOID)
def DbPutClassAttributeProperty(store, argin):
    _attr_put(store, "class_attr", argin, False, "DbPutClassAttributeProperty")


@db_command(STRS, VOID)
def DbPutClassAttributeProperty2(store, argin):
    _attr_put(store, "class_attr", argin, True, "DbPutClassAttributeProperty2")


@db_command(STRS, VOID)
def DbDeleteClassAttributeProperty(store, argin):
    need(argin, 3, "DbDeleteClassAttributeProperty", "class, attribute, property")
    store.mutate("delete_attr_props", "class_attr", argin[0], argin[1], list(argin[2:]))


@db_command(STRS, VOID)
def DbDeleteClassAttribute(store, argin):
    need(argin, 2, "DbDeleteClassAttribute", "class, attribute")
    store.mutate("delete_attribute", "class_attr", argin[0], argin[1])


@db_command(STRS, STRS)
def DbGetClassAttributeList(store, argin):
    need(argin, 2, "DbGetClassAttributeList", "class, wildcard")
    with store.lock:
        return patterns.select(argin[1] or "*", store.attributes("class_attr", argin[0]))


@db_command(STRS, STRS)
def DbGetClassAttributePropertyHist(store, argin):
    return _attr_hist(store, "class_attr", argin, "DbGetClassAttributePropertyHist", True)


# -- pipes: no pipe properties are stored (as PyTango's server) -----------------------------
@db_command(STRS, STRS)
def DbGetClassPipeProperty(store, argin):
    need(argin, 1, "DbGetClassPipeProperty", "class")
    return [argin[0], str(len(argin) - 1)] + [x for p in argin[1:] for x in (p, "0")]


@db_command(STRS, STRS)
def DbGetDevicePipeProperty(store, argin):
    need(argin, 1, "DbGetDevicePipeProperty", "device")
    return [argin[0], str(len(argin) - 1)] + [x for p in argin[1:] for x in (p, "0")]


@db_command("DevString", STRS)
def DbGetForwardedAttributeListForDevice(store, argin):
    """[attribute, root attribute, ...] of the device's forwarded attributes (__root_att)."""
    out = []
    with store.lock:
        t = store.tables["device_attr"]
        for attr in sorted(store.attributes("device_attr", argin)):
            root = t.get((argin, attr), "__root_att")
            if root:
                out += [attr, root[0]]
    return out
