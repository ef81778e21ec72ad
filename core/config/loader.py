"""Reading a directory of *.yml into raw object records, collecting every problem.

This module only reads and indexes; cross-object validation (duplicates, references,
plugins, sessions) is done by tree.py once every file is known, so a broken tree
reports all of its problems in one pass.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError
from .yamlread import _REF, LMap, read_collecting

INIT_FILE = "__init__.yml"
LOCK_FILE = ".blisstango.lock"
_SPACE = re.compile(r"\s")


def is_ref(value: object) -> bool:
    """True for a `$name` reference string."""
    return isinstance(value, str) and _REF.match(value) is not None


@dataclass(slots=True)
class Record:
    """One object as found in a file, before the tree is assembled."""

    name: str
    data: LMap
    file: str
    folder: str
    parent: str | None
    children: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Defaults:
    """Merged __init__.yml defaults of a folder, with where each top-level key came from."""

    values: dict
    sources: dict  # key -> (file, line)


@dataclass(slots=True)
class Ref:
    target: str
    file: str
    line: int
    owner: str | None


@dataclass
class ScanResult:
    files: list[str] = field(default_factory=list)
    raw: dict = field(default_factory=dict)  # file -> parsed data
    defaults: dict = field(default_factory=dict)  # folder -> Defaults
    records: list[Record] = field(default_factory=list)
    refs: list[Ref] = field(default_factory=list)
    errors: list[ConfigError] = field(default_factory=list)


def deep_merge(base: dict, over: dict) -> dict:
    """base updated by over; mappings present on both sides are merged recursively."""
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = deep_merge(old, value)
        else:
            out[key] = value
    return out


def iter_yaml_files(root: Path):
    """(folder, file) relative posix paths of loadable files, parents before children.

    Hidden files and folders (temp files of an interrupted write, the lock file,
    .git) and anything not ending in .yml are skipped.
    """
    root_s = str(root)
    for dirpath, dirnames, filenames in os.walk(root_s):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        rel = os.path.relpath(dirpath, root_s)
        folder = "" if rel == "." else rel.replace(os.sep, "/")
        names = sorted(f for f in filenames if f.endswith(".yml") and not f.startswith("."))
        if INIT_FILE in names:  # defaults first
            names.remove(INIT_FILE)
            names.insert(0, INIT_FILE)
        for name in names:
            yield folder, f"{folder}/{name}" if folder else name


# Parsed files by absolute path: (content digest, data, problems, (objects, refs)). A reload re-parses
# only the files whose bytes changed; parsed data is shared read-only between trees.
_parsed: dict[str, tuple] = {}
_parsed_lock = threading.Lock()


def _walk_key(rel: str) -> tuple:
    """Sort key giving iter_yaml_files' order: folders depth first, __init__.yml first."""
    folder, _, name = rel.rpartition("/")
    return (tuple(folder.split("/")) if folder else (), name != INIT_FILE, name)


def _files(root: Path, overlay: dict[str, str | None] | None):
    """(folder, rel) of the files to read: the tree's, as overlay would change it."""
    if not overlay:
        yield from iter_yaml_files(root)
        return
    rels = {rel for _, rel in iter_yaml_files(root)}
    rels.difference_update(rel for rel, text in overlay.items() if text is None)
    rels.update(rel for rel, text in overlay.items() if text is not None)
    for rel in sorted(rels, key=_walk_key):
        yield rel.rpartition("/")[0], rel


def scan(root: Path, overlay: dict[str, str | None] | None = None) -> ScanResult:
    """Read every *.yml under root into records, defaults and references.

    overlay ({relative path: text, or None for a file removed}) is read instead of the
    disk: the tree as an edit would leave it, validated before the edit is written.
    """
    res = ScanResult()
    seen: set[str] = set()
    for count, (folder, rel) in enumerate(_files(root, overlay), 1):
        if count % 64 == 0:
            time.sleep(0)  # gevent-patched: lets other greenlets run during a big load
        if folder not in res.defaults:
            ancestor = folder  # the nearest folder above with defaults (files or not)
            while ancestor and ancestor not in res.defaults:
                ancestor = ancestor.rpartition("/")[0]
            res.defaults[folder] = res.defaults.get(ancestor) or Defaults({}, {})
        path = str(root / rel)
        try:
            if overlay and rel in overlay:
                content = overlay[rel].encode("utf-8")
            else:
                with open(path, "rb") as fh:
                    content = fh.read()
            digest = hashlib.blake2b(content, digest_size=16).digest()
            cached = _parsed.get(path)
            if cached is not None and cached[0] == digest:
                _, data, problems, found = cached
            else:
                data, problems, builder = read_collecting(content.decode("utf-8"), rel)
                found = (builder.objects, builder.refs) if builder else ([], [])
                with _parsed_lock:
                    _parsed[path] = (digest, data, problems, found)
        except (OSError, UnicodeDecodeError) as exc:
            res.errors.append(ConfigError(f"cannot read file: {exc}", rel, None))
            continue
        seen.add(path)
        res.files.append(rel)
        res.errors.extend(problems)
        res.raw[rel] = data
        if data is None:
            continue
        if rel.rpartition("/")[2] == INIT_FILE:
            _add_defaults(res, folder, rel, data)
        else:
            _add_objects(res, rel, folder, *found)
    prefix = str(root) + os.sep
    if overlay:
        return res
    with _parsed_lock:  # forget files of this tree that are gone
        for path in [p for p in _parsed if p.startswith(prefix) and p not in seen]:
            del _parsed[path]
    return res


def _add_defaults(res: ScanResult, folder: str, rel: str, data: object) -> None:
    if not isinstance(data, dict):
        res.errors.append(ConfigError(
            f"{INIT_FILE} must be a mapping of defaults, not a {type(data).__name__}", rel, 1))
        return
    if "name" in data:
        res.errors.append(ConfigError(
            f"{INIT_FILE} gives defaults to its folder and cannot define an object "
            f"(remove 'name')", rel, data.key_lines["name"]))
    base = res.defaults[folder]
    sources = dict(base.sources)
    for key in data:
        sources[key] = (rel, data.key_lines[key])
    res.defaults[folder] = Defaults(deep_merge(base.values, data), sources)


def _add_objects(res: ScanResult, rel: str, folder: str, objects: list, refs: list) -> None:
    """Records and references of one file, from what the YAML builder noted."""
    owners: list[Record | None] = []  # by index in objects: the record, or for an
    for data, outer in objects:        # invalid name the enclosing object's record
        owner = owners[outer] if outer >= 0 else None
        owners.append(_new_record(res, data, rel, folder, owner) or owner)
    for target, line, outer in refs:
        owner = owners[outer] if outer >= 0 else None
        res.refs.append(Ref(target, rel, line, owner.name if owner else None))


def _new_record(res, data: LMap, rel, folder, owner) -> Record | None:
    name = data["name"]
    line = data.key_lines.get("name", data.line)
    if isinstance(name, bool) or not isinstance(name, str | int | float):
        res.errors.append(ConfigError(
            f"object name must be a string, not {type(name).__name__} {name!r}", rel, line))
        return None
    name = str(name)
    if not name or _SPACE.search(name) or name.startswith("$"):
        res.errors.append(ConfigError(
            f"invalid object name {name!r}: use a non-empty name without spaces", rel, line))
        return None
    rec = Record(name, data, rel, folder, owner.name if owner else None)
    if owner is not None:
        owner.children.append(name)
    res.records.append(rec)
    return rec
