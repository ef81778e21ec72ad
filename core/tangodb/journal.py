"""Crash-safe persistence of the database state: a snapshot plus an append-only journal.

Each mutation is appended as one JSON line and fsync'd before the Tango command returns,
so ``kill -9`` loses nothing that a client saw acknowledged. At start the snapshot is
loaded, the journal replayed (a torn last line is ignored: it was never acknowledged),
and both are compacted into a new snapshot.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from .store import TangoStore

log = logging.getLogger(__name__)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """Snapshot ``<stem>.snapshot.json`` (generation g) and journal ``<stem>.<g>.journal``.

    The generation ties a journal to the snapshot it continues, so a crash in the middle
    of a compaction never replays records the snapshot already holds.
    """

    def __init__(self, run_dir: Path, stem: str, compact_every: int = 50_000):
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.snapshot_path = self.dir / f"{stem}.snapshot.json"
        self.stem = stem
        self.gen = 0
        self.compact_every = compact_every
        self._fh = None
        self._records = 0
        self._store: TangoStore | None = None

    def attach(self, store: TangoStore) -> int:
        """Load snapshot + journal into store, compact, and journal its future mutations."""
        replayed = 0
        if self.snapshot_path.exists():
            snap = json.loads(self.snapshot_path.read_text())
            self.gen = snap["gen"]
            store.load(snap["state"])
        if self.journal_path.exists():
            with open(self.journal_path, encoding="utf-8") as fh:
                for lineno, line in enumerate(fh, 1):
                    try:
                        op, now, args = json.loads(line)
                    except ValueError:
                        log.warning("%s:%d: torn record ignored", self.journal_path, lineno)
                        break
                    try:
                        store.replay(op, now, args)
                    except Exception as exc:  # an op that failed live was never journaled
                        log.error("%s:%d: cannot replay %s: %s", self.journal_path, lineno, op, exc)
                    replayed += 1
        self._store = store
        self.compact()
        store.listeners.append(self.append)
        return replayed

    @property
    def journal_path(self) -> Path:
        return self.dir / f"{self.stem}.{self.gen}.journal"

    def append(self, op: str, now: str, args: tuple) -> None:
        """Called under the store lock: write, flush, fsync."""
        self._fh.write(json.dumps([op, now, list(args)], separators=(",", ":")) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._records += 1
        if self._records >= self.compact_every:
            self.compact()

    def compact(self) -> None:
        """Write the whole state as a new snapshot, then start an empty journal."""
        store = self._store
        with store.lock:
            old_journal = self.journal_path
            tmp = self.snapshot_path.with_suffix(".tmp")
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({"gen": self.gen + 1, "state": store.dump()}, fh, separators=(",", ":"))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.snapshot_path)
            _fsync_dir(self.dir)
            self.gen += 1
            if self._fh is not None:
                self._fh.close()
            self._fh = open(self.journal_path, "w", encoding="utf-8")
            os.fsync(self._fh.fileno())
            _fsync_dir(self.dir)
            old_journal.unlink(missing_ok=True)
            self._records = 0

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
