"""mca1 in the scientist's shell (`blisstango shell -s demo` on the shared demo stack): shown
as BLISS shows an MCA, counted with ct, its ROIs as the live table's columns."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(300)


def test_mca_prints_elements_preset_rois_and_last_statistics(shell):
    shell.run("ct 0.2 mca1", timeout=60)
    out = shell.run("mca1")
    assert "MCA mca1 (SIMULATED FLUORESCENCE)" in out
    assert "elements       : 0, 1, 2, 3" in out and "4096 bins" in out
    assert "preset         : REALTIME 0.2" in out
    for roi in ("Fe      1250    1310", "Cu      1576    1640", "Zn      1694    1760"):
        assert roi in out
    assert "Last statistics:" in out and "det3" in out and "deadtime%" in out


def test_ct_shows_the_rois_summed_over_the_elements(shell):
    out = shell.run("ct 0.1 mca1", timeout=60)
    header = [line for line in out.splitlines() if "Fe" in line and "Cu" in line][0]
    assert header.split()[-3:] == ["Fe", "Cu", "Zn"]
    assert "deadtime_det0" not in out and "spectrum_det0" not in out
