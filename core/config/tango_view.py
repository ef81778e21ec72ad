"""The Tango view of a configuration tree: which Tango devices it defines.

Two sources (DESIGN.md §3):

* suite objects that a registered server kind exports (servers.server_kinds()): device
  ``<domain>/<family>/<name>``, alias = object name, class = the kind's device class,
  server ``<Server>/<instance>``, device property ``ObjectName``; an explicit
  ``tango:`` block on the object (or a parent) overrides any of ``device``, ``alias``,
  ``class``, ``properties``, ``attribute_properties`` (the latter key by key over the
  ones the kind derives from the object: ServerKind.attribute_properties). Each server instance with a
  manager class also gets ``<domain>/<server lower>/<instance>`` (family
  ``manager_family`` if the kind sets one); a kind with ``object_devices=False`` (the
  NexusWriter) exports no object, its selected objects only imply that instance device.
* plain Tango servers described server-centric in ``tango/*.yml``::

      server: TangoTest             # executable; a file may also hold a list of these
      instances:
        test:
          devices:
            - tango_name: sys/tg_test/1      # never `name:` (that makes a config object)
              class: TangoTest
              alias: tg1                      # optional
              properties: {Mode: fast, Values: [1, 2]}
              attribute_properties: {ampli: {unit: V, min_value: 0}}

Problems are ConfigErrors with file and line: two sources for one device name or alias,
an unknown server class, a malformed server block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .servers import ServerKind, server_kinds, tango_override
from .yamlread import read_yaml

TANGO_FOLDER = "tango"
_DEVICE_RX = re.compile(r"^[^/\s*]+/[^/\s*]+/[^/\s*]+$")


@dataclass
class TangoDevice:
    name: str
    server: str                      # "Exec/instance"
    klass: str
    alias: str | None = None
    properties: dict[str, list[str]] = field(default_factory=dict)
    attribute_properties: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    file: str = ""
    line: int = 0
    object: str | None = None        # configuration object exported as this device

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" + (f" (object {self.object})" if self.object else "")


@dataclass(frozen=True)
class ServerInfo:
    """Tango's server info: the host that runs a server, the Starter's control mode
    (1: the Starter starts and restarts it, 0: it only shows it) and start level (servers
    start level by level, 1 first; 0: never started by the Starter)."""

    server: str                      # "Exec/instance"
    host: str
    mode: int = 1
    level: int = 1


@dataclass
class TangoView:
    devices: dict[str, TangoDevice] = field(default_factory=dict)   # lower-case name ->
    errors: list[ConfigError] = field(default_factory=list)
    aliases: dict[str, TangoDevice] = field(default_factory=dict)   # lower-case alias ->
    # the `globals` block of tango/ (class and free-object properties, attribute aliases)
    class_properties: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    class_attribute_properties: dict[str, dict[str, dict[str, list[str]]]] = field(default_factory=dict)
    free_properties: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    attribute_aliases: dict[str, str] = field(default_factory=dict)
    globals_file: str | None = None
    # the globals block's `hosts`: lower-case server -> ServerInfo (where a Starter runs it)
    server_info: dict[str, ServerInfo] = field(default_factory=dict)
    # the globals block's `access_control` (core.tangodb.access), plain dicts and lists
    access_control: dict = field(default_factory=dict)

    def by_server(self, server: str) -> list[TangoDevice]:
        low = server.lower()
        return [d for d in self.devices.values() if d.server.lower() == low]


def strings(value: Any) -> list[str]:
    """A property value as Tango stores it: a list of strings."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [_text(v) for v in value]
    return [_text(value)]


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _props(value: Any, where: tuple[str, int], errors: list[ConfigError], what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append(ConfigError(f"{what} must be a mapping, not {type(value).__name__}", *where))
        return {}
    return {str(k): strings(v) for k, v in value.items()}


def _attr_props(value: Any, where, errors, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append(ConfigError(f"{what} must be a mapping attribute -> properties", *where))
        return {}
    return {str(a): _props(p, where, errors, f"{what}.{a}") for a, p in value.items()}


def _add(view: TangoView, dev: TangoDevice) -> None:
    key = dev.name.lower()
    other = view.devices.get(key)
    if other is not None:
        view.errors.append(ConfigError(
            f"Tango device {dev.name} is defined twice: here and at {other.where}", dev.file, dev.line))
        return
    if dev.alias:
        d = view.aliases.get(dev.alias.lower())
        if d is not None:
            view.errors.append(ConfigError(
                f"Tango alias {dev.alias!r} of {dev.name} is already the alias of {d.name} "
                f"({d.where})", dev.file, dev.line))
            return
        view.aliases[dev.alias.lower()] = dev
    view.devices[key] = dev


# -- suite objects ----------------------------------------------------------------------
def _derived_attr_props(kind: ServerKind, node: Any, view: TangoView) -> dict[str, dict[str, list[str]]]:
    """The kind's attribute properties for this node, as Tango stores them."""
    if kind.attribute_properties is None:
        return {}
    try:
        derived = kind.attribute_properties(node) or {}
    except Exception as exc:  # noqa: BLE001 - a broken object must not hide the others
        view.errors.append(ConfigError(f"{node.name}: cannot derive the attribute properties of "
                                       f"its {kind.server} device: {exc}", node.file, node.line))
        return {}
    return {str(a): {str(k): strings(v) for k, v in (p or {}).items()} for a, p in derived.items()}


def _suite(tree: Any, kinds: list[ServerKind], view: TangoView) -> None:
    classes = {k.device_class for k in kinds} | {k.manager_class for k in kinds if k.manager_class} | {
        klass for k in kinds for _family, klass in k.sub_devices}
    exported: set[str] = set()
    managers: dict[tuple[str, str], tuple[str, Any]] = {}
    for kind in kinds:
        for node in tree.nodes():
            try:
                selected = kind.select(node)
            except Exception as exc:  # noqa: BLE001 - a broken object must not hide the others
                view.errors.append(ConfigError(f"{node.name}: cannot tell whether {kind.server} "
                                               f"exports it: {exc}", node.file, node.line))
                continue
            if not selected:
                continue
            instance = str(kind.instance(node))
            domain = str(tango_override(node, "domain") or tree.domain_of(node.name) or "blisstango")
            if not kind.object_devices:  # the object only implies the instance's own device
                if kind.manager_class:
                    managers.setdefault((kind.server, instance), (domain, kind, node))
                continue
            exported.add(node.name)
            own = node.get("tango") if isinstance(node.get("tango"), dict) else {}
            where = (node.file, node.key_line("tango") if own else node.line)
            own_class, family = kind.class_and_family(node)
            klass = str(own.get("class") or own_class)
            if klass not in classes and klass != own_class:
                view.errors.append(ConfigError(
                    f"{node.name}: unknown Tango server class {klass!r} (known: {', '.join(sorted(classes))})",
                    *where))
                continue
            name = str(own.get("device") or f"{domain}/{family}/{node.name}")
            if not _DEVICE_RX.match(name):
                view.errors.append(ConfigError(f"{node.name}: Tango device name {name!r} is not "
                                               "domain/family/member", *where))
                continue
            props = {"ObjectName": [node.name]}
            props.update(_props(own.get("properties"), where, view.errors, "tango.properties"))
            attr_props = _derived_attr_props(kind, node, view)
            explicit = _attr_props(own.get("attribute_properties"), where, view.errors,
                                   "tango.attribute_properties")
            for attr, values in explicit.items():  # explicit YAML wins, key by key
                attr_props.setdefault(attr, {}).update(values)
            _add(view, TangoDevice(
                name=name, server=f"{kind.server}/{instance}", klass=klass,
                alias=str(own.get("alias") or node.name), properties=props,
                attribute_properties=attr_props,
                file=node.file, line=node.line, object=node.name))
            for family, sub_class in kind.sub_devices:
                _add(view, TangoDevice(
                    name=f"{domain}/{family}/{node.name}", server=f"{kind.server}/{instance}",
                    klass=sub_class, properties={"ObjectName": [node.name]},
                    file=node.file, line=node.line))
            if kind.manager_class:
                managers.setdefault((kind.server, instance), (domain, kind, node))
    for (server, instance), (domain, kind, node) in sorted(managers.items()):
        family = kind.manager_family or server.lower()
        _add(view, TangoDevice(name=f"{domain}/{family}/{instance}", server=f"{server}/{instance}",
                               klass=kind.manager_class, file=node.file, line=node.line))
    # a tango block on an object that no server exports is a mistake worth reporting
    for node in tree.nodes():
        own = node.get("tango") if "tango" in node.own_keys() else None
        if isinstance(own, dict) and node.name not in exported and set(own) - {"domain"}:
            if "server" in own and node.children:
                continue  # a controller naming the instance of the objects it holds
            view.errors.append(ConfigError(
                f"{node.name}: has a tango block ({', '.join(sorted(own))}) but no suite server "
                f"exports {node.plugin!r} objects (servers: {', '.join(k.server for k in kinds) or 'none'})",
                node.file, node.key_line("tango")))


# -- plain servers in tango/ -------------------------------------------------------------
def plain_files(tree: Any) -> list[str]:
    return sorted(f for f in tree.files() if f.startswith(TANGO_FOLDER + "/"))


def _plain(tree: Any, file: str, view: TangoView) -> None:
    # the loader already parsed the file with line numbers; re-read only if it did not keep it
    raw = getattr(tree, "_raw", {})
    if file in raw:
        data = raw[file]
    else:
        data, errors = read_yaml((Path(tree.root) / file).read_text(), file)
        view.errors.extend(errors)
    if data is None:
        return
    blocks = data if isinstance(data, list) else [data]
    for block in blocks:
        line = getattr(block, "line", 1)
        if isinstance(block, dict) and "server" not in block and set(block) & set(GLOBAL_KEYS):
            _globals(block, file, line, view)
            continue
        if not isinstance(block, dict) or not isinstance(block.get("server"), str):
            view.errors.append(ConfigError("malformed server block: needs `server: <executable>` and "
                                           "`instances: {<instance>: {devices: [...]}}`", file, line))
            continue
        instances = block.get("instances") or {}
        if not isinstance(instances, dict):
            view.errors.append(ConfigError(f"server {block['server']}: `instances` must map instance "
                                           "names to {devices: [...]}", file, line))
            continue
        for instance, body in instances.items():
            iline = block.get("instances").key_lines.get(instance, line) if hasattr(
                block.get("instances"), "key_lines") else line
            server = f"{block['server']}/{instance}"
            devices = body.get("devices") if isinstance(body, dict) else None
            if not isinstance(devices, list):
                view.errors.append(ConfigError(f"server {server}: needs `devices:` as a list", file, iline))
                continue
            for entry in devices:
                eline = getattr(entry, "line", iline)
                if not isinstance(entry, dict):
                    view.errors.append(ConfigError(f"server {server}: device entry must be a mapping", file, eline))
                    continue
                if "name" in entry:
                    view.errors.append(ConfigError(
                        f"server {server}: device entries use `tango_name:`, not `name:` "
                        "(a mapping with `name` is a configuration object)", file, eline))
                    continue
                name, klass = entry.get("tango_name"), entry.get("class")
                if not isinstance(name, str) or not _DEVICE_RX.match(name) or not isinstance(klass, str):
                    view.errors.append(ConfigError(
                        f"server {server}: device entry needs `tango_name: domain/family/member` and "
                        f"`class: <Tango class>` (got tango_name={name!r}, class={klass!r})", file, eline))
                    continue
                where = (file, eline)
                _add(view, TangoDevice(
                    name=name, server=server, klass=klass,
                    alias=str(entry["alias"]) if entry.get("alias") else None,
                    properties=_props(entry.get("properties"), where, view.errors, "properties"),
                    attribute_properties=_attr_props(entry.get("attribute_properties"), where,
                                                     view.errors, "attribute_properties"),
                    file=file, line=eline))


GLOBAL_KEYS = ("classes", "free_properties", "attribute_aliases", "hosts", "access_control")


def _globals(block: dict, file: str, line: int, view: TangoView) -> None:
    """classes: {Class: {properties, attribute_properties}}, free_properties: {Object:
    {prop: value}}, attribute_aliases: {alias: domain/family/member/attribute}, hosts:
    {host: {Exec/instance: {level: n, mode: m} or empty}}, access_control: see
    core.tangodb.access."""
    unknown = set(block) - set(GLOBAL_KEYS)
    if unknown:
        view.errors.append(ConfigError(f"globals block: unknown keys {sorted(unknown)} "
                                       f"(allowed: {', '.join(GLOBAL_KEYS)})", file, line))
    if view.globals_file is not None:
        view.errors.append(ConfigError(f"a second globals block (the first is in {view.globals_file})",
                                       file, line))
        return
    view.globals_file = file
    where = (file, line)
    classes = block.get("classes") or {}
    if not isinstance(classes, dict):
        view.errors.append(ConfigError("`classes` must map class names to {properties, "
                                       "attribute_properties}", *where))
        classes = {}
    for klass, body in classes.items():
        body = body or {}
        if not isinstance(body, dict) or set(body) - {"properties", "attribute_properties"}:
            view.errors.append(ConfigError(f"class {klass}: only `properties` and "
                                           "`attribute_properties` are allowed", *where))
            continue
        view.class_properties[str(klass)] = _props(body.get("properties"), where, view.errors,
                                                   f"classes.{klass}.properties")
        view.class_attribute_properties[str(klass)] = _attr_props(
            body.get("attribute_properties"), where, view.errors, f"classes.{klass}.attribute_properties")
    free = block.get("free_properties") or {}
    if not isinstance(free, dict):
        view.errors.append(ConfigError("`free_properties` must map object names to properties", *where))
        free = {}
    for obj, props in free.items():
        view.free_properties[str(obj)] = _props(props, where, view.errors, f"free_properties.{obj}")
    aliases = block.get("attribute_aliases") or {}
    if not isinstance(aliases, dict):
        view.errors.append(ConfigError("`attribute_aliases` must map aliases to attribute names", *where))
        aliases = {}
    for alias, attr in aliases.items():
        if not isinstance(attr, str) or len(attr.split("/")) != 4:
            view.errors.append(ConfigError(f"attribute alias {alias}: {attr!r} is not "
                                           "domain/family/member/attribute", *where))
            continue
        view.attribute_aliases[str(alias)] = attr.lower()
    _hosts(block.get("hosts"), where, view)
    access = block.get("access_control")
    if access is not None:
        from blisstango.core.tangodb.access import problems

        found = problems(_plain_data(access))
        view.errors.extend(ConfigError(p, *where) for p in found)
        if not found:
            view.access_control = _plain_data(access)


def _plain_data(value: Any) -> Any:
    """ruamel's commented mappings and sequences as plain dicts, lists and strings."""
    if isinstance(value, dict):
        return {str(k): _plain_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_data(v) for v in value]
    return value if value is None else str(value)


def _hosts(hosts: Any, where: tuple[str, int], view: TangoView) -> None:
    """The `hosts` block: which host runs which server, at which level and mode."""
    if not hosts:
        return
    if not isinstance(hosts, dict):
        view.errors.append(ConfigError("`hosts` must map host names to {Exec/instance: "
                                       "{level: n, mode: m}}", *where))
        return
    for host, servers in hosts.items():
        servers = servers or {}
        if isinstance(servers, list):  # a plain list: level 1, mode 1 each
            servers = {s: None for s in servers}
        if not isinstance(servers, dict):
            view.errors.append(ConfigError(f"hosts.{host}: must map Exec/instance to "
                                           "{level, mode}", *where))
            continue
        for server, info in servers.items():
            info = info or {}
            what = f"hosts.{host}.{server}"
            if not isinstance(server, str) or server.count("/") != 1 or not isinstance(info, dict) \
                    or set(info) - {"level", "mode"}:
                view.errors.append(ConfigError(f"{what}: needs `Exec/instance: {{level: n, mode: m}}`",
                                               *where))
                continue
            try:
                level, mode = int(info.get("level", 1)), int(info.get("mode", 1))
            except (TypeError, ValueError):
                view.errors.append(ConfigError(f"{what}: level and mode must be integers "
                                               f"(got {dict(info)})", *where))
                continue
            other = view.server_info.get(server.lower())
            if other is not None:
                view.errors.append(ConfigError(f"server {server} is placed on two hosts: "
                                               f"{other.host} and {host}", *where))
                continue
            view.server_info[server.lower()] = ServerInfo(server, str(host), mode, level)


def tango_view(tree: Any, kinds: list[ServerKind] | None = None) -> TangoView:
    """Every Tango device the tree defines, with the problems found (view.errors)."""
    view = TangoView()
    _suite(tree, server_kinds() if kinds is None else kinds, view)
    for file in plain_files(tree):
        _plain(tree, file, view)
    return view


def bench_tree_load(folder: Path, ndev: int) -> float:
    """Seconds to load a tree of ndev plain Tango devices and derive its Tango view."""
    import time

    from .tree import load_tree

    (folder / TANGO_FOLDER).mkdir(parents=True, exist_ok=True)
    per_file = 500
    for f in range(0, ndev, per_file):
        lines = ["server: Bench", "instances:", f"  i{f // per_file}:", "    devices:"]
        for i in range(f, min(ndev, f + per_file)):
            lines += [f"      - tango_name: bench/dev/{i}", "        class: BenchClass",
                      f"        alias: bench{i}", "        properties:",
                      "          p0: 1", "          p1: [a, b]"]
        (folder / TANGO_FOLDER / f"bench{f // per_file}.yml").write_text("\n".join(lines) + "\n")
    t0 = time.perf_counter()
    view = tango_view(load_tree(folder))
    assert len(view.devices) == ndev and not view.errors, view.errors[:3]
    return time.perf_counter() - t0
