"""`blisstango demo` brings the demo beamline up, shows its Tango devices, runs the
alignment ascan through the ScanServer, finds the diode peak, and stops it all."""

import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import psutil
import pytest
from helpers.procs import free_port

pytestmark = pytest.mark.e2e

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
    assert "AxisManager/demo" in out and "ScanServer/demo" in out and "demo/scan/demo" in out
    # the live table: one row per point of `ascan m0 0 5 25 0.02 diode cam1`, and the progress bar
    rows = re.findall(r"^ +(\d+) +(-?\d+\.\d+) +(-?\d+\.\d+) +(-?\d+\.\d+)$", out, re.MULTILINE)
    assert [int(r[0]) for r in rows] == list(range(26)), out
    m0 = np.array([float(r[1]) for r in rows])
    diode = np.array([float(r[2]) for r in rows])
    np.testing.assert_allclose(m0, np.linspace(0, 5, 26), atol=1e-3)
    assert "100.0%  26/26 points" in out
    peak = float(re.search(r"peak of diode at m0 = (-?\d+\.\d+) mm", out).group(1))
    assert abs(peak - 2.5) < 0.05
    beam = float(re.search(r"peak of cam1 ROI beam at m0 = (-?\d+\.\d+) mm", out).group(1))
    assert abs(beam - peak) < 0.1  # the camera's beam follows the diode's gaussian in m0
    found = re.search(r"HDF5 file: (\S+) entry (\S+)", out)
    path, entry = Path(found.group(1)), found.group(2)
    assert path.is_file() and path.is_relative_to(tmp_path)
    with h5py.File(path, "r") as f:
        np.testing.assert_allclose(f[entry]["measurement/m0"][()], m0, atol=1e-4)
        np.testing.assert_allclose(f[entry]["measurement/diode"][()], diode, atol=0.06)
        assert f[entry]["measurement/cam1_image"].shape == (26, 512, 512)  # frames from the master file
    assert "no process left running" in out
    leftovers = [p for p in psutil.process_iter(["cmdline"])
                 if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []
