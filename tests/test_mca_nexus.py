"""NeXus files of MCA scans and mesh scans (library level: in-process scans, real data
Redis, the real writer service, files read with h5py and silx)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from helpers.mca import SPOTS, simulator

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def service(data_redis, request):
    from blisstango.core.data.nexus import WriterService

    session = f"mcanx{abs(hash(request.node.nodeid)) % 10**8}"
    svc = WriterService(data_redis, [session], flush_period=0.05).start()
    svc.ready.wait(10)
    svc.session = session
    yield svc
    svc.stop()


@pytest.fixture
def context(service, data_redis, tmp_path):
    from blisstango.core.data import ScanSaving
    from blisstango.core.scanning import ScanContext

    saving = ScanSaving(service.session, None, base_path=str(tmp_path), template="{session}")
    return ScanContext(service.session, data_redis=data_redis, scan_saving=saving)


class StageAxis:
    """An in-process sample stage axis that moves the simulator's sample position."""

    def __init__(self, name: str, positions, jitter: float = 0.0) -> None:
        self.name, self.values, self.unit, self.jitter = name, positions.values, "mm", jitter
        self._rng = np.random.default_rng(3)

    @property
    def position(self) -> float:
        return self.values[self.name]

    def move(self, pos: float, wait: bool = True) -> None:
        self.values[self.name] = float(pos) + (self.jitter * self._rng.standard_normal() if self.jitter else 0.0)

    def wait_move(self) -> None:
        pass

    is_moving = False


def written(service, scan):
    w = service.wait_scan(scan.key, timeout=60)
    assert w.state.value == "DONE", w.error
    return w.filename, f"{scan.scan_number}.1"


def test_mesh_with_mca_spectra_energy_axis_and_roi_maps(service, context):
    from silx.io import open as silx_open
    from silx.io.nxdata import NXdata

    from blisstango.core.scanning.scans import amesh

    mca = simulator(positions={"sx": 0.0, "sy": 0.0})
    sx, sy = StageAxis("sx", mca.positions), StageAxis("sy", mca.positions)
    scan = amesh(sx, -2.5, 2.5, 10, sy, -2.5, 2.0, 9, 0.005, mca, context=context)
    filename, entry = written(service, scan)
    with h5py.File(filename, "r") as f:
        e = f[entry]
        for det in range(4):
            spectra = e[f"measurement/spectrum_det{det}"]
            assert spectra.shape == (110, 4096) and spectra.dtype == np.uint32
            assert np.array_equal(spectra[()], scan.get_data(f"mca1:spectrum_det{det}"))
            energy = e[f"instrument/spectrum_det{det}/energy"]
            assert energy.attrs["units"] == "keV" and np.allclose(energy[()], mca.energies())
            assert e[f"spectrum_det{det}"].attrs["NX_class"] == "NXdata"
        plot = e["plotselect"]
        assert plot.attrs["interpretation"] == "image" and plot[plot.attrs["signal"]].shape == (10, 11)
    with silx_open(filename) as f:
        for roi, (x, y) in SPOTS.items():
            nx = NXdata(f[f"{entry}/{roi}_map"])
            assert nx.is_valid and nx.signal_is_2d and not nx.is_scatter
            image = nx.signal[()]
            sy_values, sx_values = (a[()] for a in nx.axes)
            j, i = np.unravel_index(np.argmax(image), image.shape)
            assert abs(sx_values[i] - x) <= 0.25 and abs(sy_values[j] - y) <= 0.3, roi
            assert image.sum() == scan.get_data(f"mca1:{roi}").sum()
        spectrum_plot = NXdata(f[f"{entry}/spectrum_det0"])
        assert spectrum_plot.is_valid and spectrum_plot.axes_dataset_names[-1] == "energy"
        assert NXdata(f[f"{entry}/plotselect"]).signal_is_2d


def test_serpentine_mesh_is_an_image_in_grid_order(service, context):
    from blisstango.core.counters.simulation import SimulationCounter
    from blisstango.core.mca.simulator.sources import FixedPositions
    from blisstango.core.scanning.scans import amesh

    pos = FixedPositions({"a": 0.0, "b": 0.0})
    a, b = StageAxis("a", pos), StageAxis("b", pos)
    ramp = SimulationCounter("ramp_ab", a, curve="linear", slope=1.0, background=10.0)
    scan = amesh(a, 0.0, 3.0, 3, b, 0.0, 2.0, 2, 0.0, ramp, backnforth=True, context=context)
    filename, entry = written(service, scan)
    with h5py.File(filename, "r") as f:
        plot = f[f"{entry}/plotselect"]
        image = plot["ramp_ab"][()]
        assert plot.attrs["interpretation"] == "image"
        assert np.allclose(image, [[10, 11, 12, 13]] * 3)   # rows in grid order, not serpentine
        assert np.allclose(plot["a"][()], [0, 1, 2, 3]) and np.allclose(plot["b"][()], [0, 1, 2])


def test_irregular_or_interrupted_mesh_is_a_scatter(service, context):
    from silx.io import open as silx_open
    from silx.io.nxdata import NXdata

    from blisstango.core.scanning.scans import dmesh

    mca = simulator(positions={"sx": 0.0, "sy": 0.0})
    sx, sy = StageAxis("sx", mca.positions, jitter=0.2), StageAxis("sy", mca.positions)
    scan = dmesh(sx, -1.0, 1.0, 4, sy, -1.0, 1.0, 4, 0.002, mca, context=context)
    filename, entry = written(service, scan)
    with silx_open(filename) as f:
        for name in ("plotselect", "Fe_map"):
            nx = NXdata(f[f"{entry}/{name}"])
            assert nx.is_valid and nx.is_scatter, name
            assert len(nx.signal) == 25
