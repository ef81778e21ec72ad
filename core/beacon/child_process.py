"""Start a helper program that cannot outlive us, from any thread, gevent or not.

Why not `subprocess`: once gevent has patched it, a child can only be started and
reaped from the main thread's event loop, and a Tango server in synchronous mode never
runs that loop (its main thread sits in the ORB). Why not fork + exec: forking a
process with many threads (omniORB, ZeroMQ, gevent's pool) and running Python in the
child between fork and exec aborted children now and then under load ("Fatal Python
error: Aborted" inside os.fork, docs/crashes.md). So children are made with
posix_spawn: no Python and no at-fork handler runs in the child. They are reaped with a
non-blocking waitpid, and bound to the thread that starts them by util-linux's
`setpriv --pdeathsig TERM`: when that thread — hence the process — ends, the child gets
SIGTERM, even after a `kill -9` of its owner.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gevent.monkey

__all__ = ["Child", "environment", "spawn"]

_posix_spawn = gevent.monkey.get_original("os", "posix_spawn")
_waitpid = gevent.monkey.get_original("os", "waitpid")
_SETPRIV = shutil.which("setpriv")  # util-linux: the parent-death signal, then exec
_ENV = shutil.which("env") or "/usr/bin/env"  # coreutils: --chdir, then exec
# what the child starts with at default (we ignore SIGPIPE, as Python does; it must not)
_DEFAULT_SIGNALS = tuple(getattr(signal, n) for n in ("SIGPIPE", "SIGXFSZ", "SIGINT", "SIGTERM", "SIGHUP",
                                                         "SIGQUIT") if hasattr(signal, n))


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


def _inherited_fds() -> list[int]:
    """This process's descriptors (above stderr) that a child would inherit: closed in
    the child, so it never keeps, say, a server's listening socket open."""
    fds = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            with contextlib.suppress(OSError):  # the listing's own, or one closed meanwhile
                if os.get_inheritable(fd):
                    fds.append(fd)
    return fds


def spawn(argv: Sequence[str], log_file: str | os.PathLike,
          cwd: str | os.PathLike | None = None, env: Mapping[str, str] | None = None) -> Child:
    """Start argv in its own session, stdout+stderr appended to log_file, stdin from
    /dev/null, dying with the calling thread (Linux); env: its whole environment (default
    this process's). OSError if argv[0] cannot run."""
    if not os.access(argv[0], os.X_OK):
        raise FileNotFoundError(f"cannot execute {argv[0]}")
    wrapper = [_SETPRIV, "--pdeathsig", "TERM", "--"] if _SETPRIV else []
    if cwd is not None:
        wrapper = [_ENV, "--chdir", os.fspath(cwd), *wrapper]
    command = [*wrapper, *argv]
    log_fd = os.open(Path(log_file), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_DUP2, log_fd, 1), (os.POSIX_SPAWN_DUP2, log_fd, 2)]
        actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inherited_fds()]
        pid = _posix_spawn(command[0], command, dict(os.environ if env is None else env),
                           file_actions=actions, setsid=True, setsigmask=(), setsigdef=_DEFAULT_SIGNALS)
    finally:
        os.close(log_fd)
    return Child(pid, argv)
