"""Editing the tree's YAML files the way a person would: comments and key order kept.

Every change is made under the tree lock (threads, greenlets and other processes),
re-reads the file it edits, and lands atomically (atomic.py). Files are located through
an index of object names refreshed from the files that changed since the last call.

``staged(edit, check)`` runs writer calls with their writes held back and handed to
check (the web editor validates the whole tree with them) before any is written; the
whole-file operations (write_file, remove_file, rename, make_folder) are what a person
does in an editor, with a conflict refused when the file changed since it was read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from . import rtyaml
from .atomic import TreeLock, atomic_remove, atomic_write_text, remove_stale_temps
from .atomic import _fsync_dir as fsync_dir
from .errors import ConfigError
from .loader import INIT_FILE, is_ref, iter_yaml_files
from .yaml_edits import (
    append_keeping_comments,
    assign,
    commented,
    give_trailing,
    leading_comments,
    line_of,
    move_trailing_comment,
    take_trailing,
)
from .yamlread import read_yaml

Path_ = tuple  # keys and list indices from a document's root to an object's mapping


def _object_paths(data: Any, path: tuple = ()) -> list[tuple[str, tuple, int]]:
    """(name, path, line) of every object mapping in a parsed document."""
    out = []
    if isinstance(data, dict):
        name = data.get("name")
        if name is not None and not is_ref(name) and isinstance(name, str | int | float):
            out.append((str(name), path, getattr(data, "line", 0)))
        for key, value in data.items():
            if key != "name":
                out.extend(_object_paths(value, path + (key,)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out.extend(_object_paths(value, path + (i,)))
    return out


class ConfigConflict(ConfigError):
    """The file changed on disk since the editor read it: .current is its text now
    (None if it is gone), .base the text the edit started from."""

    def __init__(self, file: str, base: str | None, current: str | None):
        what = "was removed" if current is None else (
            "already exists" if base is None else "changed on disk")
        super().__init__(f"{what} since it was opened; nothing written", file)
        self.base, self.current = base, current


class ConfigWriter:
    """Writes to the configuration tree under root; reload the tree afterwards."""

    def __init__(self, root: str | os.PathLike, lock_timeout: float = 30.0):
        self.root = Path(root).resolve()
        self.lock_timeout = lock_timeout
        self._staging: dict[str, str | None] | None = None
        self._renames: list[tuple[str, str]] = []
        self._index: dict[str, list[tuple[str, tuple, int]]] = {}
        self._file_stamp: dict[str, tuple] = {}
        self._file_names: dict[str, list[str]] = {}
        self._styles: dict[str, rtyaml.Style] = {}
        self._docs: dict[str, tuple[Any, tuple]] = {}   # edit_file: rel -> (document, file stamp)

    # -- public operations ---------------------------------------------------------
    def set_key(self, name: str, key: str | Sequence[str], value: Any) -> None:
        """Set key (or nested key path) of object name, creating missing mappings."""
        path = (key,) if isinstance(key, str) else tuple(key)
        if not path:
            raise ValueError("set_key needs a key")
        with self._locked():
            file, doc, obj = self._open_object(name)
            if path == ("name",) and value != name:
                self._check_new_names({"name": value})
            cur, depth = obj, 0
            while depth < len(path) - 1:  # deepest mapping of the path that exists
                nxt = cur.get(path[depth])
                if nxt is None:
                    break
                if not isinstance(nxt, dict):
                    raise ConfigError(
                        f"{name}: cannot set {'.'.join(map(str, path))}: "
                        f"{'.'.join(map(str, path[:depth + 1]))} is {nxt!r}, not a mapping",
                        file, line_of(cur, path[depth]))
                cur, depth = nxt, depth + 1
            for k in reversed(path[depth + 1:]):  # the missing part, built whole
                value = {k: value}
            assign(cur, path[depth], value)
            self._save(file, doc)

    def delete_key(self, name: str, key: str | Sequence[str]) -> None:
        """Remove key (or nested key path) from object name."""
        path = (key,) if isinstance(key, str) else tuple(key)
        if path == ("name",):
            raise ConfigError(f"{name}: cannot delete 'name'; use delete_object")
        with self._locked():
            file, doc, obj = self._open_object(name)
            cur = obj
            for k in path[:-1]:
                cur = cur.get(k) if isinstance(cur, dict) else None
            if not isinstance(cur, dict) or path[-1] not in cur:
                raise ConfigError(f"{name} has no key {'.'.join(map(str, path))}",
                                  file, line_of(obj, None))
            rest = take_trailing(obj)
            del cur[path[-1]]
            give_trailing(obj, rest)
            self._save(file, doc)

    def add_object(self, file: str | None, data: dict, under: str | None = None,
                   key: str | None = None) -> str:
        """Add object data to file's top-level list, or to a list key of object `under`.

        With under, key names the list (needed only if the object has several lists of
        objects) and file may be None. Returns the file written (relative to root).
        """
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise ConfigError(f"an object needs a string 'name', got {data!r}")
        with self._locked():
            self._check_new_names(data)
            if under is not None:
                ufile, doc, parent = self._open_object(under)
                if file is not None and self._rel(file) != ufile:
                    raise ConfigError(f"{under} is written in {ufile}, not in {file}")
                lst = self._object_list(under, ufile, parent, key)
                append_keeping_comments(lst, None, commented(data))
                self._save(ufile, doc)
                return ufile
            rel = self._rel(file)
            doc, head = self._load_or_empty(rel)
            doc = self._append_top(rel, doc, commented(data))
            self._save(rel, doc, head)
            return rel

    def delete_object(self, name: str) -> None:
        """Remove object name (and the objects written inside it) from its file."""
        with self._locked():
            file, doc, _ = self._open_object(name)
            self._remove(file, doc, self._last_path)

    def move_object(self, name: str, file: str) -> None:
        """Move object name to the end of file's top-level list.

        The destination is written first: a crash in between leaves a duplicate name,
        which the loader reports, never a lost object.
        """
        with self._locked():
            src, doc, obj = self._open_object(name)
            path = self._last_path
            dest = self._rel(file)
            if dest == src:
                self._remove(src, doc, path, save=False)
                doc = self._append_top(dest, doc, obj)
                self._save(dest, doc)
                return
            move_trailing_comment(doc, path)  # before obj joins the destination
            ddoc, head = self._load_or_empty(dest)
            self._save(dest, self._append_top(dest, ddoc, obj), head)
            self._remove(src, doc, path, comments=False)

    def locked(self) -> TreeLock:
        """The tree lock, for a sequence of calls no other writer may interleave with:
        ``with w.locked(): w.set_key(...); w.delete_key(...)`` (re-entrant)."""
        return TreeLock(self.root, self.lock_timeout)

    def edit_file(self, file: str, edit: Callable[[Any], Any], create: bool = True,
                  style: rtyaml.Style | None = None) -> None:
        """Rewrite file (relative to root) as edit(document) returns it, under the lock:
        the one atomic edit path for files that are not object lists (the server-centric
        tango/ files BeaconDB's YAML sync writes).

        edit gets the ruamel round-trip document (None for a new file or one holding only
        comments) and returns the new one; comments and style are kept, and a comment
        block alone at the top of the file stays above what is added. Returning None or
        an empty document empties the file as deleting its last object does: the file
        is removed, or keeps only its top comment block. style: the indentation of a new
        file (default that of object files). The parsed document is kept while nobody
        else changes the file, so a writer editing the same file often parses it once.
        """
        rel = self._rel(file, objects=False)
        with self._locked():
            full = self.root / rel
            exists = self.read_text(rel) is not None
            if not exists and not create:
                raise ConfigError(f"{rel} does not exist in {self.root}")
            if not exists and style is not None:
                self._styles.setdefault(rel, style)
            doc, head = self._cached_doc(rel) if exists else (None, "")
            try:
                new = edit(doc)
            except BaseException:
                self._docs.pop(rel, None)  # edit may have changed the cached document
                raise
            if new is None or (isinstance(new, dict | list) and not new):
                self._docs.pop(rel, None)
                if exists:
                    self._emptied(rel)
                return
            self._save(rel, new, head)
            if self._staging is None:  # staged text is not on disk yet: nothing to cache
                self._docs[rel] = (new, _stamp(full))

    def _cached_doc(self, rel: str) -> tuple[Any, str]:
        cached = self._docs.get(rel)
        if cached is not None and self._staging is None and cached[1] == _stamp(self.root / rel):
            return cached[0], ""
        self._docs.pop(rel, None)
        return self._load_or_empty(rel)

    # -- staged edits and whole files (the web editor) ------------------------------------
    def staged(self, edit: Callable[[], Any],
               check: Callable[[dict[str, str | None]], None] | None = None) -> dict[str, str | None]:
        """Run edit (calls of this writer) with its writes held back; hand them to
        check ({file: new text, or None if removed}), which raises to refuse them all;
        then write them, each file atomically, all under one hold of the tree lock."""
        with self._locked():
            if self._staging is not None:
                raise RuntimeError("ConfigWriter.staged() does not nest")
            self._staging, self._renames = {}, []
            try:
                edit()
                changes, renames = self._staging, self._renames
            finally:
                self._staging, self._renames = None, []
            if check is not None:
                check(dict(changes))
            moved: set[str] = set()
            for src, dst in renames:
                self._rename_now(src, dst)
                moved.update(_under(changes, src) | _under(changes, dst))
            for rel, text in changes.items():
                if rel in moved:
                    continue
                full = self.root / rel
                if text is None:
                    if full.exists():
                        remove_stale_temps(full)
                        atomic_remove(full)
                else:
                    full.parent.mkdir(parents=True, exist_ok=True)
                    remove_stale_temps(full)
                    atomic_write_text(full, text)
            self._styles = {k: v for k, v in self._styles.items() if k not in changes}
            return changes

    def read_text(self, file: str) -> str | None:
        """Current text of file (relative to root), staged text included; None if absent."""
        rel = self._rel(file, objects=False)
        if self._staging is not None and rel in self._staging:
            return self._staging[rel]
        try:
            return (self.root / rel).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write_file(self, file: str, text: str, base: str | None | Any = ...) -> None:
        """Replace file's whole text (create it if absent). base: the text the editor
        started from (None: the file must not exist yet); a file that differs from it
        is refused with ConfigConflict. Without base, the file is written as it is."""
        rel = self._rel(file, objects=False)
        with self._locked():
            if base is not ...:
                self._check_base(rel, base)
            self._put(rel, text)

    def remove_file(self, file: str, base: str | None | Any = ...) -> None:
        """Remove file (relative to root), refused as write_file is if it changed."""
        rel = self._rel(file, objects=False)
        with self._locked():
            current = self.read_text(rel)
            if current is None:
                raise ConfigError(f"{rel} does not exist", rel)
            if base is not ...:
                self._check_base(rel, base)
            self._put(rel, None)

    def rename(self, src: str, dst: str) -> None:
        """Rename or move a file or a folder (with everything in it) inside the tree."""
        s_rel, d_rel = self._path_rel(src), self._path_rel(dst)
        with self._locked():
            s_full, d_full = self.root / s_rel, self.root / d_rel
            if not s_full.exists():
                raise ConfigError(f"{s_rel} does not exist", s_rel)
            if d_full.exists():
                raise ConfigError(f"{d_rel} already exists", d_rel)
            if s_full.is_file():
                self._rel(d_rel, objects=False)  # a file keeps being a visible *.yml
            elif d_rel == s_rel or d_rel.startswith(s_rel + "/"):
                raise ConfigError(f"cannot move folder {s_rel} into itself", s_rel)
            if self._staging is None:
                self._rename_now(s_rel, d_rel)
                return
            files = [s_rel] if s_full.is_file() else [
                f"{s_rel}/{rel}" for _, rel in iter_yaml_files(s_full)]
            for rel in files:
                text = self.read_text(rel)
                self._staging[rel] = None
                self._staging[d_rel + rel[len(s_rel):]] = text
            self._renames.append((s_rel, d_rel))

    def make_folder(self, folder: str) -> None:
        """Create an (empty) folder: it changes no object, so nothing to validate."""
        rel = self._path_rel(folder)
        with self._locked():
            (self.root / rel).mkdir(parents=True, exist_ok=False)

    def _check_base(self, rel: str, base: str | None) -> None:
        current = self.read_text(rel)
        if current != base:
            raise ConfigConflict(rel, base, current)

    def _put(self, rel: str, text: str | None) -> None:
        if self._staging is not None:
            self._staging[rel] = text
            return
        full = self.root / rel
        remove_stale_temps(full)
        if text is None:
            atomic_remove(full)
            self._forget(rel)
            self._file_stamp.pop(rel, None)
        else:
            full.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(full, text)
        self._styles.pop(rel, None)

    def _rename_now(self, s_rel: str, d_rel: str) -> None:
        s_full, d_full = self.root / s_rel, self.root / d_rel
        d_full.parent.mkdir(parents=True, exist_ok=True)
        os.rename(s_full, d_full)
        for folder in dict.fromkeys((s_full.parent, d_full.parent)):
            fsync_dir(folder)

    def _path_rel(self, path: str) -> str:
        """Relative posix path of a file or folder inside the tree (not the root, not hidden)."""
        full = (self.root / path).resolve()
        try:
            rel = full.relative_to(self.root).as_posix()
        except ValueError:
            raise ConfigError(f"{path} is outside the configuration tree {self.root}") from None
        if rel in ("", ".") or any(p.startswith(".") for p in rel.split("/")):
            raise ConfigError(f"{path}: not a visible file or folder of the tree")
        return rel

    # -- internals ---------------------------------------------------------------
    def _locked(self) -> TreeLock:
        return TreeLock(self.root, self.lock_timeout)

    def _rel(self, file: str | os.PathLike, objects: bool = True) -> str:
        path = Path(file)
        full = (path if path.is_absolute() else self.root / path).resolve()
        try:
            rel = full.relative_to(self.root).as_posix()
        except ValueError:
            raise ConfigError(f"{file} is outside the configuration tree {self.root}") from None
        if not rel.endswith(".yml") or any(p.startswith(".") for p in rel.split("/")):
            raise ConfigError(f"{file}: configuration files are visible *.yml files")
        if objects and rel.rpartition("/")[2] == INIT_FILE:
            raise ConfigError(f"{rel}: {INIT_FILE} holds folder defaults, not objects")
        return rel

    def _refresh_index(self) -> None:
        """Re-read the files whose inode, size or mtime changed since the last call."""
        seen = set()
        for _, rel in iter_yaml_files(self.root):
            if rel.rpartition("/")[2] == INIT_FILE:
                continue
            seen.add(rel)
            try:
                st = os.stat(self.root / rel)
            except FileNotFoundError:
                continue
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
            if self._file_stamp.get(rel) != stamp:
                self._index_file(rel, (self.root / rel).read_text(encoding="utf-8"), stamp)
        for rel in list(self._file_stamp):
            if rel not in seen:
                self._forget(rel)
                del self._file_stamp[rel]

    def _forget(self, rel: str) -> None:
        for name in self._file_names.pop(rel, []):
            entries = [e for e in self._index.get(name, []) if e[0] != rel]
            if entries:
                self._index[name] = entries
            else:
                self._index.pop(name, None)

    def _index_file(self, rel: str, text: str, stamp: tuple | None = None) -> None:
        self._forget(rel)
        data, _ = read_yaml(text, rel)
        names = []
        for name, path, line in _object_paths(data):
            self._index.setdefault(name, []).append((rel, path, line))
            names.append(name)
        self._file_names[rel] = names
        if stamp is None:
            st = os.stat(self.root / rel)
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        self._file_stamp[rel] = stamp

    def _where(self, name: str) -> tuple[str, tuple]:
        self._refresh_index()
        entries = self._index.get(name)
        if not entries:
            raise ConfigError(f"no object named {name!r} in {self.root}")
        if len(entries) > 1:
            places = ", ".join(f"{f}:{ln}" for f, _, ln in entries)
            raise ConfigError(f"object name {name!r} is defined {len(entries)} times "
                              f"({places}); fix the duplicate first", entries[1][0], entries[1][2])
        return entries[0][0], entries[0][1]

    def _check_new_names(self, data: dict) -> None:
        self._refresh_index()
        for new, _, _ in _object_paths(data):
            if new in self._index:
                f, _, ln = self._index[new][0]
                raise ConfigError(f"object name {new!r} is already defined at {f}:{ln}", f, ln)

    def _load(self, rel: str) -> Any:
        text = self.read_text(rel)
        if text is None:
            raise ConfigError(f"{rel} does not exist in {self.root}", rel)
        style = self._styles.get(rel)
        if style is None:
            style = self._styles[rel] = rtyaml.detect_style(text)
        try:
            return rtyaml.load(text, style)
        except Exception as exc:  # noqa: BLE001 - reported with the file named
            raise ConfigError(f"cannot edit {rel}: {exc}", rel) from exc

    def _load_or_empty(self, rel: str) -> tuple[Any, str]:
        """(document or None, text to keep before it): a file holding only comments (left
        by deleting its last object) keeps them above the objects added to it."""
        text = self.read_text(rel)
        if text is None:
            return None, ""
        doc = self._load(rel)
        if doc is not None:
            return doc, ""
        return None, leading_comments(text)

    def _open_object(self, name: str) -> tuple[str, Any, CommentedMap]:
        rel, path = self._where(name)
        self._last_path = path
        remove_stale_temps(self.root / rel)
        doc = self._load(rel)
        obj = doc
        try:
            for step in path:
                obj = obj[step]
        except (KeyError, IndexError, TypeError):
            obj = None
        if not isinstance(obj, dict) or str(obj.get("name")) != name:
            raise ConfigError(f"{rel} changed while locating {name!r}; retry", rel)
        return rel, doc, obj

    def _object_list(self, under: str, file: str, parent: CommentedMap, key: str | None):
        if key is not None:
            lst = parent.get(key)
            if lst is None:
                lst = CommentedSeq()
                append_keeping_comments(parent, key, lst)
            if not isinstance(lst, list):
                raise ConfigError(f"{under}: {key} is {lst!r}, not a list", file,
                                  line_of(parent, key))
            return lst
        lists = [k for k, v in parent.items()
                 if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)]
        if len(lists) != 1:
            raise ConfigError(
                f"{under}: say which list to add to (key=...): "
                f"{'no list of objects' if not lists else 'candidates ' + ', '.join(lists)}",
                file, line_of(parent, None))
        return parent[lists[0]]

    def _append_top(self, rel: str, doc: Any, obj: CommentedMap) -> Any:
        if doc is None:
            return CommentedSeq([obj])
        if isinstance(doc, list):
            append_keeping_comments(doc, None, obj)
            return doc
        if isinstance(doc, dict) and "name" in doc:
            return CommentedSeq([doc, obj])
        raise ConfigError(f"cannot add an object to {rel}: its top level is a mapping "
                          f"without a name (keys {', '.join(map(str, doc))})", rel, 1)

    def _remove(self, rel: str, doc: Any, path: tuple, save: bool = True,
                comments: bool = True) -> None:
        if not path:
            if save:
                self._emptied(rel)
            return
        if comments:
            move_trailing_comment(doc, path)
        container = doc
        for step in path[:-1]:
            container = container[step]
        del container[path[-1]]
        if save:
            if isinstance(doc, list) and not doc:
                self._emptied(rel)
            else:
                self._save(rel, doc)

    def _emptied(self, rel: str) -> None:
        """The last object of file rel is gone: remove the file, or keep its top comments.

        An empty file is clutter a person would delete, so it goes (atomic_remove: the
        unlink is atomic and made durable). But the comment block at the top of the file
        is a person's note about the file, not about its first object (deleting the first
        of several objects keeps it too), and the writer never drops comments it does not
        own: then the file stays with only that block, which the loader reads as holding
        no objects, and an object added to the file later goes below it.
        """
        full = self.root / rel
        head = leading_comments(self.read_text(rel) or "")
        if self._staging is not None:
            self._staging[rel] = head or None
            return
        remove_stale_temps(full)
        if head:
            atomic_write_text(full, head)
            self._index_file(rel, head)
            return
        atomic_remove(full)
        self._forget(rel)
        self._file_stamp.pop(rel, None)
        self._styles.pop(rel, None)

    def _save(self, rel: str, doc: Any, head: str = "") -> None:
        style = self._styles.get(rel) or rtyaml.Style(shift=2)
        self._styles.setdefault(rel, style)
        text = head + ("" if doc is None or (isinstance(doc, dict | list) and not doc)
                       else rtyaml.dump(doc, style))
        if self._staging is not None:
            self._staging[rel] = text
            return
        full = self.root / rel
        full.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(full)
        atomic_write_text(full, text)
        self._index_file(rel, text)


def _stamp(path: Path) -> tuple | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _under(changes: dict, rel: str) -> set[str]:
    return {k for k in changes if k == rel or k.startswith(rel + "/")}
