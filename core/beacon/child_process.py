"""Start a helper program that cannot outlive us, from any thread, gevent or not.

Why not `subprocess`: once gevent has patched it, a child can only be started and
reaped from the main thread's event loop, and a Tango server in synchronous mode never
runs that loop (its main thread sits in the ORB). So children are made here with the
unpatched fork + exec, reaped with a non-blocking waitpid, and bound to the thread
that forks them with PR_SET_PDEATHSIG: when that thread — hence the process — ends,
the child gets SIGTERM, even after a `kill -9` of its owner.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gevent.monkey

__all__ = ["Child", "die_with_parent", "environment", "spawn"]

_fork = gevent.monkey.get_original("os", "fork")
_waitpid = gevent.monkey.get_original("os", "waitpid")
_PR_SET_PDEATHSIG = 1
try:  # loaded before any fork: the child only calls it
    _libc = ctypes.CDLL(None, use_errno=True)
    _prctl = _libc.prctl
except (OSError, AttributeError):  # not Linux: no parent-death signal
    _prctl = None


class Child:
    """A started program: pid, poll(), wait(timeout), send_signal(), kill()."""

    def __init__(self, pid: int, argv: Sequence[str]) -> None:
        self.pid = pid
        self.argv = list(argv)
        self.returncode: int | None = None
        self._watcher: Any = None  # gevent's child watcher keeping the exit status (keep_status)
        self._kept: int | None = None  # the status it kept
        self._reaped_at: float | None = None

    def keep_status(self, loop: Any) -> None:
        """gevent's default loop (libev) reaps every child on SIGCHLD: a child watcher in
        that loop keeps this one's exit status for poll(). Call from any thread; loop is
        the main thread's hub loop."""
        def kept(watcher: Any) -> None:
            self._kept = watcher.rstatus
            watcher.stop()

        def watch() -> None:
            if self.returncode is None and self._watcher is None:
                self._watcher = loop.child(self.pid, False)
                self._watcher.start(kept, self._watcher)

        loop.run_callback_threadsafe(watch)

    def poll(self) -> int | None:
        """Exit code once the program ended (negative: killed by that signal), else None."""
        if self.returncode is None:
            try:
                pid, status = _waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped by gevent's loop (SIGCHLD): its watcher kept it
                if self._kept is not None:
                    self.returncode = os.waitstatus_to_exitcode(self._kept)
                    return self.returncode
                now = time.monotonic()
                self._reaped_at = self._reaped_at or now
                if self._watcher is not None and now - self._reaped_at < 1.0:
                    return None  # the loop has not run the watcher's callback yet
                self.returncode = -255  # nobody kept the status
            else:
                if pid != 0:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float) -> bool:
        """True once the program ended, False if still running after timeout seconds."""
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)  # cooperative under gevent, plain sleep otherwise
        return True

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def environment(changes: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """This process's environment with `changes` applied; a None value removes that
    variable (a child must not inherit, say, a Redis URL meant for its parent)."""
    env = dict(os.environ)
    for key, value in (changes or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def die_with_parent(parent: int) -> None:
    """In a child between fork and exec: a session of its own, and SIGTERM when the
    thread that forked it ends (Linux PR_SET_PDEATHSIG). A child whose parent `parent`
    died before the signal was armed exits at once instead of living on orphaned."""
    os.setsid()
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        os._exit(1)


def spawn(argv: Sequence[str], log_file: str | os.PathLike,
          cwd: str | os.PathLike | None = None, env: Mapping[str, str] | None = None) -> Child:
    """Start argv in its own session, stdout+stderr appended to log_file, stdin from
    /dev/null, dying with the calling thread (Linux); env: its whole environment (default
    this process's). OSError if argv[0] cannot run."""
    exe = os.fsencode(argv[0])
    args = [os.fsencode(a) for a in argv]
    workdir = os.fsencode(cwd) if cwd is not None else None
    environ = None if env is None else {os.fsencode(k): os.fsencode(v) for k, v in env.items()}
    if not os.access(exe, os.X_OK):
        raise FileNotFoundError(f"cannot execute {argv[0]}")
    log_fd = os.open(Path(log_file), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    parent = os.getpid()
    try:
        pid = _fork()
        if pid == 0:  # child: only async-signal-safe-ish calls until exec
            try:
                die_with_parent(parent)
                os.dup2(null_fd, 0)
                os.dup2(log_fd, 1)
                os.dup2(log_fd, 2)
                os.closerange(3, 1 << 16)
                if workdir is not None:
                    os.chdir(workdir)
                if environ is None:
                    os.execv(exe, args)
                else:
                    os.execve(exe, args, environ)
            finally:
                os._exit(127)
    finally:
        os.close(log_fd)
        os.close(null_fd)
    return Child(pid, argv)
