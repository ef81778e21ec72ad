"""core.beacon.child_process.spawn: what a started program gets, whatever thread starts it."""

from __future__ import annotations

import signal
import socket
import threading

import pytest
from helpers.waiting import wait_until

from blisstango.core.beacon.child_process import spawn

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def _output(tmp_path, argv, name, **kw) -> tuple[int, str]:
    """(pid, what the program wrote) once it ended, not with an error (an earlier test's
    gevent child watcher may have reaped it: then its code is unknown, -255)."""
    log = tmp_path / f"{name}.log"
    child = spawn(argv, log, **kw)
    wait_until(lambda: child.poll() is not None, 20, f"the end of {argv}")
    assert child.returncode in (0, -255), log.read_text()
    return child.pid, log.read_text()


def _status(tmp_path, name: str) -> tuple[int, dict[str, str]]:
    """cat's own /proc/self/stat and status: what it was started with."""
    pid, text = _output(tmp_path, ["/bin/cat", "/proc/self/stat", "/proc/self/status"], name)
    stat, *status = text.splitlines()
    fields = dict(line.split(":", 1) for line in status if ":" in line)
    fields["session"] = stat.rsplit(")", 1)[1].split()[3]  # after pid (comm): state ppid pgrp session
    return pid, {k: v.strip() for k, v in fields.items()}


def test_a_child_keeps_none_of_our_descriptors(tmp_path):
    kept = socket.socket()
    kept.set_inheritable(True)  # a socket a library made inheritable must not leak
    try:
        _, listing = _output(tmp_path, ["/bin/ls", "-l", "/proc/self/fd"], "fds")
    finally:
        kept.close()
    targets = [line.split(" -> ")[1] for line in listing.splitlines() if " -> " in line]
    assert not [t for t in targets if t.startswith("socket:")], listing
    assert len(targets) == 4, listing  # stdin, stdout, stderr and ls's own listing of the folder


def test_a_child_runs_in_its_folder_with_its_environment(tmp_path):
    _, cwd = _output(tmp_path, ["/bin/pwd"], "cwd", cwd=tmp_path)
    assert cwd.strip() == str(tmp_path)
    _, env = _output(tmp_path, ["/usr/bin/env"], "env", env={"ONLY": "this"})
    assert env.splitlines() == ["ONLY=this"]


def test_a_child_has_its_own_session_and_default_signals(tmp_path):
    pid, st = _status(tmp_path, "main")
    assert st["session"] == str(pid)  # its own session: a terminal's Ctrl-C never reaches it
    assert int(st["SigBlk"], 16) == 0
    assert int(st["SigIgn"], 16) & (1 << (signal.SIGPIPE - 1)) == 0  # default, though Python ignores it


def test_a_child_started_from_a_thread_blocking_signals_gets_them(tmp_path):
    got = {}

    def start():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        got.update(_status(tmp_path, "thread")[1])

    t = threading.Thread(target=start)
    t.start()
    t.join()
    assert int(got["SigBlk"], 16) == 0, got  # SIGTERM must stop it
