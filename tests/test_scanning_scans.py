"""Standard scans on Mockup axes of core.motion and simulation counters: positions,
point counts, d-scans returning, serpentine meshes, continuous scan, abort stopping
motion, and the alignment helpers on the demo beamline's gaussian diode."""

import shutil

import gevent
import numpy as np
import pytest
from helpers.motion import forget_settings, mockup

from blisstango.core.config import ObjectFactory, load_tree
from blisstango.core.counters import SimulationCounter, SimulationCounterController
from blisstango.core.data import ScanReader
from blisstango.core.motion import LimitError
from blisstango.core.scanning import EndReason, ScanAborted, scans
from blisstango.core.scanning import peak as align

pytestmark = pytest.mark.usefixtures("redis_servers")


@pytest.fixture
def axes(redis_servers):
    ctrl = mockup(*[{"velocity": 200.0, "acceleration": 20000.0, "steps_per_unit": 10000,
                     "low_limit": -50.0, "high_limit": 50.0} for _ in range(3)])
    return list(ctrl.axes.values())


@pytest.fixture
def flat():
    return SimulationCounter("flat", curve="flat", background=7.0, controller=SimulationCounterController("simf"))


def running(scan, seconds):
    """The scan started in the background and left to run for `seconds`."""
    scan.start()
    gevent.sleep(seconds)
    return scan


def axis_data(scan, ax):
    return scan.get_data(f"axis:{ax.name}")


def test_ascan_positions_and_points(scan_context, axes, flat):
    m = axes[0]
    scan = scans.ascan(m, 0, 2, 10, 0, flat)
    np.testing.assert_allclose(axis_data(scan, m), np.linspace(0, 2, 11), atol=1e-4)
    assert len(scan.get_data("flat")) == 11 and len(scan.get_data("elapsed_time")) == 11
    assert m.position == pytest.approx(2.0)
    info = ScanReader(scan_context.data_redis, scan.key).info
    assert info["type"] == "ascan" and info["npoints"] == 11
    assert info["title"] == f"ascan {m.name} 0 2 10 0"


def test_a2scan_anscan_lookupscan_pointscan(scan_context, axes, flat):
    m0, m1, m2 = axes
    s = scans.a2scan(m0, 0, 1, m1, 10, 5, 5, 0, flat)
    np.testing.assert_allclose(axis_data(s, m0), np.linspace(0, 1, 6), atol=1e-4)
    np.testing.assert_allclose(axis_data(s, m1), np.linspace(10, 5, 6), atol=1e-4)
    s = scans.anscan([(m0, 1, 2), (m1, 3, 4), (m2, -1, -2)], 4, 0, flat)
    for ax, (a, b) in zip(axes, [(1, 2), (3, 4), (-1, -2)]):
        np.testing.assert_allclose(axis_data(s, ax), np.linspace(a, b, 5), atol=1e-4)
    s = scans.lookupscan([(m0, [0, 3, 1]), (m1, [5, 4, 6])], 0, flat)
    np.testing.assert_allclose(axis_data(s, m0), [0, 3, 1], atol=1e-4)
    np.testing.assert_allclose(axis_data(s, m1), [5, 4, 6], atol=1e-4)
    s = scans.pointscan(m2, [2, -2, 0.5, 7], 0, flat)
    np.testing.assert_allclose(axis_data(s, m2), [2, -2, 0.5, 7], atol=1e-4)
    assert len(s.get_data("flat")) == 4


def test_dscan_and_d2scan_return_to_start(scan_context, axes, flat):
    m0, m1, _ = axes
    m0.move(1.0)
    m1.move(-2.0)
    s = scans.dscan(m0, -0.5, 0.5, 4, 0, flat)
    np.testing.assert_allclose(axis_data(s, m0), np.linspace(0.5, 1.5, 5), atol=1e-4)
    assert m0.position == pytest.approx(1.0)
    s = scans.d2scan(m0, 0, 1, m1, 0, -1, 2, 0, flat)
    np.testing.assert_allclose(axis_data(s, m1), [-2, -2.5, -3], atol=1e-4)
    assert (m0.position, m1.position) == pytest.approx((1.0, -2.0))


def test_mesh_raster_and_backnforth_serpentine(scan_context, axes, flat):
    m0, m1, _ = axes
    s = scans.amesh(m0, 0, 2, 2, m1, 0, 1, 1, 0, flat)
    np.testing.assert_allclose(axis_data(s, m0), [0, 1, 2, 0, 1, 2], atol=1e-4)
    np.testing.assert_allclose(axis_data(s, m1), [0, 0, 0, 1, 1, 1], atol=1e-4)
    s = scans.amesh(m0, 0, 2, 2, m1, 0, 2, 2, 0, flat, backnforth=True)
    np.testing.assert_allclose(axis_data(s, m0), [0, 1, 2, 2, 1, 0, 0, 1, 2], atol=1e-4)
    np.testing.assert_allclose(axis_data(s, m1), [0, 0, 0, 1, 1, 1, 2, 2, 2], atol=1e-4)
    assert len(s.get_data("flat")) == 9
    m0.move(5.0)
    m1.move(5.0)
    s = scans.dmesh(m0, -1, 1, 1, m1, -1, 1, 1, 0, flat, backnforth=True)
    np.testing.assert_allclose(axis_data(s, m0), [4, 6, 6, 4], atol=1e-4)
    assert (m0.position, m1.position) == pytest.approx((5.0, 5.0))


