"""Start and reliably stop the real processes that end-to-end tests need."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from blisstango.clients.launcher.supervisor import stop_process_tree


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
    """Start cmd in its own process group, output to log."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    fh = open(log, "ab")
    return subprocess.Popen(list(cmd), stdout=fh, stderr=subprocess.STDOUT, env=full_env,
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
