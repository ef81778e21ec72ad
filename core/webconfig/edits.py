"""Every change the web editor makes: validated with the whole tree, written through
ConfigWriter (the one edit path), committed to the history, then Beacon reloads.

A change is refused, with nothing written, when the tree it would leave has a problem
that the tree on disk does not already have (so a broken file can be fixed while another
one is still broken): YAML syntax, duplicate names, unresolved references, value types,
Tango-view errors — the same checks as Beacon's Reload (ConfigService).
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from blisstango.core.config import ConfigError, ConfigErrors, load_tree
from blisstango.core.config.tango_view import tango_view
from blisstango.core.config.writer import ConfigConflict, ConfigWriter

from .history import ConfigHistory


class EditRefused(Exception):
    """The edit would leave an invalid tree: .errors are the new problems (file:line)."""

    def __init__(self, errors: list[ConfigError]):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class SaveResult:
    changes: dict[str, str | None]
    commit: dict | None
    reload: dict | None = None
    warnings: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)  # where a save's time went

    def to_json(self) -> dict:
        return {"files": sorted(self.changes), "commit": self.commit, "reload": self.reload,
                "warnings": self.warnings, "timings_ms": self.timings_ms}


def validated(root, overlay: dict | None = None) -> tuple[Any, Any, list[ConfigError]]:
    """(tree, Tango view, every problem) of the tree with overlay applied."""
    tree = load_tree(root, strict=False, overlay=overlay)
    view = tango_view(tree)
    return tree, view, list(tree.errors) + list(view.errors)


def tree_errors(root, overlay: dict | None = None) -> list[ConfigError]:
    """Every problem of the tree (with overlay applied), tree and Tango view."""
    return validated(root, overlay)[2]


def conflict_diff(exc: ConfigConflict) -> str:
    """What changed on disk since the editor opened the file, as a unified diff."""
    return "".join(difflib.unified_diff(
        (exc.base or "").splitlines(keepends=True), (exc.current or "").splitlines(keepends=True),
        f"{exc.file} (as opened)", f"{exc.file} (on disk now)"))


class _Clock:
    """Milliseconds spent in each step of a save."""

    def __init__(self):
        self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def mark(self, step: str) -> None:
        now = time.perf_counter()
        self.laps[step] = round((now - self.last) * 1000, 1)
        self.last = now


class ConfigEditor:
    """The editor's write side over one tree; service is BeaconDB's ConfigService (or None)."""

    def __init__(self, root, history: ConfigHistory, service: Any = None):
        self.writer = ConfigWriter(root)
        self.root = self.writer.root
        self.history = history
        self.service = service
        self._valid: tuple | None = None  # (tree, view) of the last edit validated clean
        self._clock = _Clock()

    # -- the one way every change goes ----------------------------------------------------
    def apply(self, edit: Callable[[], Any], message: str, who: str | None) -> SaveResult:
        clock = _Clock()
        if self.service is not None:
            # BeaconDB's own YAML writes land first (its writer thread takes the tree lock:
            # never wait for it while holding the lock)
            self.service.flush_pending()
        with self.writer.locked():
            self.history.snapshot()
            clock.mark("snapshot")
            self._valid = None
            self._clock = clock
            changes = self.writer.staged(edit, self._check)
            clock.mark("write")
            commit = self.history.commit(message, who, sorted(changes))
            clock.mark("commit")
            result = SaveResult(changes, commit.to_json() if commit else None)
            if self.service is not None and self._valid is not None:
                # the tree validated is the tree now on disk (still under the lock): Beacon
                # switches to it without loading it again
                result.reload = self._reload(result, self._valid)
                clock.mark("reload")
        result.timings_ms = clock.laps
        if self.service is not None and result.reload is None and not result.warnings:
            result.reload = self._reload(result, None)
        return result

    def _reload(self, result: SaveResult, prepared: tuple | None) -> dict | None:
        try:
            return self.service.reload(prepared=prepared)
        except (ConfigError, ConfigErrors):
            result.warnings.append("saved, but Beacon still serves the previous configuration: "
                                   + "; ".join(self.service.errors[:5]))
            return None

    def _check(self, changes: dict[str, str | None]) -> None:
        self._clock.mark("edit")
        tree, view, after = validated(self.root, changes)
        self._clock.mark("validate")
        if not after:
            self._valid = (tree, view)
            return
        before = {str(e) for e in tree_errors(self.root)}
        new = [e for e in after if str(e) not in before]
        if new:
            raise EditRefused(new)

    # -- operations ---------------------------------------------------------------------
    def save_file(self, path: str, text: str, base: str | None, who: str | None,
                  message: str = "") -> SaveResult:
        what = "create" if base is None else "edit"
        return self.apply(lambda: self.writer.write_file(path, text, base=base),
                          message or f"{what} {path}", who)

    def delete_file(self, path: str, base: str, who: str | None) -> SaveResult:
        return self.apply(lambda: self.writer.remove_file(path, base=base), f"delete {path}", who)

    def rename(self, src: str, dst: str, who: str | None) -> SaveResult:
        return self.apply(lambda: self.writer.rename(src, dst), f"move {src} to {dst}", who)

    def make_folder(self, path: str) -> None:
        self.writer.make_folder(path)

    def delete_folder(self, path: str, who: str | None) -> SaveResult:
        folder = self.root / path
        others = sorted(p.relative_to(self.root).as_posix() for p in folder.rglob("*")
                        if p.is_file() and not p.name.endswith(".yml"))
        if others:
            raise ConfigError(f"{path} holds files that are not configuration "
                              f"({', '.join(others[:5])}): move or delete them first", path)
        files = sorted(p.relative_to(self.root).as_posix() for p in folder.rglob("*.yml"))

        def edit():
            for rel in files:
                self.writer.remove_file(rel)

        result = self.apply(edit, f"delete folder {path}", who)
        for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
            sub.rmdir()
        folder.rmdir()
        return result

    def set_keys(self, name: str, values: dict[str, Any], who: str | None,
                 message: str = "") -> SaveResult:
        """Form edits: set (or, for None, delete) keys of one object, comments kept."""
        def edit():
            node = self.service.tree.get(name) if self.service is not None else None
            for key, value in values.items():
                if value is None:
                    if node is None or key in node.own_keys():
                        self.writer.delete_key(name, key)
                else:
                    self.writer.set_key(name, key, value)

        keys = ", ".join(f"{k}={v}" for k, v in values.items())
        return self.apply(edit, message or f"{name}: {keys}", who)

    def revert_file(self, path: str, commit: str, base: str | None, who: str | None) -> SaveResult:
        """Write the file back as it was at commit (a validated save and a new commit)."""
        text = self.history.show(commit, path)
        if text is None:
            raise ConfigError(f"{path} did not exist in commit {commit[:10]}", path)
        return self.apply(lambda: self.writer.write_file(path, text, base=base),
                          f"revert {path} to {commit[:10]}", who)

    def revert_object(self, name: str, then: dict | None, commit: str, who: str | None) -> SaveResult:
        """Give object name back the keys it had at commit (then: its mapping there), in
        the file where it is now; the other objects of that file keep their changes."""
        node = self.service.tree.get(name) if self.service is not None else None
        if node is None:
            raise ConfigError(f"{name} no longer exists: restore the file that held it")
        if then is None:
            raise ConfigError(f"{name} did not exist in commit {commit[:10]}")
        now = node.raw()

        def edit():
            for key in now:
                if key not in then:
                    self.writer.delete_key(name, key)
            for key, value in then.items():
                if key != "name" and now.get(key) != value:
                    self.writer.set_key(name, key, value)

        return self.apply(edit, f"revert {name} to {commit[:10]}", who)
