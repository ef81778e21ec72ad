"""The configuration tree: every named object of a folder of YAML files, validated."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, ConfigErrors
from .loader import Defaults, scan
from .node import ConfigNode
from .plugins import known_plugins
from .schema import check_value_types
from .session import SESSION_PLUGIN, Session, resolve_sessions


@dataclass
class TreeChanges:
    """Names of objects added, removed, or whose effective configuration changed."""

    added: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    modified: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.modified)


class ConfigTree:
    """Index of the objects of one tree; build it with :func:`load_tree`."""

    def __init__(self, root: Path):
        self.root = root
        self._nodes: dict[str, ConfigNode] = {}
        self._files: list[str] = []
        self._raw: dict = {}
        self._defaults: dict[str, Defaults] = {}
        self._sessions: dict[str, Session] = {}
        self.errors: list[ConfigError] = []

    # -- lookup ------------------------------------------------------------------
    def __contains__(self, name: object) -> bool:
        return name in self._nodes

    def __getitem__(self, name: str) -> ConfigNode:
        try:
            return self._nodes[name]
        except KeyError:
            raise KeyError(f"no object named {name!r} in {self.root}") from None

    def __len__(self) -> int:
        return len(self._nodes)

    def get(self, name: str) -> ConfigNode | None:
        return self._nodes.get(name)

    def names(self) -> list[str]:
        return sorted(self._nodes)

    def nodes(self) -> list[ConfigNode]:
        """Every node, sorted by name."""
        return [self._nodes[n] for n in self.names()]

    def objects_by_plugin(self, plugin: str) -> list[ConfigNode]:
        """Nodes built by plugin, sorted by name."""
        return [n for n in self.nodes() if n.plugin == plugin]

    def files(self) -> list[str]:
        """Relative posix paths of every loaded *.yml, __init__.yml included."""
        return list(self._files)

    def file_data(self, file: str):
        """Parsed content of one loaded file (plain data), e.g. server-centric tango/ files."""
        from .yamlread import plain

        return plain(self._raw[file])

    def defaults(self, folder: str = "") -> dict:
        """Merged __init__.yml defaults that apply in folder (relative posix path)."""
        from .yamlread import plain

        while folder not in self._defaults and folder:
            folder = folder.rpartition("/")[0]
        d = self._defaults.get(folder)
        return plain(d.values) if d else {}

    def domain_of(self, name: str) -> str | None:
        """Tango domain: explicit `tango: {domain:}` of the object or an enclosing one,
        else the nearest __init__.yml's."""
        node: ConfigNode | None = self[name]
        while node is not None:
            tango = node._data.get("tango")
            if isinstance(tango, dict) and tango.get("domain"):
                return str(tango["domain"])
            last, node = node, node.parent
        tango = last._defaults.values.get("tango")
        if isinstance(tango, dict) and tango.get("domain"):
            return str(tango["domain"])
        return None

    # -- sessions ----------------------------------------------------------------
    def sessions(self) -> list[str]:
        return sorted(self._sessions)

    def get_session(self, name: str) -> Session:
        try:
            return self._sessions[name]
        except KeyError:
            node = self.get(name)
            where = f" (it is a {node.plugin!r} object)" if node else ""
            raise ConfigError(
                f"no session named {name!r}{where}; sessions: {', '.join(self.sessions())}",
                node.file if node else None, node.line if node else None) from None

    # -- changes -----------------------------------------------------------------
    def diff(self, other: ConfigTree) -> TreeChanges:
        """What changed from this tree to other, per object: effective configuration
        (to_dict, so a controller changes with its axes), plugin or enclosing object."""
        mine, theirs = set(self._nodes), set(other._nodes)
        modified = {n for n in mine & theirs if _changed(self._nodes[n], other._nodes[n])}
        return TreeChanges(theirs - mine, mine - theirs, modified)

    def reload(self) -> tuple[ConfigTree, TreeChanges]:
        """Load the tree again from disk: (new tree, changes since this one)."""
        new = load_tree(self.root)
        return new, self.diff(new)


def _changed(a: ConfigNode, b: ConfigNode) -> bool:
    if a.plugin != b.plugin or a._parent != b._parent:
        return True
    if a._data is b._data:  # same parsed file content (loader cache): compare defaults
        return a._defaults.values != b._defaults.values
    return a.to_dict() != b.to_dict()


def load_tree(root: str | os.PathLike, *, strict: bool = True,
              overlay: dict[str, str | None] | None = None) -> ConfigTree:
    """Load and validate every *.yml under root.

    Raises ConfigErrors listing every problem (file:line each) unless strict=False,
    in which case the problems are left in ``tree.errors`` and the valid part loaded.
    overlay ({relative path: text, or None}) replaces files as an edit would (see
    loader.scan): the tree an edit would leave, validated before anything is written.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise ConfigErrors([ConfigError(f"configuration folder {root} does not exist")])
    res = scan(root, overlay)
    tree = ConfigTree(root)
    tree._files = res.files
    tree._raw = res.raw
    tree._defaults = res.defaults
    errors = list(res.errors)
    for rec in res.records:
        first = tree._nodes.get(rec.name)
        if first is not None:
            errors.append(ConfigError(
                f"duplicate object name {rec.name!r}: already defined at "
                f"{first.file}:{first.line}", rec.file, rec.data.key_lines.get("name")))
            continue
        tree._nodes[rec.name] = ConfigNode(tree, rec, res.defaults[rec.folder])
    for ref in res.refs:
        if ref.target not in tree._nodes:
            who = f"{ref.owner}: " if ref.owner else ""
            errors.append(ConfigError(
                f"{who}reference ${ref.target} names no object", ref.file, ref.line))
    errors.extend(_check_plugins(tree))
    errors.extend(check_value_types(tree))
    tree._sessions, session_errors = resolve_sessions(tree)
    errors.extend(session_errors)
    tree.errors = sorted(errors, key=ConfigError.sort_key)
    if errors and strict:
        raise ConfigErrors(errors)
    return tree


def _check_plugins(tree: ConfigTree) -> list[ConfigError]:
    known = known_plugins()
    errors: dict[tuple, ConfigError] = {}
    for node in tree._nodes.values():
        plugin, file, line = node.plugin_source()
        if plugin not in known and (file, line) not in errors:
            how = "" if file == node.file else f" (default for {node.name!r} and its folder)"
            errors[(file, line)] = ConfigError(
                f"{node.name if file == node.file else 'object'}: unknown plugin {plugin!r}"
                f"{how}; known plugins: {', '.join(sorted(known))}",
                file, line)
    return list(errors.values())


__all__ = ["ConfigTree", "TreeChanges", "load_tree", "SESSION_PLUGIN"]
