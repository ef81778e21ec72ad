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

import greenlet

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


class _RootLock:
    """State of the lock of one tree in this process."""

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.owner = None  # greenlet holding it (each thread has its own main greenlet)
        self.depth = 0
        self.fd: int | None = None


_root_locks: dict[str, _RootLock] = {}
_registry_lock = threading.Lock()


def _root_lock(root: Path) -> _RootLock:
    with _registry_lock:
        return _root_locks.setdefault(str(root), _RootLock())


class TreeLock:
    """Exclusive write access to a tree: in this process (threads and greenlets) and
    across processes (fcntl.flock on <root>/.blisstango.lock).

    Re-entrant for the greenlet (or thread) holding it, so a sequence of writer calls
    can be made under one lock. Both locks are polled with a short sleep, which gevent
    makes cooperative, so a greenlet waiting never blocks the one holding the lock.
    """

    def __init__(self, root: Path, timeout: float = 30.0):
        self.root = Path(root)
        self.timeout = timeout

    def __enter__(self) -> TreeLock:
        state = _root_lock(self.root)
        me = greenlet.getcurrent()
        if state.owner is me:
            state.depth += 1
            return self
        deadline = time.monotonic() + self.timeout
        while not state.mutex.acquire(blocking=False):
            self._wait(deadline, "another writer in this process")
        fd = None
        try:
            fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    self._wait(deadline, "another process")
        except BaseException:
            if fd is not None:
                os.close(fd)
            state.mutex.release()
            raise
        state.owner, state.depth, state.fd = me, 1, fd
        return self

    def _wait(self, deadline: float, holder: str) -> None:
        if time.monotonic() > deadline:
            raise ConfigError(f"configuration tree {self.root} is locked by {holder} "
                              f"for more than {self.timeout} s", LOCK_FILE)
        time.sleep(0.005)

    def __exit__(self, *exc) -> None:
        state = _root_lock(self.root)
        state.depth -= 1
        if state.depth:
            return
        fd, state.fd, state.owner = state.fd, None, None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        finally:
            state.mutex.release()
