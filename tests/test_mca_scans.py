"""The MCA acquisition slave in real scans (in process, publishing to a real data Redis)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.mca import simulator

from blisstango.core.data import ScanReader
from blisstango.core.scanning import scans


def check_rois(scan, mca) -> None:
    for roi, (start, stop) in mca.rois.items():
        total = 0
        for e in mca.elements:
            spectra = scan.get_data(f"{mca.name}:spectrum_det{e}")
            got = scan.get_data(f"{mca.name}:{roi}_det{e}")
            assert np.array_equal(got, spectra[:, start:stop].sum(axis=1))
            total = total + got
        assert np.array_equal(scan.get_data(f"{mca.name}:{roi}"), total)


def test_ct_software_mode_one_spectrum_with_rois_and_stats(scan_context, data_redis):
    mca = simulator()
    scan = scans.ct(0.2, mca, save=True)
    assert scan.get_data("mca1:spectrum_det0").shape == (1, 4096)
    assert scan.get_data("mca1:realtime_det3")[0] == 0.2
    assert scan.get_data("mca1:energy_livetime_det0")[0] < 0.2
    check_rois(scan, mca)
    info = ScanReader(data_redis, scan.key).info
    spectrum = info["channels"]["mca1:spectrum_det0"]
    assert spectrum["dtype"] == "<u4" and spectrum["shape"] == [4096]
    assert spectrum["axis"] == {"name": "energy", "unit": "keV", "polynomial": [0.0, 0.005, 0.0]}
    assert info["channels"]["mca1:Fe_det1"]["roi"] == [1250, 1312]
    stored = ScanReader(data_redis, scan.key).read_all("mca1:spectrum_det2")
    assert np.array_equal(stored, scan.get_data("mca1:spectrum_det2"))


@pytest.mark.parametrize("mode", ["SOFTWARE", "GATE", "SYNC"])
def test_timescan_in_every_trigger_mode(scan_context, data_redis, mode):
    mca = simulator(block_size=4)
    mca.trigger_mode = mode
    scan = scans.loopscan(12, 0.01, mca, save=True)
    reader = ScanReader(data_redis, scan.key)
    for name in ("mca1:spectrum_det1", "mca1:Cu", "mca1:deadtime_det3"):
        assert len(scan.get_data(name)) == 12
        assert np.array_equal(reader.read_all(name), scan.get_data(name))
    realtime = scan.get_data("mca1:realtime_det0")
    if mode == "SYNC":
        assert np.all(realtime > 0.005)    # from one pulse to the next
    elif mode == "SOFTWARE":
        assert np.all(realtime == 0.01)    # the preset, met exactly
    else:                                  # a gate: cut short if the next pulse comes first
        assert np.all((realtime > 0) & (realtime <= 0.01))
    check_rois(scan, mca)


class FakeAxis:
    """An in-process axis for a mesh over the simulator's sample (moves at once)."""

    def __init__(self, name: str, positions) -> None:
        self.name, self.values, self.unit = name, positions.values, "mm"

    @property
    def position(self) -> float:
        return self.values[self.name]

    def move(self, pos: float, wait: bool = True) -> None:
        self.values[self.name] = float(pos)

    def wait_move(self) -> None:
        pass

    is_moving = False


@pytest.mark.parametrize("mode", ["SOFTWARE", "GATE"])
def test_ascan_and_dscan_across_the_iron_spot(scan_context, data_redis, mode):
    """One spectrum per point of a step scan; the Fe ROI peaks where the spot is; a dscan
    goes back to where it started; the data Redis holds every spectrum."""
    mca = simulator(positions={"sx": 0.0, "sy": 1.0})
    mca.trigger_mode = mode
    sx = FakeAxis("sx", mca.positions)
    scan = scans.ascan(sx, -3.0, 1.0, 8, 0.005, mca, save=True)
    x, fe = scan.get_data("axis:sx"), scan.get_data("mca1:Fe")
    assert scan.get_data("mca1:spectrum_det0").shape == (9, 4096)
    assert abs(x[int(np.argmax(fe))] - (-1.0)) <= 0.25 and fe.max() > 10 * fe.min()
    check_rois(scan, mca)
    assert np.array_equal(ScanReader(data_redis, scan.key).read_all("mca1:spectrum_det3"),
                          scan.get_data("mca1:spectrum_det3"))
    sx.move(-0.5)
    scan = scans.dscan(sx, -1.0, 1.0, 4, 0.005, mca, save=False)
    assert np.allclose(scan.get_data("axis:sx"), [-1.5, -1.0, -0.5, 0.0, 0.5])
    assert scan.get_data("mca1:spectrum_det1").shape == (5, 4096) and sx.position == -0.5
    assert int(np.argmax(scan.get_data("mca1:Fe"))) == 1


@pytest.mark.parametrize("mode", ["SOFTWARE", "GATE"])
def test_mesh_finds_each_spot(scan_context, mode):
    mca = simulator(positions={"sx": 0.0, "sy": 0.0})
    mca.trigger_mode = mode
    sx, sy = FakeAxis("sx", mca.positions), FakeAxis("sy", mca.positions)
    scan = scans.amesh(sx, -2.5, 2.5, 10, sy, -2.5, 2.5, 10, 0.005, mca, save=False)
    x, y = scan.get_data("axis:sx"), scan.get_data("axis:sy")
    for roi, spot in (("Fe", (-1.0, 1.0)), ("Cu", (1.5, 1.0)), ("Zn", (0.0, -1.5))):
        best = int(np.argmax(scan.get_data(f"mca1:{roi}")))
        assert abs(x[best] - spot[0]) <= 0.25 and abs(y[best] - spot[1]) <= 0.25, roi


def test_mapping_scan_fails_naming_the_mca_when_its_acquisition_ends_early(scan_context):
    from blisstango.core.scanning import ScanPreset

    mca = simulator()
    mca.trigger_mode = "GATE"

    class StopTheMca(ScanPreset):   # someone stops the detector in the middle of the map
        def after_iteration(self, scan, i):
            if i == 2:
                mca.stop_acquisition()

    scan = scans.loopscan(6, 0.01, mca, save=False, run=False, presets=[StopTheMca()])
    with pytest.raises(Exception, match="mca1: acquisition ended after [23] of 6 points"):
        scan.run()
    assert scan.end_reason == "FAILURE" and not mca.is_acquiring()


def test_json_chain_with_mca_in_gate_mode_and_bad_acq_params(scan_context):
    from blisstango.core.scanning.arguments import ScanArgumentError
    from blisstango.core.scanning.chain_json import build_scan
    from blisstango.core.scanning.session_objects import SessionObjects

    mca = simulator()
    session = SessionObjects("json")
    session.counters["mca1"] = mca
    desc = {"chain": [{"type": "timer", "count_time": 0.01, "npoints": 8,
                       "children": [{"counters": ["mca1"], "acq_params": {"mca1": {"trigger_mode": "GATE",
                                                                                   "block_size": 3}}}]}],
            "save": False}
    scan = build_scan(desc, session, scan_context).run()
    assert scan.get_data("mca1:spectrum_det0").shape == (8, 4096)
    assert mca.trigger_mode.name == "GATE" and mca.block_size == 3
    for params, words in (({"trigger_mode": "EXTERNAL"}, "mca1: trigger_mode 'EXTERNAL' refused"),
                          ({"colour": "red"}, "colour"), ("GATE", "acq_params")):
        desc["chain"][0]["children"][0]["acq_params"] = {"mca1": params}
        with pytest.raises(ScanArgumentError, match=words):
            build_scan(desc, session, scan_context)
