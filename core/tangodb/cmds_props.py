"""Db* commands for device, class and free-object properties, attribute properties and
their history. Reply layouts follow the C++ DataBaseds (see DataBase.xmi docs).

The device, class and free-object variants of a command differ only in the table, the
command name and a few details (which owner names are checked, whether an unknown
property reads as " "); each family is one body registered once per owner kind below,
e.g. DbPutDeviceProperty, DbPutClassProperty and DbPutProperty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from . import patterns
from .props import DELETED, HistEntry
from .registry import (
    STRS,
    VOID,
    count,
    db_command,
    db_commands,
    device_name,
    need,
    parse_attr_props,
    parse_props,
)
from .store import TangoStore

#: (argin[0], command) -> the owner a write stores, checking its syntax
OwnerCheck = Callable[[str, str], str]


class Owners(NamedTuple):
    """One kind of property owner and how its commands differ."""

    word: str                      # in the command names: Db<Verb><word>Property
    table: str                     # the store's table of plain properties
    attr_table: str | None         # ... of attribute properties (None: free objects have none)
    label: str                     # what argin[0] names, for error messages
    blank: bool                    # an unknown property reads as one " " value
    check: OwnerCheck | None       # how writes check argin[0]; None: stored as given
    delete_check: OwnerCheck | None  # ... DbDelete<word>Property (devices: no syntax check)
    attr_hist_per_value: bool = False  # the class history has one row per value


def _lower(name: str, cmd: str) -> str:
    return name.lower()


OWNERS = (
    Owners("Device", "device", "device_attr", "device", True, device_name, _lower),
    Owners("Class", "class", "class_attr", "class", False, None, None, attr_hist_per_value=True),
    Owners("", "object", None, "object", True, None, None),
)


def _owner(argin, cmd: str, label: str, check: OwnerCheck | None) -> str | None:
    """argin[0] as a write stores it, or None where argin[0] is taken as given."""
    if check is None:
        return None
    need(argin, 1, cmd, label)
    return check(argin[0], cmd)


# -- plain properties (device, class, free object) --------------------------------------
def _plain_commands(o: Owners) -> None:
    @db_commands(f"DbGet{o.word}Property", STRS, STRS,
                 f"[{o.label}, property names or wildcards] -> [{o.label}, n, (name, n values, values) * n]")
    def get(store: TangoStore, argin, cmd: str):
        need(argin, 1, cmd, o.label)
        owner, names = argin[0], argin[1:]
        t = store.tables[o.table]
        out = [owner, str(len(names))]
        with store.lock:
            for name in names:
                if patterns.is_wildcard(name):
                    values = [v for _, vals in t.matching(owner, name) for v in vals]
                else:
                    values = t.get(owner, name) or []
                out += [name, str(len(values))]
                out += values if values or not o.blank else [" "]
        return out

    @db_commands(f"DbPut{o.word}Property", STRS, VOID,
                 f"[{o.label}, n, (name, n values, values) * n]: one history entry")
    def put(store: TangoStore, argin, cmd: str):
        owner = _owner(argin, cmd, o.label, o.check)
        need(argin, 2, cmd, "name, property count")
        props = parse_props(argin, 2, count(argin[1], cmd, "property count"), cmd)
        store.mutate("put_props", o.table, owner or argin[0], props)

    @db_commands(f"DbDelete{o.word}Property", STRS, VOID,
                 f"[{o.label}, property names or wildcards]")
    def delete(store: TangoStore, argin, cmd: str):
        owner = _owner(argin, cmd, o.label, o.delete_check)
        need(argin, 1, cmd, "name")
        store.mutate("delete_props", o.table, owner or argin[0], list(argin[1:]))

    @db_commands(f"DbGet{o.word}PropertyHist", STRS, STRS,
                 f"[{o.label}, property wildcard] -> [(name, date, n, values) * entries], oldest first")
    def hist(store: TangoStore, argin, cmd: str):
        need(argin, 2, cmd, "name, property")
        out = []
        with store.lock:
            for e in store.tables[o.table].history(argin[0], argin[1]):
                values = e.values or [DELETED]
                out += [e.name, e.date, str(len(values))] + values
        return out

    if o.table == "class":
        return  # DbGetClassPropertyList takes a class wildcard only (below)

    @db_commands(f"DbGet{o.word}PropertyList", STRS, STRS,
                 f"[{o.label}, property wildcard] -> property names, sorted")
    def names(store: TangoStore, argin, cmd: str):
        need(argin, 2, cmd, f"{o.label}, wildcard")
        with store.lock:
            return store.tables[o.table].names(argin[0], argin[1] or "*")


@db_command("DevString", STRS)
def DbGetClassPropertyList(store, argin):
    """class wildcard -> the property names of the matching classes, sorted."""
    with store.lock:
        t = store.tables["class"]
        ok = patterns.matcher(argin or "*")
        return sorted({n for o in t.owners() if ok(o) for n in t.names(o)})


@db_command("DevString", STRS)
def DbGetObjectList(store, argin):
    with store.lock:
        return patterns.select(argin or "*", store.tables["object"].owners())


# -- attribute properties (device, class) -----------------------------------------------
def _attr_commands(o: Owners) -> None:
    for v2 in (False, True):
        @db_commands(f"DbGet{o.word}AttributeProperty{'2' if v2 else ''}", STRS, STRS,
                     f"[{o.label}, attributes...] -> [{o.label}, n, (attribute, n props, "
                     + ("(name, n values, values)" if v2 else "(name, value lines)") + " * n props) * n]")
        def get(store: TangoStore, argin, cmd: str, v2=v2):
            need(argin, 1, cmd, "name")
            owner = argin[0]
            t = store.tables[o.attr_table]
            out = [owner, str(len(argin) - 1)]
            with store.lock:
                for attr in argin[1:]:
                    items = sorted(t.props((owner, attr)).values())
                    out += [attr, str(len(items))]
                    for name, values in items:
                        if v2:
                            out += [name, str(len(values))] + values
                        else:
                            out += [name, "\n".join(values)]
            return out

        @db_commands(f"DbPut{o.word}AttributeProperty{'2' if v2 else ''}", STRS, VOID,
                     f"[{o.label}, n attributes, (attribute, n props, "
                     + ("(name, n values, values)" if v2 else "(name, value)") + " * n props) * n]")
        def put(store: TangoStore, argin, cmd: str, multi=v2):
            owner = _owner(argin, cmd, o.label, o.check)
            need(argin, 2, cmd, "name, attribute count")
            attrs = parse_attr_props(argin, count(argin[1], cmd, "attribute count"), cmd, multi)
            store.mutate("put_attr_props", o.attr_table, owner or argin[0], attrs)

    @db_commands(f"DbDelete{o.word}AttributeProperty", STRS, VOID,
                 f"[{o.label}, attribute, property names]")
    def delete(store: TangoStore, argin, cmd: str):
        need(argin, 3, cmd, f"{o.label}, attribute, property")
        owner = _owner(argin, cmd, o.label, o.check) or argin[0]
        store.mutate("delete_attr_props", o.attr_table, owner, argin[1], list(argin[2:]))

    @db_commands(f"DbDelete{o.word}Attribute", STRS, VOID,
                 f"[{o.label}, attribute]: its properties go, without history")
    def delete_attribute(store: TangoStore, argin, cmd: str):
        need(argin, 2, cmd, f"{o.label}, attribute")
        owner = _owner(argin, cmd, o.label, o.check) or argin[0]
        store.mutate("delete_attribute", o.attr_table, owner, argin[1])

    @db_commands(f"DbGet{o.word}AttributeList", STRS, STRS,
                 f"[{o.label}, attribute wildcard] -> attributes with properties, sorted")
    def attributes(store: TangoStore, argin, cmd: str):
        need(argin, 2, cmd, f"{o.label}, wildcard")
        with store.lock:
            return patterns.select(argin[1] or "*", store.attributes(o.attr_table, argin[0]))

    @db_commands(f"DbGet{o.word}AttributePropertyHist", STRS, STRS,
                 f"[{o.label}, attribute wildcard, property wildcard] -> [(attribute, name, date, "
                 + ("n, value) * values" if o.attr_hist_per_value else "n, values) * entries"))
    def hist(store: TangoStore, argin, cmd: str):
        need(argin, 3, cmd, "name, attribute, property")
        owner = argin[0].lower()
        ok_attr, ok_name = patterns.matcher(argin[1]), patterns.matcher(argin[2])
        t = store.tables[o.attr_table]
        entries: list[tuple[str, HistEntry]] = []
        with store.lock:
            for (okey, _), history in t.hist.items():
                if okey[0] == owner and ok_attr(okey[1]):
                    attr = t.data.get(okey, ((okey[0], okey[1]), {}))[0][1]
                    entries += [(attr, e) for e in history if ok_name(e.name)]
        entries.sort(key=lambda item: item[1].hid)
        out = []
        for attr, e in entries:
            values = e.values or [DELETED]
            if o.attr_hist_per_value:
                for v in values:
                    out += [attr, e.name, e.date, str(len(values)), v]
            else:
                out += [attr, e.name, e.date, str(len(values))] + values
        return out


@db_command(STRS, VOID)
def DbDeleteAllDeviceAttributeProperty(store, argin):
    need(argin, 2, "DbDeleteAllDeviceAttributeProperty", "device, attribute")
    dev = device_name(argin[0], "DbDeleteAllDeviceAttributeProperty")
    store.mutate("delete_all_attr_props", "device_attr", dev, list(argin[1:]))


# -- pipes: no pipe properties are stored (as PyTango's server) -----------------------------
def _pipe_commands(o: Owners) -> None:
    @db_commands(f"DbGet{o.word}PipeProperty", STRS, STRS,
                 f"[{o.label}, pipes...] -> [{o.label}, n, (pipe, 0) * n]: none is stored")
    def get(store: TangoStore, argin, cmd: str):
        need(argin, 1, cmd, o.label)
        return [argin[0], str(len(argin) - 1)] + [x for p in argin[1:] for x in (p, "0")]


for _o in OWNERS:
    _plain_commands(_o)
    if _o.attr_table is not None:
        _attr_commands(_o)
        _pipe_commands(_o)


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
