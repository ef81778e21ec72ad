"""Sessions: which objects and setup files a `plugin: session` object stands for."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    from .node import ConfigNode
    from .tree import ConfigTree

SESSION_PLUGIN = "session"
_WILDCARD = set("*?[")


@dataclass
class Session:
    """A resolved session: included sessions merged, wildcards expanded."""

    name: str
    object_names: list[str]
    setup_files: list[Path]
    included: list[str]
    file: str = ""
    line: int = 0
    own_objects: list[str] = field(default_factory=list)
    #: the session's script files (`scripts:`), run after the setup files; their
    #: functions, with the setup files', are the session's procedures
    script_files: list[Path] = field(default_factory=list)

    def setup_text(self) -> str:
        """The setup files' text, included sessions' first, each headed by its path."""
        return _joined(self.setup_files)

    def scripts_text(self) -> str:
        """The script files' text, included sessions' first, each headed by its path."""
        return _joined(self.script_files)


def _joined(paths: list[Path]) -> str:
    return "\n".join(f"# --- {path}\n{path.read_text(encoding='utf-8')}" for path in paths)


def _script_paths(node: ConfigNode, tree: ConfigTree, errors: list[ConfigError]) -> list[Path]:
    """`scripts:` of a session: a folder (its *.py files, sorted) or a file, or a list of
    them, relative to the session's file."""
    if "scripts" not in node.own_keys():
        return []
    value = node._data["scripts"]
    line = node.key_line("scripts")
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else None
    if items is None or not all(isinstance(i, str) for i in items):
        errors.append(ConfigError(f"session {node.name!r}: scripts must be a folder or file path, or a list "
                                  f"of them, not {value!r}", node.file, line))
        return []
    out: list[Path] = []
    for item in items:
        path = Path(os.path.expanduser(item))
        if not path.is_absolute():
            path = tree.root / Path(node.file).parent / path
        path = Path(os.path.normpath(path))
        if path.is_dir():
            out.extend(p for p in sorted(path.glob("*.py")) if not p.name.startswith("."))
        elif path.is_file():
            out.append(path)
        else:
            errors.append(ConfigError(f"session {node.name!r}: scripts {item!r} not found ({path})",
                                      node.file, line))
    return out


def _as_list(node: ConfigNode, key: str, errors: list[ConfigError]) -> list[tuple[str, int]]:
    """(item, line) pairs of a key that holds a name or a list of names."""
    if key not in node.own_keys():
        return []
    value = node._data[key]
    line = node.key_line(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [(value, line)]
    if isinstance(value, list):
        out = []
        lines = getattr(value, "item_lines", [line] * len(value))
        for item, item_line in zip(value, lines):
            if isinstance(item, str):
                out.append((item[1:] if item.startswith("$") else item, item_line))
            else:
                errors.append(ConfigError(
                    f"session {node.name!r}: {key} items must be names, not {item!r}",
                    node.file, item_line))
        return out
    errors.append(ConfigError(
        f"session {node.name!r}: {key} must be a name or a list of names, not {value!r}",
        node.file, line))
    return []


def _match(node, key, items, candidates: list[str], tree, errors) -> list[str]:
    names: list[str] = []
    for item, line in items:
        if _WILDCARD & set(item):
            found = fnmatch.filter(candidates, item)
            if not found:
                errors.append(ConfigError(
                    f"session {node.name!r}: {key} pattern {item!r} matches no object",
                    node.file, line))
            names.extend(found)
        elif item in tree:
            names.append(item)
        else:
            errors.append(ConfigError(
                f"session {node.name!r}: {key} names {item!r}, but no object has that name",
                node.file, line))
    return names


def resolve_sessions(tree: ConfigTree) -> tuple[dict[str, Session], list[ConfigError]]:
    """Every session of the tree resolved, and the problems found doing it."""
    errors: list[ConfigError] = []
    session_names = [n for n in tree.names() if tree[n].plugin == SESSION_PLUGIN]
    candidates = [n for n in tree.names() if tree[n].plugin != SESSION_PLUGIN]
    own: dict[str, tuple[list[str], list[Path], list[tuple[str, int]]]] = {}
    scripts: dict[str, list[Path]] = {}
    for name in session_names:
        node = tree[name]
        if "config-objects" in node.own_keys():
            objs = _match(node, "config-objects", _as_list(node, "config-objects", errors),
                          candidates, tree, errors)
        else:  # as in BLISS: a session that lists nothing holds every object
            objs = list(candidates)
        excluded = set(_match(node, "exclude-objects", _as_list(node, "exclude-objects", errors),
                              candidates, tree, errors))
        objs = [o for o in dict.fromkeys(objs) if o not in excluded]
        setup: list[Path] = []
        if "setup-file" in node.own_keys():
            value = node._data["setup-file"]
            line = node.key_line("setup-file")
            if not isinstance(value, str):
                errors.append(ConfigError(
                    f"session {name!r}: setup-file must be a path, not {value!r}",
                    node.file, line))
            else:
                path = Path(os.path.expanduser(value))
                if not path.is_absolute():
                    path = tree.root / Path(node.file).parent / path
                path = Path(os.path.normpath(path))
                if path.is_file():
                    setup.append(path)
                else:
                    errors.append(ConfigError(
                        f"session {name!r}: setup-file {value!r} not found ({path})",
                        node.file, line))
        scripts[name] = _script_paths(node, tree, errors)
        includes = _as_list(node, "include-sessions", errors)
        for inc, line in includes:
            if inc not in tree:
                errors.append(ConfigError(
                    f"session {name!r}: include-sessions names {inc!r}, "
                    f"but no object has that name", node.file, line))
            elif tree[inc].plugin != SESSION_PLUGIN:
                errors.append(ConfigError(
                    f"session {name!r}: include-sessions names {inc!r}, which is not a session "
                    f"(plugin {tree[inc].plugin!r})", node.file, line))
        own[name] = (objs, setup, [(i, ln) for i, ln in includes if i in own or
                                   (i in tree and tree[i].plugin == SESSION_PLUGIN)])

    sessions: dict[str, Session] = {}
    reported: set[frozenset] = set()

    def visit(name: str, stack: list[str], included: list[str]) -> None:
        for inc, line in own[name][2]:
            if inc in stack:
                chain = stack[stack.index(inc):] + [inc]
                if frozenset(chain) not in reported:
                    reported.add(frozenset(chain))
                    errors.append(ConfigError(
                        f"session include cycle: {' -> '.join(chain)}",
                        tree[name].file, line))
                continue
            if inc not in included:
                visit(inc, stack + [inc], included)
                if inc not in included:
                    included.append(inc)

    for name in session_names:
        included: list[str] = []
        visit(name, [name], included)
        included = [i for i in included if i != name]
        objs: list[str] = []
        setup_files: list[Path] = []
        script_files: list[Path] = []
        for part in included + [name]:
            objs.extend(own[part][0])
            setup_files.extend(p for p in own[part][1] if p not in setup_files)
            script_files.extend(p for p in scripts[part] if p not in script_files)
        node = tree[name]
        sessions[name] = Session(name, sorted(set(objs)), setup_files, included,
                                 node.file, node.line, own[name][0], script_files)
    return sessions, errors
