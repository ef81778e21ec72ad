"""Keeping the YAML tree the source of truth for the Tango devices it defines.

At start (and on Reload) the Tango view of the tree replaces the store's devices and
their (attribute) properties. Afterwards every Tango-API write to a device definition
lands in YAML before the command is acknowledged, comments kept, atomically:

* plain servers: their server-centric file under ``tango/`` (``tango/<Exec>.yml`` for a
  new server);
* suite objects: the object's ``tango:`` block (``properties``, ``attribute_properties``,
  ``alias``) through ConfigWriter. Deleting or moving a suite device is refused: it is
  implied by the object, which is where it must change.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from blisstango.core.config import rtyaml
from blisstango.core.config.atomic import TreeLock, atomic_write_text
from blisstango.core.config.errors import ConfigError
from blisstango.core.config.tango_view import TANGO_FOLDER, TangoView, strings
from blisstango.core.config.writer import ConfigWriter

from .config_service import ConfigService
from .errors import DB_SQLError, DbError
from .store import Device, TangoStore

log = logging.getLogger(__name__)

DEVICE_OPS = {"add_device", "add_devices", "delete_device", "put_device_alias", "delete_device_alias"}
SERVER_OPS = {"delete_server", "rename_server"}
PROP_OPS = {"put_props", "delete_props", "put_attr_props", "delete_attr_props",
            "delete_all_attr_props", "delete_attribute"}


def _yaml_value(values: list[str]):
    return values[0] if len(values) == 1 else CommentedSeq(values)


class YamlSync:
    def __init__(self, store: TangoStore, service: ConfigService, internal_servers: set[str]):
        self.store, self.service = store, service
        self.root = service.root
        self.internal = {s.lower() for s in internal_servers}
        self.writer = ConfigWriter(self.root)
        self.suite: dict[str, str] = {}          # device key -> object name
        self.location: dict[str, str] = {}       # plain device key -> file
        self.server_file: dict[str, str] = {}    # executable lower -> file
        self._styles: dict[str, rtyaml.Style] = {}
        self._before: dict[str, tuple] = {}

    def install(self) -> None:
        self.store.config_mode = True
        self.apply_view(self.service.view, None)
        self.store.validators.append(self.validate)
        self.store.listeners.insert(0, self.after)  # YAML first, then the journal
        self.service.on_reload.append(self.apply_view)

    # -- view -> store -----------------------------------------------------------------
    def apply_view(self, view: TangoView, old: TangoView | None) -> None:
        st = self.store
        with st.lock:
            if old is not None:
                for key in set(old.devices) - set(view.devices):
                    st._drop_device(key)
            self.suite, self.location, self.server_file = {}, {}, {}
            for key, d in view.devices.items():
                prev = st.devices.get(key)
                if prev is not None and prev.alias:
                    st.aliases.pop(prev.alias.lower(), None)
                dev = Device(d.name, d.server, d.klass, d.alias)
                if prev is not None:
                    (dev.exported, dev.ior, dev.host, dev.pid, dev.version, dev.started,
                     dev.stopped) = prev.dump()[4:]
                st.devices[key] = dev
                if d.alias:
                    st.aliases[d.alias.lower()] = key
                admin = "dserver/" + d.server
                if admin.lower() not in st.devices:
                    st.devices[admin.lower()] = Device(admin, d.server, "DServer")
                st.tables["device"].data[key] = (d.name, {n.lower(): (n, v) for n, v in d.properties.items()})
                attrs = st.tables["device_attr"]
                for owner in [o for o in attrs.owners() if o[0].lower() == key]:
                    attrs.drop_owner(owner)
                for attr, props in d.attribute_properties.items():
                    attrs.data[attrs.key((d.name, attr))] = (
                        (d.name, attr), {n.lower(): (n, v) for n, v in props.items()})
                if d.object:
                    self.suite[key] = d.object
                else:
                    self.location[key] = d.file
                    self.server_file.setdefault(d.server.split("/")[0].lower(), d.file)

    # -- before a mutation: refuse what YAML cannot express, remember the old state ------
    def _keys_of(self, op: str, args: tuple) -> list[str]:
        if op == "add_device":
            return [args[1].lower()]
        if op == "add_devices":
            return [name.lower() for name, _ in args[1]]
        if op in ("delete_device", "put_device_alias"):
            return [args[0].lower()]
        if op == "delete_device_alias":
            name = self.store.aliases.get(args[0].lower())
            return [name] if name else []
        if op in SERVER_OPS:
            return [d.name.lower() for d in self.store.server_devices(args[0])]
        if op in PROP_OPS and args[0] in ("device", "device_attr"):
            owner = args[1]
            return [(owner[0] if isinstance(owner, list | tuple) else owner).lower()]
        return []

    def validate(self, op: str, args: tuple) -> None:
        self._before = {}
        for key in self._keys_of(op, args):
            dev = self.store.devices.get(key)
            if dev is not None and dev.server.lower() in self.internal:
                continue
            obj = self.suite.get(key)
            if obj is not None:
                node = self.service.tree.get(obj) if self.service.tree else None
                where = f" ({node.file}:{node.line})" if node else ""
                klass = args[2] if op == "add_device" else dict((n.lower(), c) for n, c in args[1]).get(key) \
                    if op == "add_devices" else None
                if op in ("delete_device", "delete_server", "rename_server", "delete_device_alias") or (
                        op in ("add_device", "add_devices") and (args[0] != dev.server or klass != dev.klass)):
                    raise DbError(DB_SQLError, f"{dev.name} is the Tango device of configuration object "
                                  f"{obj}{where}: change that object in YAML instead", f"DataBase::{op}")
            self._before[key] = self._state(key)

    def _state(self, key: str) -> tuple:
        st = self.store
        props = {n: list(v) for n, v in st.tables["device"].props(key).values()}
        attrs = {}
        for owner in st.tables["device_attr"].owners():
            if owner[0].lower() == key:
                attrs[owner[1]] = {n: list(v) for n, v in st.tables["device_attr"].props(owner).values()}
        dev = st.devices.get(key)
        return (dev.alias if dev else None), props, attrs

    # -- after the mutation (under the store lock, before the journal) -------------------
    def after(self, op: str, now: str, args: tuple) -> None:
        if op not in DEVICE_OPS | SERVER_OPS | PROP_OPS:
            return
        if op in PROP_OPS and args[0] not in ("device", "device_attr"):
            return
        keys = set(self._before)
        if op == "rename_server":
            keys |= {d.name.lower() for d in self.store.server_devices(args[1])}
        plain = []
        for key in sorted(keys):
            dev = self.store.devices.get(key)
            server = dev.server if dev else None
            if (server or "").lower() in self.internal or (dev is not None and dev.klass == "DServer"):
                continue
            if key in self.suite:
                self._sync_suite(key, self._before.get(key))
            else:
                plain.append(key)
        if plain:
            self._sync_plain(plain)

    # -- suite objects: the object's tango block ---------------------------------------
    def _sync_suite(self, key: str, before: tuple | None) -> None:
        obj = self.suite[key]
        alias0, props0, attrs0 = before or (None, {}, {})
        alias1, props1, attrs1 = self._state(key)
        try:
            if alias1 != alias0:
                if alias1 and alias1 != obj:
                    self.writer.set_key(obj, ("tango", "alias"), alias1)
                else:
                    self._delete_key(obj, ("tango", "alias"))
            for n, v in props1.items():
                if props0.get(n) != v:
                    self.writer.set_key(obj, ("tango", "properties", n), _yaml_value(v))
            for n in set(props0) - set(props1):
                self._delete_key(obj, ("tango", "properties", n))
            for a, props in attrs1.items():
                for n, v in props.items():
                    if attrs0.get(a, {}).get(n) != v:
                        self.writer.set_key(obj, ("tango", "attribute_properties", a, n), _yaml_value(v))
            for a, props in attrs0.items():
                for n in set(props) - set(attrs1.get(a, {})):
                    self._delete_key(obj, ("tango", "attribute_properties", a, n))
        except ConfigError as exc:
            raise DbError(DB_SQLError, f"cannot write {obj}'s configuration: {exc}", "BeaconDB::yaml") from exc

    def _delete_key(self, obj: str, path: tuple) -> None:
        try:
            self.writer.delete_key(obj, path)
        except (ConfigError, KeyError):
            pass  # not written in YAML: nothing to delete

    # -- plain servers: tango/*.yml ----------------------------------------------------
    def _edit(self, rel: str, fn) -> None:
        path = self.root / rel
        with TreeLock(self.root):
            text = path.read_text() if path.exists() else ""
            style = self._styles.get(rel)
            if style is None:
                style = rtyaml.detect_style(text) if text.strip() else rtyaml.Style()
                self._styles[rel] = style
            doc = rtyaml.load(text, style) if text.strip() else None
            doc = fn(doc)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, rtyaml.dump(doc, style) if doc else "")

    @staticmethod
    def _blocks(doc) -> list:
        if doc is None:
            return []
        return list(doc) if isinstance(doc, list) else [doc]

    def _remove_entries(self, doc, keys: set[str]):
        for block in self._blocks(doc):
            instances = block.get("instances") or {}
            for inst in list(instances):
                devices = (instances[inst] or {}).get("devices") or []
                for i in reversed(range(len(devices))):
                    if str(devices[i].get("tango_name", "")).lower() in keys:
                        del devices[i]
                if not devices:
                    del instances[inst]
        return doc

    def _sync_plain(self, keys: list[str]) -> None:
        """Write the devices' entries, one edit per file (a 500-device DbAddServer is one write)."""
        removals: dict[str, set[str]] = {}
        writes: dict[str, list[str]] = {}
        for key in keys:
            dev = self.store.devices.get(key)
            old = self.location.get(key)
            if dev is None:
                if old:
                    removals.setdefault(old, set()).add(key)
                    del self.location[key]
                continue
            exe = dev.server.split("/", 1)[0]
            target = self.server_file.get(exe.lower()) or old or f"{TANGO_FOLDER}/{exe}.yml"
            if old and old != target:
                removals.setdefault(old, set()).add(key)
            writes.setdefault(target, []).append(key)
            self.server_file.setdefault(exe.lower(), target)
        for rel, ks in removals.items():
            self._edit(rel, lambda doc, ks=ks: self._remove_entries(doc, ks))
        for rel, ks in writes.items():
            self._edit(rel, lambda doc, ks=ks: self._write_entries(doc, ks))
            for k in ks:
                self.location[k] = rel

    def _write_entries(self, doc, keys: list[str]):
        misplaced = {k for k in keys if not self._entry_in(doc, *self._server_of(k), k)}
        doc = self._remove_entries(doc, misplaced) if misplaced else doc
        for key in keys:
            doc = self._write_entry(doc, key)
        return doc

    def _server_of(self, key: str) -> tuple[str, str]:
        exe, inst = self.store.devices[key].server.split("/", 1)
        return exe, inst

    def _write_entry(self, doc, key: str):
        dev = self.store.devices[key]
        exe, inst = self._server_of(key)
        _, props, attrs = self._state(key)
        block = next((b for b in self._blocks(doc) if str(b.get("server", "")).lower() == exe.lower()), None)
        if block is None:
            block = CommentedMap([("server", exe), ("instances", CommentedMap())])
            if doc is None:
                doc = block
            elif isinstance(doc, list):
                doc.append(block)
            else:
                doc = CommentedSeq([doc, block])
        instances = block.get("instances")
        if instances is None:
            instances = block["instances"] = CommentedMap()
        body = instances.get(inst)
        if body is None:
            body = instances[inst] = CommentedMap([("devices", CommentedSeq())])
        devices = body.get("devices")
        if devices is None:
            devices = body["devices"] = CommentedSeq()
        entry = next((e for e in devices if str(e.get("tango_name", "")).lower() == key), None)
        if entry is None:
            entry = CommentedMap([("tango_name", dev.name), ("class", dev.klass)])
            devices.append(entry)
        _sync_map(entry, "class", dev.klass)
        if dev.alias:
            _sync_map(entry, "alias", dev.alias)
        else:
            entry.pop("alias", None)
        _sync_props(entry, "properties", props)
        attr_map = entry.get("attribute_properties")
        if attrs or attr_map:
            if attr_map is None:
                attr_map = entry["attribute_properties"] = CommentedMap()
            for a in list(attr_map):
                if a not in attrs:
                    del attr_map[a]
            for a, p in attrs.items():
                _sync_props(attr_map, a, p)
            if not attr_map:
                del entry["attribute_properties"]
        return doc

    def _entry_in(self, doc, exe: str, inst: str, key: str) -> bool:
        for block in self._blocks(doc):
            if str(block.get("server", "")).lower() != exe.lower():
                continue
            body = (block.get("instances") or {}).get(inst) or {}
            if any(str(e.get("tango_name", "")).lower() == key for e in body.get("devices") or []):
                return True
        return False


def _sync_map(entry, key: str, value: str) -> None:
    if entry.get(key) != value:
        entry[key] = value


def _sync_props(parent, key: str, props: dict[str, list[str]]) -> None:
    """Make parent[key] hold props, touching only the entries that differ (comments stay)."""
    current = parent.get(key)
    if not props:
        if current is not None:
            del parent[key]
        return
    if current is None:
        current = parent[key] = CommentedMap()
    for n in list(current):
        if n not in props:
            del current[n]
    for n, v in props.items():
        if n not in current or strings(current[n]) != v:
            current[n] = _yaml_value(v)


__all__ = ["YamlSync", "Path"]
