"""cam1 in the scientist's shell, typed as BLISS users type it: ROIs set and removed on
the detector object, ct and ascan of the camera run by the ScanServer and shown live."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytestmark = pytest.mark.timeout(300)

ROW = re.compile(r"^\s+(\d+)((?:\s+-?(?:\d+\.\d+|nan))+)\s*$", re.M)


def _rows(out: str) -> list[list[float]]:
    return [[float(v) for v in m[2].split()] for m in ROW.finditer(out)]


def test_camera_typed_in_the_shell(shell, shell_stack, tmp_path):
    base = tmp_path / "data"
    base.mkdir()
    shell.run(f"SCAN_SAVING.base_path = {str(base)!r}")
    out = shell.run('cam1.roi_counters["r1"] = (300, 200, 50, 40)')
    assert "Error" not in out, out
    assert "r1" in shell.run("cam1.roi_counters.keys()")
    try:
        out = shell.run("ct 0.1 cam1", timeout=60)
        header = next(line for line in out.splitlines() if "beam_sum" in line)
        for column in ("beam_sum", "corner_sum", "r1_sum", "intensity", "x", "y"):
            assert column in header.split(), header
        assert len(_rows(out)) == 1, out
        out = shell.run("ascan m0 0 4 20 0.1 cam1", timeout=180)
        rows = _rows(out)
        assert len(rows) == 21, out
        m0 = np.array([r[0] for r in rows])
        assert m0 == pytest.approx(np.linspace(0, 4, 21), abs=1e-3)
        found = float(re.search(r"Out \[\d+\]: (-?\d+\.\d+)",
                                shell.run("peak(cam1.roi_counters.beam_sum)"))[1])
        assert abs(found - 2.5) <= 0.2 / 2  # the beam is brightest where the diode peaks
        assert re.search(r"^file: \S+\.h5", out, re.M)
    finally:
        shell.run('del cam1.roi_counters["r1"]')
    assert "r1" not in shell.run("cam1.roi_counters.keys()")
    out = shell.run('cam1.roi_counters["huge"] = (500, 500, 50, 50)')
    assert "LimaConfigError: cam1: ROI huge [500, 500, 50, 50] is outside the image 512x512" in out, out
    assert "Traceback" not in out
