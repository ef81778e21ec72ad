"""`blisstango up/status/down` on the demo beamline with real processes, checked by pid."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.procs import free_port, pid_alive

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent


def blisstango(*args, timeout=120, check=True):
    res = subprocess.run([str(BIN / "blisstango"), *args], capture_output=True, text=True,
                         timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"blisstango {' '.join(args)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}")
    return res


def test_help_lists_the_commands():
    out = blisstango("--help").stdout
    for command in ("up", "down", "status", "demo"):
        assert f"    {command} " in out


def test_config_command_lists_objects_and_sessions(demo_config):
    out = blisstango("config", str(demo_config)).stdout
    assert "m0" in out and "diode" in out and "demo" in out


def _status(run_dir):
    return json.loads(blisstango("status", "--run-dir", str(run_dir), "--json").stdout)


def _all_pids(state):
    pids = [state["supervisor_pid"], *state["redis"]["pids"]]
    pids += [p["pid"] for p in state["processes"]]
    return [p for p in pids if p]


@pytest.fixture
def stack(tmp_path, demo_config):
    config = tmp_path / "config"
    shutil.copytree(demo_config, config)
    run_dir = tmp_path / "run"
    port = free_port()
    blisstango("up", str(config), "--detach", "--port", str(port), "--run-dir", str(run_dir))
    yield run_dir, port
    blisstango("down", "--run-dir", str(run_dir), check=False)


def test_up_status_down_leaves_no_process(stack):
    run_dir, port = stack
    state = _status(run_dir)
    assert state["tango_host"].endswith(f":{port}")
    names = {p["name"] for p in state["processes"]}
    assert "BeaconDB" in names
    states = {p["name"]: (p["state"], p["restarts"]) for p in state["processes"]}
    assert all(st == "running" for st, _ in states.values()), (states, str(run_dir))
    assert len(state["redis"]["pids"]) == 2
    pids = _all_pids(state)
    assert all(pid_alive(p) for p in pids)

    blisstango("down", "--run-dir", str(run_dir))
    deadline = time.monotonic() + 10
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in pids if pid_alive(p)] == []
    assert blisstango("status", "--run-dir", str(run_dir), check=False).returncode == 1


def test_crashed_server_is_restarted(stack):
    run_dir, _port = stack
    before = {p["name"]: p for p in _status(run_dir)["processes"]}
    victim = before["BeaconDB"]
    os.kill(victim["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = {p["name"]: p for p in _status(run_dir)["processes"]}["BeaconDB"]
        if now["pid"] != victim["pid"] and now["state"] == "running":
            break
        time.sleep(0.2)
    assert now["pid"] != victim["pid"] and now["restarts"] == 1, now
    assert pid_alive(now["pid"])
