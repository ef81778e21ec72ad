"""Crash-safe file replacement and the lock that serializes writers of one tree.

A reader (or a crash) sees either the old file or the new one: the new text goes to a
hidden temp file in the same folder, is flushed and fsynced, replaces the target with
os.replace, and the folder is fsynced so the rename itself is durable. Temp files are
hidden and do not end in .yml, so the loader never reads one left by a crash.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
import threading
import time
from pathlib import Path

from .errors import ConfigError
from .loader import LOCK_FILE

TEMP_SUFFIX = ".blisstango-tmp"


def temp_prefix(path: Path) -> str:
    return f".{path.name}."


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    """Replace path's content with text, all or nothing, keeping its permissions."""
    path = Path(path)
    folder = path.parent
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=TEMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(folder)


def atomic_remove(path: Path) -> None:
    """Remove path and make the removal durable."""
    os.unlink(path)
    _fsync_dir(Path(path).parent)


def remove_stale_temps(path: Path) -> list[Path]:
    """Delete temp files an interrupted write of path left (call with the tree locked)."""
    removed = []
    for tmp in Path(path).parent.glob(f"{temp_prefix(Path(path))}*{TEMP_SUFFIX}"):
        try:
            tmp.unlink()
            removed.append(tmp)
        except FileNotFoundError:
            pass
    return removed


_process_locks: dict[str, threading.Lock] = {}
_registry_lock = threading.Lock()


def _process_lock(root: Path) -> threading.Lock:
    with _registry_lock:
        return _process_locks.setdefault(str(root), threading.Lock())


class TreeLock:
    """Exclusive write access to a tree: in this process (threads and greenlets) and
    across processes (fcntl.flock on <root>/.blisstango.lock).

    Both locks are polled with a short sleep, which gevent makes cooperative, so a
    greenlet waiting for the lock never blocks the one holding it.
    """

    def __init__(self, root: Path, timeout: float = 30.0):
        self.root = Path(root)
        self.timeout = timeout
        self._fd: int | None = None

    def __enter__(self) -> TreeLock:
        deadline = time.monotonic() + self.timeout
        plock = _process_lock(self.root)
        while not plock.acquire(blocking=False):
            self._wait(deadline, "another writer in this process")
        try:
            self._fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    self._wait(deadline, "another process")
        except BaseException:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            plock.release()
            raise
        return self

    def _wait(self, deadline: float, holder: str) -> None:
        if time.monotonic() > deadline:
            raise ConfigError(f"configuration tree {self.root} is locked by {holder} "
                              f"for more than {self.timeout} s", LOCK_FILE)
        time.sleep(0.005)

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        _process_lock(self.root).release()
