"""Keeping the YAML tree the source of truth for the Tango devices it defines.

At start (and on Reload) the Tango view of the tree replaces the store's devices and
their (attribute) properties. Afterwards every Tango-API write to a device definition
lands in YAML, comments kept, atomically. The journal (fsync'd) acknowledges the write;
YAML follows right after in a writer thread (ruamel round trips of big files take
seconds, which no DB client should wait for). After a crash the journal replays what
YAML may miss and `reconcile()` writes it. What goes where:

* plain servers: their server-centric file under ``tango/`` (``tango/<Exec>.yml`` for a
  new server);
* suite objects: the object's ``tango:`` block (``properties``, ``attribute_properties``,
  ``alias``) through ConfigWriter. Deleting or moving a suite device is refused: it is
  implied by the object, which is where it must change.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from blisstango.core.config import rtyaml
from blisstango.core.config.errors import ConfigError
from blisstango.core.config.tango_view import TANGO_FOLDER, TangoView, strings
from blisstango.core.config.writer import ConfigWriter

from .config_service import ConfigService
from .errors import DB_SQLError, DbError
from .store import Device, TangoStore

log = logging.getLogger(__name__)

DEVICE_OPS = {"add_device", "add_devices", "delete_device", "put_device_alias", "delete_device_alias"}
SERVER_OPS = {"delete_server", "rename_server"}
GLOBAL_OPS = {"put_attribute_alias", "delete_attribute_alias", "put_server_info", "delete_server_info",
              "put_access_control"}
GLOBALS = "@globals"  # dirty marker for the globals block (never a device name: no '/')
PROP_OPS = {"put_props", "delete_props", "put_attr_props", "delete_attr_props",
            "delete_all_attr_props", "delete_attribute"}


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


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
        self.yaml_state: dict[str, tuple] = {}   # device key -> state as written in YAML
        self.globals_file: str | None = None
        self.errors: list[str] = []              # last write failures (retried)
        self._dirty: set[str] = set()
        self._busy = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="yaml-writer", daemon=True)

    def install(self) -> None:
        self.store.config_mode = True
        self.apply_view(self.service.view, None)
        self.store.validators.append(self.validate)
        self.store.listeners.insert(0, self.after)
        self.service.before_reload.append(self.flush)
        self.service.on_reload.append(self.apply_view)
        self._thread.start()

    # -- view -> store -----------------------------------------------------------------
    def apply_view(self, view: TangoView, old: TangoView | None) -> None:
        st = self.store
        with st.lock:
            if old is not None:
                for key in set(old.devices) - set(view.devices):
                    st._drop_device(key)
            self.suite, self.location, self.server_file, self.yaml_state = {}, {}, {}, {}
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
                self.yaml_state[key] = self._state(key)
            self._apply_globals(view)

    def _apply_globals(self, view: TangoView) -> None:
        st = self.store
        self.globals_file = view.globals_file
        st.tables["class"].data = {k.lower(): (k, {n.lower(): (n, v) for n, v in p.items()})
                                   for k, p in view.class_properties.items() if p}
        st.tables["object"].data = {k.lower(): (k, {n.lower(): (n, v) for n, v in p.items()})
                                    for k, p in view.free_properties.items() if p}
        st.tables["class_attr"].data = {
            (k.lower(), a.lower()): ((k, a), {n.lower(): (n, v) for n, v in p.items()})
            for k, attrs in view.class_attribute_properties.items() for a, p in attrs.items() if p}
        st.attr_aliases = {a.lower(): (a, attr) for a, attr in view.attribute_aliases.items()}
        st.server_info = {k: [i.server, i.host, str(i.mode), str(i.level)]
                          for k, i in view.server_info.items()}
        st.access_control = view.access_control
        self.yaml_state[GLOBALS] = self._globals_state()

    def _globals_state(self) -> tuple:
        st = self.store
        classes = {owner: {n: list(v) for n, v in props.values()}
                   for owner, props in st.tables["class"].data.values() if props}
        class_attrs: dict = {}
        for (klass, attr), props in st.tables["class_attr"].data.values():
            if props:
                class_attrs.setdefault(klass, {})[attr] = {n: list(v) for n, v in props.values()}
        free = {owner: {n: list(v) for n, v in props.values()}
                for owner, props in st.tables["object"].data.values() if props}
        aliases = {a: attr for a, attr in st.attr_aliases.values()}
        # DbPutServerInfo keeps the name in lower case: YAML gets the server's own spelling
        spelled = {d.server.lower(): d.server for d in st.devices.values() if d.klass == "DServer"}
        hosts: dict[str, dict[str, dict[str, int]]] = {}
        for server, host, mode, level in sorted(st.server_info.values()):
            if host.strip():
                hosts.setdefault(host, {})[spelled.get(server.lower(), server)] = {
                    "level": _int(level, 1), "mode": _int(mode, 1)}
        return classes, class_attrs, free, aliases, hosts, json.dumps(st.access_control, sort_keys=True)

    # -- before a mutation: refuse what YAML cannot express --------------------------------
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
        self._pending = self._keys_of(op, args)
        for key in self._pending:
            dev = self.store.devices.get(key)
            obj = self.suite.get(key)
            if obj is None or dev is None:
                continue
            node = self.service.tree.get(obj) if self.service.tree else None
            where = f" ({node.file}:{node.line})" if node else ""
            klass = args[2] if op == "add_device" else dict((n.lower(), c) for n, c in args[1]).get(key) \
                if op == "add_devices" else None
            if op in ("delete_device", "delete_server", "rename_server", "delete_device_alias") or (
                    op in ("add_device", "add_devices") and (args[0] != dev.server or klass != dev.klass)):
                raise DbError(DB_SQLError, f"{dev.name} is the Tango device of configuration object "
                              f"{obj}{where}: change that object in YAML instead", f"DataBase::{op}")

    def _state(self, key: str) -> tuple | None:
        """(server, class, alias, properties, attribute properties) of a device, or None."""
        st = self.store
        dev = st.devices.get(key)
        if dev is None:
            return None
        props = {n: list(v) for n, v in st.tables["device"].props(key).values()}
        attrs = {}
        for owner in st.tables["device_attr"].owners():
            if owner[0].lower() == key:
                attrs[owner[1]] = {n: list(v) for n, v in st.tables["device_attr"].props(owner).values()}
        return dev.server, dev.klass, dev.alias, props, attrs

    # -- after the mutation: mark the devices to write -------------------------------------
    def after(self, op: str, now: str, args: tuple) -> None:
        if op in GLOBAL_OPS or (op in PROP_OPS and args[0] in ("class", "class_attr", "object")):
            self._mark({GLOBALS})
            return
        if op not in DEVICE_OPS | SERVER_OPS | PROP_OPS:
            return
        keys = set(getattr(self, "_pending", []))
        if op == "rename_server":
            keys |= {d.name.lower() for d in self.store.server_devices(args[1])}
        self._mark(keys)

    def _mark(self, keys) -> None:
        keys = {k for k in keys if not k.startswith("dserver/")}
        if keys:
            with self._cond:
                self._dirty |= keys
                self._cond.notify_all()

    def reconcile(self) -> None:
        """Write to YAML whatever the store holds that YAML does not (journal replay)."""
        with self.store.lock:
            keys = {k for k, d in self.store.devices.items() if d.server.lower() not in self.internal
                    and d.klass != "DServer"} | set(self.yaml_state) | {GLOBALS}
        self._mark(keys)

    def flush(self, timeout: float = 60.0) -> bool:
        """Wait until every pending write is in YAML (before a Reload, at shutdown)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._dirty or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
        return True

    # -- writer thread ---------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._dirty:
                    self._cond.wait()
                self._busy = True
            keys = self._coalesce()
            try:
                self._write(keys)
            except Exception as exc:  # noqa: BLE001 - keep the DB up, retry later
                log.exception("writing %d device(s) to YAML failed", len(keys))
                self.errors = [f"{type(exc).__name__}: {exc}"]
                with self._cond:
                    self._dirty |= keys
                time.sleep(1.0)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _coalesce(self, quiet: float = 0.05, longest: float = 1.0) -> set[str]:
        """Collect dirty keys until writes pause for `quiet` s (at most `longest` s): a burst
        of puts to one big file becomes one ruamel round trip, not one per put."""
        start = time.monotonic()
        while True:
            with self._cond:
                before = len(self._dirty)
            time.sleep(quiet)
            with self._cond:
                if len(self._dirty) == before or time.monotonic() - start > longest:
                    keys, self._dirty = self._dirty, set()
                    return keys

    def _write(self, keys: set[str]) -> None:
        if GLOBALS in keys:
            keys = keys - {GLOBALS}
            with self.store.lock:
                state = self._globals_state()
            if state != self.yaml_state.get(GLOBALS):
                rel = self.globals_file or f"{TANGO_FOLDER}/globals.yml"
                self._edit(rel, lambda doc: self._write_globals(doc, state))
                self.globals_file = rel
                self.yaml_state[GLOBALS] = state
        with self.store.lock:
            wanted = {k: self._state(k) for k in keys}
        plain = {}
        for key, state in sorted(wanted.items()):
            if state == self.yaml_state.get(key):
                continue
            if state is not None and state[0].lower() in self.internal:
                continue
            if key in self.suite:
                self._sync_suite(key, self.yaml_state.get(key), state)
                self.yaml_state[key] = state
            else:
                plain[key] = state
        if plain:
            self._sync_plain(plain)
        self.errors = []

    # -- suite objects: the object's tango block ---------------------------------------
    def _sync_suite(self, key: str, old: tuple | None, new: tuple | None) -> None:
        obj = self.suite[key]
        if new is None:
            return  # refused by validate(): suite devices are deleted in their object
        _, _, alias0, props0, attrs0 = old or (None, None, None, {}, {})
        _, _, alias1, props1, attrs1 = new
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

    def _delete_key(self, obj: str, path: tuple) -> None:
        try:
            self.writer.delete_key(obj, path)
        except (ConfigError, KeyError):
            pass  # not written in YAML: nothing to delete

    # -- plain servers: tango/*.yml ----------------------------------------------------
    def _edit(self, rel: str, fn) -> None:
        """Edit one file through ConfigWriter.edit_file (the one atomic YAML edit path: a
        file left empty is removed or keeps its top comment block, new files in the
        default block style)."""
        self.writer.edit_file(rel, fn, style=rtyaml.Style())

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
        # a server block left with no instance and nothing else is clutter: drop it
        empty = [i for i, b in enumerate(self._blocks(doc))
                 if not b.get("instances") and set(b) <= {"server", "instances"}]
        if isinstance(doc, list):
            for i in reversed(empty):
                del doc[i]
            return doc or None
        return None if empty else doc

    def _sync_plain(self, wanted: dict[str, tuple | None]) -> None:
        """Write the devices' entries, one edit per file (a 500-device DbAddServer is one write)."""
        removals: dict[str, set[str]] = {}
        writes: dict[str, dict[str, tuple]] = {}
        for key, state in wanted.items():
            old = self.location.get(key)
            if state is None:
                if old:
                    removals.setdefault(old, set()).add(key)
                continue
            exe = state[0].split("/", 1)[0]
            target = self.server_file.get(exe.lower()) or old or f"{TANGO_FOLDER}/{exe}.yml"
            if old and old != target:
                removals.setdefault(old, set()).add(key)
            writes.setdefault(target, {})[key] = state
            self.server_file.setdefault(exe.lower(), target)
        for rel, ks in removals.items():
            self._edit(rel, lambda doc, ks=ks: self._remove_entries(doc, ks))
            for k in ks:
                if self.location.get(k) == rel:
                    del self.location[k]
                if wanted.get(k) is None:
                    self.yaml_state.pop(k, None)
        for rel, states in writes.items():
            self._edit(rel, lambda doc, states=states: self._write_entries(doc, states))
            for k, state in states.items():
                self.location[k] = rel
                self.yaml_state[k] = state

    def _write_entries(self, doc, states: dict[str, tuple]):
        misplaced = {k for k, st in states.items() if not self._entry_in(doc, *st[0].split("/", 1), k)}
        doc = self._remove_entries(doc, misplaced) if misplaced else doc
        for key, state in states.items():
            doc = self._write_entry(doc, key, state)
        return doc

    def _write_entry(self, doc, key: str, state: tuple):
        server, klass, alias, props, attrs = state
        exe, inst = server.split("/", 1)
        name = self.store.devices[key].name if key in self.store.devices else key
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
            entry = CommentedMap([("tango_name", name), ("class", klass)])
            devices.append(entry)
        _sync_map(entry, "class", klass)
        if alias:
            _sync_map(entry, "alias", alias)
        else:
            entry.pop("alias", None)
        _sync_props(entry, "properties", props)
        _sync_mapping(entry, "attribute_properties", attrs, _sync_props)
        return doc

    def _write_globals(self, doc, state: tuple):
        classes, class_attrs, free, aliases, hosts, access = state
        block = next((b for b in self._blocks(doc) if "server" not in b), None)
        if block is None:
            block = CommentedMap()
            if doc is None:
                doc = block
            elif isinstance(doc, list):
                doc.insert(0, block)
            else:
                doc = CommentedSeq([block, doc])
        wanted = {k: (classes.get(k, {}), class_attrs.get(k, {}))
                  for k in sorted(set(classes) | set(class_attrs))}
        _sync_mapping(block, "classes", wanted, _sync_class)
        _sync_mapping(block, "free_properties", free, _sync_props)
        _sync_mapping(block, "attribute_aliases", aliases, _sync_map)
        _sync_mapping(block, "hosts", hosts, lambda parent, host, servers: _sync_mapping(
            parent, host, servers, lambda p, server, info: _sync_mapping(p, server, info, _sync_map)))
        _sync_tree(block, "access_control", json.loads(access))
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


