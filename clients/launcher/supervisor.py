"""Supervise child processes: start, watch, restart with back-off, stop cleanly.

Each child runs in its own session with PR_SET_PDEATHSIG, so that even a
``kill -9`` of the supervisor takes its children with it, and ``stop()`` ends
the whole process group, so nothing a server forked is left behind.
"""

from __future__ import annotations

import functools
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import gevent
import psutil

from blisstango.core.beacon.child_process import die_with_parent, environment


def stop_process_tree(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM pid and its descendants, SIGKILL what is left after timeout."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _gone, alive = psutil.wait_procs(procs, timeout=timeout)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=timeout)


class ExitedBeforeReady(RuntimeError):
    """The child ended while the supervisor waited for it to be ready."""


class ManagedProcess:
    """One supervised child: a name, a command, a log file and a restart policy.

    env: added to this process's environment; a None value removes that variable.
    ready: called after each start; returns when the child is usable (or raises).
    Back-off doubles from ``min_backoff`` up to ``max_backoff`` while the child keeps
    dying within ``stable_after`` seconds, and resets once it has run that long.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log: Path,
        env: dict[str, str | None] | None = None,
        ready: Callable[[], None] | None = None,
        restart: bool = True,
        min_backoff: float = 0.5,
        max_backoff: float = 30.0,
        stable_after: float = 30.0,
        on_change: Callable[[], None] | None = None,
    ):
        self.name = name
        self.argv = list(argv)
        self.log = Path(log)
        self.env = env
        self.ready = ready
        self.restart = restart
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        self.on_change = on_change
        self.proc: subprocess.Popen | None = None
        self.state = "stopped"
        self.restarts = 0
        self.last_exit: int | None = None
        self.started_at: float | None = None
        self._stopping = False
        self._watcher: gevent.Greenlet | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def _set_state(self, state: str) -> None:
        self.state = state
        if self.on_change:
            self.on_change()

    def _spawn(self) -> None:
        with open(self.log, "ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} start: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=environment(self.env),
                                         preexec_fn=functools.partial(die_with_parent, os.getpid()))
        self.started_at = time.monotonic()
        self._set_state("starting")

    def start(self, attempts: int = 3) -> None:
        """Start the child, wait until it is ready, then watch it in a greenlet.

        A child that dies before it is ready is started again with the usual back-off,
        up to `attempts` times in all, as a crash later on would be: an intermittent
        crash at start-up must not fail a whole `blisstango up`, a persistent one does.
        """
        self._stopping = False
        backoff = self.min_backoff
        for attempt in range(1, attempts + 1):
            self._spawn()
            try:
                self._wait_ready()
                break
            except ExitedBeforeReady as exc:
                if attempt == attempts:
                    raise
                with open(self.log, "ab") as log:
                    log.write(f"--- {exc}; start again in {backoff:.1f} s\n".encode())
                gevent.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                self.restarts += 1
        self._watcher = gevent.spawn(self._watch)

    def _wait_ready(self) -> None:
        if self.ready is None:
            self._set_state("running")
            return
        ready = gevent.spawn(self.ready)
        while not ready.ready():
            if self.proc.poll() is not None:
                ready.kill()
                self._set_state("crashed")
                raise ExitedBeforeReady(f"{self.name} exited with code {self.proc.returncode} "
                                        f"before it was ready; see {self.log}")
            gevent.sleep(0.05)
        if not ready.successful():
            raise RuntimeError(f"{self.name} did not become ready: {ready.exception}; see {self.log}")
        self._set_state("running")

    def _watch(self) -> None:
        backoff = self.min_backoff
        while True:
            code = self.proc.wait()
            self.last_exit = code
            if self._stopping or not self.restart:
                self._set_state("stopped" if self._stopping else "exited")
                return
            lived = time.monotonic() - (self.started_at or 0)
            backoff = self.min_backoff if lived >= self.stable_after else backoff
            self._set_state("crashed")
            with open(self.log, "ab") as log:
                log.write(f"--- exited with code {code} after {lived:.1f} s; restart in {backoff:.1f} s\n".encode())
            gevent.sleep(backoff)
            if self._stopping:
                self._set_state("stopped")
                return
            backoff = min(backoff * 2, self.max_backoff)
            self.restarts += 1
            self._spawn()
            try:
                self._wait_ready()
            except RuntimeError:
                continue

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the child and everything it started; no restart follows."""
        self._stopping = True
        if self.proc and self.proc.poll() is None:
            self._set_state("stopping")
            stop_process_tree(self.proc.pid, timeout=timeout)
            self.proc.wait()
        if self._watcher is not None:
            self._watcher.join(timeout=timeout)
        self._set_state("stopped")

    def info(self) -> dict:
        return {
            "name": self.name,
            "pid": self.pid,
            "state": self.state,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "log": str(self.log),
            "argv": self.argv,
        }
