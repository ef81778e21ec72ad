"""TangoAxis: an AxisManager axis and Debian's C++ TangoTest `ampli` driven as axes."""

import time

import gevent
import pytest
import tango
from helpers.axis_server import axis_context
from helpers.config_trees import copy_demo
from helpers.motion import forget_settings, settings_redis, unique  # noqa: F401
from helpers.procs import free_port
from helpers.tangotest import tangotest_nodb

from blisstango.core.config import load_tree
from blisstango.core.motion import MotionError
from blisstango.core.motion.tango_axis import TangoAxis

pytestmark = pytest.mark.e2e


@pytest.fixture
def remote_m0(tmp_path, settings_redis):  # noqa: F811
    tree = copy_demo(tmp_path / "beamline")
    forget_settings(settings_redis.url, load_tree(tree).names())
    with axis_context(tree, settings_redis.url, axes=("m0",)) as access:
        yield access["demo/axis/m0"]


@pytest.fixture
def tangotest(tmp_path):
    with tangotest_nodb("motion", tmp_path / "tangotest.log") as access:
        yield access


def tango_axis(**cfg):
    name = unique("t")
    ctrl = TangoAxis(unique("tctrl"), {}, axes=[dict(name=name, **cfg)])
    return ctrl.axes[name]


def test_tango_axis_on_an_axis_manager_axis(remote_m0):
    ax = tango_axis(tango_name=remote_m0, unit="mm", low_limit=-20.0, high_limit=3.0)
    remote = tango.DeviceProxy(remote_m0)
    assert ax.velocity == 5.0  # the remote device's, not a local default
    ax.velocity = 4.0
    assert remote.Velocity == 4.0
    seen = []
    ax.position_changed.append(seen.append)
    t0 = time.monotonic()
    ax.move(2.0, wait=False)
    gevent.sleep(0.2)
    assert ax.is_moving and "MOVING" in ax.state
    ax.wait_move()
    assert time.monotonic() - t0 >= 2.0 / 4.0
    assert ax.position == pytest.approx(2.0) and remote.Position == pytest.approx(2.0)
    assert len(seen) > 5
    with pytest.raises(MotionError, match=f"{ax.name}: 4.0 is above the high limit 3.0"):
        ax.move(4.0)  # its own limits
    ax.limits = (-20.0, 20.0)
    with pytest.raises(MotionError) as exc:
        ax.move(12.5)  # the remote refuses with its own limit
    assert "m0: 12.5 is above the high limit 10.0" in str(exc.value) and ax.name in str(exc.value)
    ax.move(-5.0, wait=False)
    gevent.sleep(0.3)
    ax.stop()
    assert -5.0 < ax.position < 2.0 and not ax.is_moving
    assert remote.state() == tango.DevState.ON


def test_tango_axis_on_tangotest_ampli(tangotest):
    ax = tango_axis(tango_name=tangotest, attribute="ampli", low_limit=0.0, high_limit=10.0)
    ax.move(3.5)
    assert ax.position == pytest.approx(3.5)
    assert tango.DeviceProxy(tangotest).ampli == pytest.approx(3.5)
    ax.rmove(1.0)
    assert ax.position == pytest.approx(4.5)
    with pytest.raises(MotionError, match="11.0 is above the high limit 10.0"):
        ax.move(11.0)
    assert "READY" in ax.state


def test_tango_axis_names_unreachable_device_and_missing_attribute(tangotest):
    ax = tango_axis(tango_name=tangotest, attribute="no_such_attr")
    with pytest.raises(MotionError, match=f"{ax.name}: Tango device .* has no attribute no_such_attr"):
        ax.move(1.0)
    port = free_port()
    ax = tango_axis(tango_name=f"tango://127.0.0.1:{port}/sys/tg_test/9#dbase=no")
    with pytest.raises(MotionError, match=f"{ax.name}: cannot reach Tango device"):
        ax.position  # noqa: B018
