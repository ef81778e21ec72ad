"""Start and reliably stop the real processes that end-to-end tests need."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

from blisstango.core.beacon.child_process import environment
from blisstango.core.beacon.supervisor import stop_process_tree


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0, host: str = "127.0.0.1") -> None:
    """Block until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")


def start(cmd: Sequence[str], log: Path, env: dict | None = None, cwd: str | None = None) -> subprocess.Popen:
    """Start cmd in its own process group, output to log; env is added to this process's
    environment (a None value removes that variable)."""
    fh = open(log, "ab")
    return subprocess.Popen(list(cmd), stdout=fh, stderr=subprocess.STDOUT, env=environment(env),
                            cwd=cwd, start_new_session=True)


def kill_tree(pid: int, timeout: float = 5.0) -> None:
    """SIGTERM pid and its descendants, SIGKILL what is left after timeout (the launcher's
    stop_process_tree, with a shorter patience for tests)."""
    stop_process_tree(pid, timeout=timeout)


def pid_alive(pid: int) -> bool:
    """True while pid exists and is not a zombie."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class ServerProcess:
    """A server a test runs in its own process, output appended to `self.log`.

    Subclasses launch() it, wait_ready() on a probe, and leave stop() (the whole process
    tree) and kill(sig) (that process alone, as a crash would) to this class.
    """

    log: Path
    proc: subprocess.Popen | None = None

    def launch(self, cmd: Sequence[str], env: dict | None = None, cwd: str | None = None) -> None:
        self.proc = start(cmd, self.log, env=env, cwd=cwd)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def wait_ready(self, probe: Callable[[], object], what: str, timeout: float) -> None:
        """Until probe() is true. The process is stopped, and an error with the log's tail
        raised, if it exits first (RuntimeError) or timeout seconds pass (TimeoutError)."""
        deadline = time.monotonic() + timeout
        try:
            while not probe():
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{what}: {self.proc.args[0]} exited with code "
                                       f"{self.proc.returncode}; {self.log}:\n{self.log_tail()}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{what}: not ready after {timeout} s; "
                                       f"{self.log}:\n{self.log_tail()}")
                time.sleep(0.05)
        except BaseException:
            self.stop()  # never leave a half-started server behind
            raise

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the process alone (a crash, no clean-up by default) and reap it."""
        if self.proc is not None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        """End the process and everything it started, and reap it."""
        if self.proc is not None:
            kill_tree(self.proc.pid)
            self.proc.wait()
            self.proc = None


class NoDbServer(ServerProcess):
    """A test device server script of tests/helpers run without a database:
    ``python <script> <port>`` serving `device` (its name and port are the script's)."""

    def __init__(self, script: Path, device: str, log: Path) -> None:
        import sys

        self.log = log
        self.port = free_port()
        self.name = f"tango://127.0.0.1:{self.port}/{device}#dbase=no"
        self.launch([sys.executable, str(script), str(self.port)])
        # the port listens before the device is exported: cppTango's own line says it is
        self.wait_ready(lambda: "Ready to accept request" in self.log_tail(100_000), f"{device} ({script.name})", 30)