def test_time_scans(scan_context, flat):
    assert len(scans.loopscan(7, 0.01, flat).get_data("flat")) == 7
    c = scans.ct(0.05, flat)
    assert list(c.get_data("flat")) == [7.0] and c.scan_info["npoints"] == 1 and not c.save
    s = running(scans.timescan(0.01, flat, run=False), 0.5)
    s.stop()
    s.wait()
    assert s.end_reason is EndReason.USER_STOP
    assert len(s.get_data("flat")) == len(s.get_data("elapsed_time")) > 3
    assert np.all(np.diff(s.get_data("elapsed_time")) >= 0.01)
    s = scans.timescan(0.0, flat, npoints=4, sleep_time=0.05)
    assert np.all(np.diff(s.get_data("elapsed_time")) >= 0.05)


def test_continuous_scan_triggers_on_position(scan_context, axes, flat):
    m = axes[0]
    m.velocity, m.acceleration = 5.0, 100.0
    s = scans.cscan(m, 0, 2, 21, 1.0, flat)
    pos = axis_data(s, m)
    targets = np.linspace(0, 2, 21)
    assert len(pos) == 21 and len(s.get_data("flat")) == 21
    assert np.all(pos >= targets - 1e-6)
    assert np.all(pos - targets < 0.1)  # each trigger fell inside its own interval
    assert np.all(np.diff(pos) > 0)
    assert m.velocity == pytest.approx(5.0)  # restored after the scan


def test_abort_stops_motion_and_dscan_still_returns(scan_context, axes, flat):
    m = axes[0]
    m.velocity, m.acceleration = 2.0, 100.0
    s = running(scans.ascan(m, 0, 10, 1, 0, flat, run=False), 1.0)
    assert m.is_moving
    s.abort()
    with pytest.raises(ScanAborted):
        s.wait()
    assert s.end_reason is EndReason.USER_ABORT
    assert not m.is_moving
    stopped_at = m.position
    assert 0.5 < stopped_at < 9.0
    gevent.sleep(0.3)
    assert m.position == stopped_at  # really stopped, not still creeping to 10

    s = running(scans.dscan(m, 0, 3, 1, 0, flat, run=False), 0.5)
    s.abort()
    with pytest.raises(ScanAborted):
        s.wait()
    assert m.position == pytest.approx(stopped_at)


def test_scan_out_of_limits_fails_before_moving(scan_context, axes, flat):
    m = axes[0]
    m.move(1.0)
    with pytest.raises(LimitError, match=f"{m.name}: 60.0 is above the high limit"):
        scans.ascan(m, 0, 60, 6, 0, flat)
    assert m.position == pytest.approx(1.0)


@pytest.fixture
def demo(demo_config, tmp_path, redis_servers):
    dst = tmp_path / "beamline"
    shutil.copytree(demo_config, dst)
    forget_settings(redis_servers.settings_url, load_tree(dst).names())
    return ObjectFactory(load_tree(dst))


def test_alignment_on_the_demo_diode(scan_context, demo):
    m0, diode = demo.get("m0"), demo.get("diode")
    assert isinstance(diode, SimulationCounter) and diode.axis is m0
    m0.velocity, m0.acceleration = 100.0, 10000.0
    step = 0.1
    scans.ascan(m0, 0, 5, 50, 0, diode)
    for fn in (align.cen, align.peak):
        assert abs(fn(diode) - 2.5) < step / 10, fn.__name__
    assert align.fwhm(diode) == pytest.approx(1.2, abs=0.05)
    assert align.com(diode) == pytest.approx(2.5, abs=0.05)
    assert align.goto_cen(diode) == pytest.approx(m0.position, abs=1e-3)
    assert abs(m0.position - 2.5) < step / 10
    # an off-centre scan window: the peak still comes out right
    scans.dscan(m0, -2.0, 1.0, 30, 0, diode)
    assert abs(align.peak(diode) - 2.5) < step / 10
    align.goto_peak(diode)
    assert abs(m0.position - 2.5) < step / 10


def test_gentle_stop_of_a_continuous_scan_stops_the_axis(scan_context, axes, flat):
    m = axes[0]
    m.velocity, m.acceleration = 5.0, 100.0
    s = running(scans.cscan(m, 0, 4, 41, 2.0, flat, run=False), 1.0)
    s.stop()
    s.wait(timeout=10)
    assert s.end_reason is EndReason.USER_STOP
    assert not m.is_moving and 0 < m.position < 4
    assert 0 < len(s.get_data("flat")) < 41
    assert m.velocity == pytest.approx(5.0)


def test_context_from_beacon_publishes_and_numbers(redis_servers, tmp_path, flat):
    from blisstango.core.scanning import ScanContext

    ctx = ScanContext.from_beacon("beacon_ctx_session")
    ctx.scan_saving.base_path = str(tmp_path)
    s = scans.loopscan(2, 0, flat, context=ctx)
    info = ScanReader(ctx.data_redis, s.key).info
    assert info["filename"] == str(tmp_path / "beacon_ctx_session" / "beacon_ctx_session_data.h5")
    assert info["scan_nb"] == s.scan_number >= 1