def _sync_mapping(parent, key: str, wanted: dict, sync_item: Callable[[CommentedMap, str, object], None]):
    """Make parent[key] a mapping of exactly the wanted items, touching only those that
    differ (sync_item(mapping, name, value) writes one; comments stay). No mapping is
    left empty: nothing wanted removes the key."""
    current = parent.get(key)
    if not wanted:
        if current is not None:
            del parent[key]
        return
    if current is None:
        current = parent[key] = CommentedMap()
    for n in [n for n in current if n not in wanted]:
        del current[n]
    for n, v in wanted.items():
        sync_item(current, n, v)
    if not current:
        del parent[key]


def _sync_tree(parent, key: str, wanted) -> None:
    """parent[key] = wanted (nested dicts, lists, strings), touching only what differs."""
    if isinstance(wanted, dict):
        if not isinstance(parent.get(key), dict):
            parent.pop(key, None)
        _sync_mapping(parent, key, wanted, _sync_tree)
    elif isinstance(wanted, list):
        if [str(v) for v in parent.get(key) or []] != [str(v) for v in wanted]:
            parent[key] = CommentedSeq(wanted)
    elif parent.get(key) != wanted:
        parent[key] = wanted


def _sync_value(parent, name: str, values: list[str]) -> None:
    if name not in parent or strings(parent[name]) != values:
        parent[name] = _yaml_value(values)


def _sync_props(parent, key: str, props: dict[str, list[str]]) -> None:
    """parent[key]: {property: values}."""
    _sync_mapping(parent, key, props, _sync_value)


def _sync_class(classes, name: str, wanted: tuple[dict, dict]) -> None:
    """classes[name]: {properties: ..., attribute_properties: {attribute: ...}}."""
    props, attrs = wanted
    body = classes.get(name)
    if body is None:
        body = classes[name] = CommentedMap()
    _sync_props(body, "properties", props)
    _sync_mapping(body, "attribute_properties", attrs, _sync_props)


__all__ = ["YamlSync", "Path"]
