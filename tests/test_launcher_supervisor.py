"""The process supervisor restarts crashed children with back-off and stops them all."""

import sys
import time

import gevent
import pytest
from helpers.procs import pid_alive

from blisstango.core.beacon.supervisor import Backoff, ManagedProcess

pytestmark = pytest.mark.e2e

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_crashed_child_is_restarted_with_backoff(tmp_path):
    proc = ManagedProcess("crasher", [sys.executable, "-c", "import sys; sys.exit(3)"],
                          tmp_path / "crasher.log", backoff=Backoff(first=0.2, longest=0.8))
    proc.start()
    t0 = time.monotonic()
    while proc.restarts < 4 and time.monotonic() - t0 < 10:
        gevent.sleep(0.05)
    elapsed = time.monotonic() - t0
    exit_code = proc.last_exit
    proc.stop()
    assert proc.restarts >= 4
    assert exit_code == 3
    # 0.2 + 0.4 + 0.8 + 0.8: back-off grows, so four restarts cannot be instantaneous
    assert elapsed >= 1.5
    log = (tmp_path / "crasher.log").read_text()
    assert "exited with code 3" in log and "restart in" in log


def test_killed_child_gets_a_new_pid(tmp_path):
    proc = ManagedProcess("sleeper", SLEEPER, tmp_path / "s.log", backoff=Backoff(first=0.1))
    proc.start()
    first = proc.pid
    import os
    import signal
    os.kill(first, signal.SIGKILL)
    t0 = time.monotonic()
    while (proc.pid == first or proc.state != "running") and time.monotonic() - t0 < 5:
        gevent.sleep(0.05)
    second = proc.pid
    proc.stop()
    assert second != first and proc.restarts == 1
    assert not pid_alive(first) and not pid_alive(second)
    assert proc.state == "stopped"


def test_stop_kills_grandchildren(tmp_path):
    code = ("import subprocess, sys, time; "
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
            "print(p.pid, flush=True); time.sleep(60)")
    proc = ManagedProcess("parent", [sys.executable, "-c", code], tmp_path / "p.log")
    proc.start()
    log = tmp_path / "p.log"
    t0 = time.monotonic()
    while time.monotonic() - t0 < 5:
        lines = [ln for ln in log.read_text().splitlines() if ln.strip().isdigit()]
        if lines:
            break
        gevent.sleep(0.05)
    grandchild = int(lines[0])
    assert pid_alive(grandchild)
    proc.stop()
    assert not pid_alive(grandchild)
    assert not pid_alive(proc.pid)


def test_child_that_dies_before_ready_is_reported(tmp_path):
    proc = ManagedProcess("early", [sys.executable, "-c", "raise SystemExit(7)"], tmp_path / "e.log",
                          ready=lambda: gevent.sleep(30))
    try:
        proc.start()
    except RuntimeError as exc:
        assert "early exited with code 7 before it was ready" in str(exc)
        assert "e.log" in str(exc)
    else:
        raise AssertionError("start() should have failed")


def test_crash_at_first_start_is_started_again(tmp_path):
    marker = tmp_path / "crashed-once"
    code = ("import pathlib, sys, time; m = pathlib.Path(sys.argv[1])\n"
            "if not m.exists():\n    m.touch(); sys.exit(11)\n"
            "time.sleep(60)\n")
    proc = ManagedProcess("flaky", [sys.executable, "-c", code, str(marker)], tmp_path / "f.log",
                          ready=lambda: gevent.sleep(0.3), backoff=Backoff(first=0.1))
    proc.start()
    try:
        assert proc.state == "running" and proc.restarts == 1
        log = (tmp_path / "f.log").read_text()
        assert "flaky exited with code 11 before it was ready" in log and "start again in" in log
    finally:
        proc.stop()
