"""The configuration tree BeaconDB serves: loaded, validated (tree + Tango view), and
reloaded on request, keeping the last good tree when a new one is invalid."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from blisstango.core.config import ConfigError, ConfigErrors, load_tree
from blisstango.core.config.tango_view import TangoView, tango_view

log = logging.getLogger(__name__)


class ConfigService:
    """Holds the current tree and its Tango view; `errors` lists the last failed reload."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.lock = threading.RLock()
        self.tree = None
        self.view: TangoView | None = None
        self.errors: list[str] = []
        self.on_reload: list[Callable[[TangoView, TangoView | None], None]] = []
        self.before_reload: list[Callable[[], object]] = []  # e.g. flush pending YAML writes

    def load(self) -> None:
        """First load: an invalid tree is fatal (nothing good to fall back on)."""
        tree = load_tree(self.root)
        view = tango_view(tree)
        if view.errors:
            raise ConfigErrors(view.errors)
        with self.lock:
            self.tree, self.view, self.errors = tree, view, []

    def flush_pending(self) -> None:
        """Let pending writes to the tree (BeaconDB's YAML sync) land on disk now."""
        for hook in self.before_reload:
            hook()

    def reload(self, prepared: tuple | None = None) -> dict:
        """Validate the tree on disk; switch to it only if it is valid.

        prepared: (tree, view) already loaded and found valid from exactly what is on disk
        now (the web editor validates an edit before writing it): used as is.
        """
        if prepared is None:
            self.flush_pending()
        try:
            if prepared is not None:
                tree, view = prepared
            else:
                tree = load_tree(self.root)
                view = tango_view(tree)
            if view.errors or tree.errors:
                raise ConfigErrors(list(tree.errors) + list(view.errors))
        except (ConfigErrors, ConfigError) as exc:
            errors = exc.errors if isinstance(exc, ConfigErrors) else [exc]
            with self.lock:
                self.errors = [str(e) for e in errors]
            log.warning("reload of %s refused:\n%s", self.root, "\n".join(self.errors))
            raise
        with self.lock:
            old_tree, old_view = self.tree, self.view
            changes = tree.diff(old_tree) if old_tree is not None else None
            self.tree, self.view, self.errors = tree, view, []
        for cb in self.on_reload:
            cb(view, old_view)
        return {"added": sorted(changes.added) if changes else [],
                "removed": sorted(changes.removed) if changes else [],
                "modified": sorted(changes.modified) if changes else []}
