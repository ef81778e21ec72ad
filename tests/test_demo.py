"""`blisstango demo` brings the demo beamline up, shows its Tango devices, and stops it all."""

import subprocess
import sys
from pathlib import Path

import psutil
from helpers.procs import free_port

BIN = Path(sys.executable).parent


def _descendant_names():
    return {p.name() for p in psutil.Process().children(recursive=True)}


def test_demo_runs_and_leaves_nothing(tmp_path):
    port = free_port()
    res = subprocess.run([str(BIN / "blisstango"), "demo", "--port", str(port), "--run-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "session demo:" in out
    # every axis of the demo is a Tango device, named per DESIGN.md §3 with its alias
    for axis in ("m0", "m1", "sl_up", "sl_down", "sl_vgap", "sl_voffset"):
        assert f"demo/axis/{axis}" in out and axis in out
    assert "AxisManager/demo" in out
    assert "no process left running" in out
    leftovers = [p for p in psutil.process_iter(["cmdline"])
                 if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []
