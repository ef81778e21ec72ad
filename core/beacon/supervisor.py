"""The one process supervisor: start a child, wait until it is ready, restart it with
back-off when it dies, stop it and everything it started.

Every child of `blisstango up` runs under it (the embedded Redis servers, BeaconDB, the
simulators, every device server), and so do the Redis servers of a BeaconDB run on its
own. Each ManagedProcess watches its child from a thread of its own, which also starts it
(child_process.spawn: the parent-death signal ties the child to that thread, hence to this
process however it dies). No gevent loop is needed: it works in the launcher (gevent)
and in a synchronous Tango server alike, and a blocked main thread delays no restart.

One back-off rule (core.comm.backoff.Backoff, the one every retry uses): the delay before
a restart starts at 0.5 s and doubles up to 10 s while the child keeps dying; a child
that ran STABLE_AFTER (30 s) counts as a success, the next delay is 0.5 s again.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gevent.monkey
import psutil
from gevent._hub_local import get_hub_if_exists

from ..comm.backoff import Backoff
from .child_process import Child, environment, spawn

__all__ = ["Backoff", "ExitedBeforeReady", "ManagedProcess", "STABLE_AFTER", "restart_backoff",
           "stop_process_tree"]

#: an OS sleep, whatever gevent patched: the watcher thread runs no event loop
_sleep = gevent.monkey.get_original("time", "sleep")


#: a child that ran this long (s) before it died counts as a success for the back-off
STABLE_AFTER = 30.0


def restart_backoff() -> Backoff:
    """The supervisor's rule: 0.5 s doubling to 10 s."""
    return Backoff(first=0.5, longest=10.0)


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

    env: changes to this process's environment for the child (a None value removes
        that variable).
    ready: called after each start, in the watcher thread; returns once the child is
        usable, or raises.
    prepare: called before each start (write a configuration file, pick a port).
    graceful: asks the child to end (Redis SHUTDOWN) before stop() signals its tree.
    on_change: called after each state change (from the watcher thread).
    """

    def __init__(self, name: str, argv: Sequence[str], log: Path, env: dict[str, str | None] | None = None,
                 ready: Callable[[], None] | None = None, restart: bool = True,
                 backoff: Backoff | None = None, cwd: str | os.PathLike | None = None,
                 prepare: Callable[[], None] | None = None,
                 graceful: Callable[[float], None] | None = None,
                 on_change: Callable[[], None] | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.log = Path(log)
        self.env = env
        self.ready = ready
        self.restart = restart
        self.backoff = backoff or restart_backoff()
        self.cwd = cwd
        self.prepare = prepare
        self.graceful = graceful
        self.on_change = on_change
        self.proc: Child | None = None
        self.state = "stopped"
        self.restarts = 0
        self.last_exit: int | None = None
        self.started_at: float | None = None
        self._stopping = threading.Event()
        #: set by stop() once the child's tree is ended: the watcher thread (whose end
        #: sends the child SIGTERM) lives until then, so no grandchild is orphaned
        self._released = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._loop: Any = None

    # -- what it shows -------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def info(self) -> dict:
        return {"name": self.name, "pid": self.pid, "state": self.state, "restarts": self.restarts,
                "last_exit": self.last_exit, "log": str(self.log), "argv": self.argv}

    def _set_state(self, state: str) -> None:
        self.state = state
        if self.on_change:
            self.on_change()

    def _note(self, text: str) -> None:
        with open(self.log, "ab") as log:
            log.write(f"--- {text}\n".encode())

    # -- life ---------------------------------------------------------------------------
    def start(self, attempts: int = 3) -> None:
        """Start the child and return once it is ready; then it is watched and restarted.

        A child that dies before it is ready is started again with the usual back-off,
        up to `attempts` times in all, as a crash later on would be: an intermittent
        crash at start-up must not fail a whole `blisstango up`, a persistent one does
        (ExitedBeforeReady, or the error `ready` raised).
        """
        if self._thread is not None and self._thread.is_alive():
            return
        hub = get_hub_if_exists()  # the caller's; the main thread's runs gevent's default
        self._loop = hub.loop if hub is not None and hub.loop.default else None  # loop (SIGCHLD)
        self._stopping.clear()
        self._released.clear()
        self._started.clear()
        self._start_error = None
        self._thread = threading.Thread(target=self._run, args=(attempts,), name=f"supervise {self.name}",
                                        daemon=True)
        self._thread.start()
        while not self._started.wait(0.01):
            time.sleep(0)  # the caller's other greenlets run meanwhile (gevent's sleep)
        if self._start_error is not None:
            self._thread.join()
            raise self._start_error

    def _spawn(self) -> None:
        if self.prepare is not None:
            self.prepare()
        self._note(f"{time.strftime('%Y-%m-%d %H:%M:%S')} start: {' '.join(self.argv)}")
        self.proc = spawn(self.argv, self.log, self.cwd, env=environment(self.env))
        if self._loop is not None:
            self.proc.keep_status(self._loop)  # gevent's loop reaps children: keep the exit code
        self.started_at = time.monotonic()
        self._set_state("starting")

    def _wait_ready(self, restart: bool = False) -> None:
        """Raise ExitedBeforeReady if the child ends first, RuntimeError if ready fails;
        a restart is counted once its child is ready (with the state it is seen in)."""
        assert self.proc is not None
        if self.ready is not None:
            outcome: list[BaseException | None] = []
            checker = threading.Thread(target=_call_into, args=(self.ready, outcome), daemon=True,
                                       name=f"ready {self.name}")
            checker.start()
            while checker.is_alive():
                if self.proc.poll() is not None or self._stopping.is_set():
                    break
                _sleep(0.05)
            if self.proc.poll() is not None:
                self._set_state("crashed")
                raise ExitedBeforeReady(f"{self.name} exited with code {self.proc.returncode} "
                                        f"before it was ready; see {self.log}")
            if outcome and outcome[0] is not None:
                raise RuntimeError(f"{self.name} did not become ready: {outcome[0]}; see {self.log}")
        if restart:
            self.restarts += 1
        self._set_state("running")

    def _run(self, attempts: int) -> None:
        try:
            self._supervise(attempts)
        finally:
            if self._stopping.is_set():
                self._released.wait()

    def _supervise(self, attempts: int) -> None:
        self.backoff.succeeded()
        for attempt in range(1, attempts + 1):
            try:
                self._spawn()
                self._wait_ready()
                break
            except ExitedBeforeReady as exc:
                if attempt == attempts or self._stopping.is_set():
                    self._start_error = exc
                    self._started.set()
                    return
                delay = self.backoff.failed()
                self._note(f"{exc}; start again in {delay:.1f} s")
                if self._stopping.wait(delay):
                    break
                self.restarts += 1
            except BaseException as exc:  # noqa: BLE001 - handed to start()'s caller
                self._start_error = exc
                self._started.set()
                self._end_child()
                return
        self._started.set()
        self._watch()

    def _watch(self) -> None:
        self.backoff.succeeded()
        while True:
            assert self.proc is not None
            while self.proc.poll() is None:
                if self._stopping.wait(0.05):
                    return
            code = self.last_exit = self.proc.returncode
            if self._stopping.is_set():
                return
            if not self.restart:
                self._set_state("exited")
                return
            lived = time.monotonic() - (self.started_at or 0.0)
            if lived >= STABLE_AFTER:
                self.backoff.succeeded()  # it had worked: start the rule again
            delay = self.backoff.failed()
            self._set_state("crashed")
            self._note(f"exited with code {code} after {lived:.1f} s; restart in {delay:.1f} s")
            if self._stopping.wait(delay):
                return
            try:
                self._spawn()
                self._wait_ready(restart=True)
            except (RuntimeError, OSError) as exc:  # watched again: a crash is restarted
                self._note(str(exc))

    def _end_child(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        if self.graceful is not None:
            try:
                self.graceful(timeout)
            except Exception as exc:  # noqa: BLE001 - signals follow
                self._note(f"graceful stop failed: {exc}")
        if self.proc.poll() is None:
            stop_process_tree(self.proc.pid, timeout=timeout)
        self.proc.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the child and everything it started; no restart follows."""
        self._stopping.set()
        if self.running():
            self._set_state("stopping")
        self._end_child(timeout)
        self._released.set()
        thread = self._thread
        while thread is not None and thread.is_alive():
            time.sleep(0.02)  # cooperative under gevent
        self._thread = None
        self._end_child(timeout)  # a restart that raced with this stop
        if self.proc is not None:
            self.last_exit = self.proc.poll()
        self._set_state("stopped")


def _call_into(fn: Callable[[], None], outcome: list) -> None:
    """Run a readiness check in its own thread; a gevent hub it made (gevent.sleep in a
    thread makes one) is destroyed with the thread, its loop's descriptors with it."""
    try:
        fn()
        outcome.append(None)
    except BaseException as exc:  # noqa: BLE001 - reported by the supervisor
        outcome.append(exc)
    finally:
        hub = get_hub_if_exists()
        if hub is not None:
            hub.destroy(destroy_loop=True)
