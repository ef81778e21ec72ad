"""BlissAxis / AxisManagerDevice device classes through Tango clients (the AxisManager
server on a BeaconDB): events, limits, bad input, locks, group moves, restart, ApplyConfig/SettingsToConfig."""

import math
import time

import pytest
import tango
from helpers.axis_server import axis_context
from helpers.config_trees import copy_demo
from helpers.motion import forget_settings, settings_redis  # noqa: F401
from helpers.waiting import wait_until

from blisstango.core.beacon.locks import lock
from blisstango.core.config import load_tree

pytestmark = pytest.mark.e2e


@pytest.fixture
def tree(tmp_path, settings_redis):  # noqa: F811
    tree = copy_demo(tmp_path / "beamline")
    forget_settings(settings_redis.url, load_tree(tree).names())
    return tree


@pytest.fixture
def server(tree, settings_redis):  # noqa: F811
    with axis_context(tree, settings_redis.url) as access:
        yield {name.rsplit("/", 1)[-1]: tango.DeviceProxy(a) for name, a in access.items()}


def wait_state(dev, timeout=10.0):
    deadline = time.monotonic() + timeout
    while dev.state() == tango.DevState.MOVING:
        assert time.monotonic() < deadline, f"{dev.name()} still moving"
        time.sleep(0.01)


def desc(exc_info) -> str:
    return exc_info.value.args[0].desc


def test_move_pushes_position_events_and_final_state(server):
    m0 = server["m0"]
    positions, states = [], []
    m0.subscribe_event("Position", tango.EventType.CHANGE_EVENT,
                       lambda e: e.err or positions.append((time.monotonic(), e.attr_value.value)))
    m0.subscribe_event("State", tango.EventType.CHANGE_EVENT,
                       lambda e: e.err or states.append(e.attr_value.value))
    time.sleep(0.3)
    positions.clear()
    t0 = time.monotonic()
    m0.Position = 4.0  # 4 mm at 5 mm/s, 50 mm/s2: 0.8 + 0.1 s
    wait_state(m0)
    took = time.monotonic() - t0
    time.sleep(0.3)
    assert 0.9 * 0.95 <= took <= 0.9 + 0.3
    during = [p for t, p in positions if p < 4.0]
    assert len(during) >= took / 0.1  # at least one per 100 ms of motion
    assert positions[-1][1] == pytest.approx(4.0)
    assert states[-2:] == [tango.DevState.MOVING, tango.DevState.ON]
    assert m0.read_attribute("Position").quality == tango.AttrQuality.ATTR_VALID


def test_position_write_value_is_the_target_of_any_move(server):
    """Position's write value is the axis' last target whoever moved it (a group move
    here, not a write to Position): reads show it, and its change events carry it."""
    m0, mgr = server["m0"], server["demo"]
    mgr.GroupMove(["m0", "0.25"])  # nobody listens yet: no event is pushed, the read alone shows it
    m0.WaitMove()
    read = m0.read_attribute("Position")
    assert (read.value, read.w_value) == (pytest.approx(0.25), pytest.approx(0.25))
    events: list = []
    m0.subscribe_event("Position", tango.EventType.CHANGE_EVENT, lambda e: e.err or events.append(e.attr_value))
    mgr.GroupMove(["m0", "0.5"])

    def final_event():
        return next((v for v in events if v.quality == tango.AttrQuality.ATTR_VALID and v.value == pytest.approx(0.5)),
                    None)

    assert wait_until(final_event, 30, "m0's final Position event").w_value == pytest.approx(0.5)


def test_attribute_properties_show_unit_format_and_limits(server):
    cfg = server["m0"].get_attribute_config("Position")
    assert (cfg.unit, cfg.format) == ("mm", "%.3f")
    assert (float(cfg.alarms.min_alarm), float(cfg.alarms.max_alarm)) == (-10.0, 10.0)
    assert server["m1"].get_attribute_config("Velocity").unit == "deg/s"
    assert server["m0"].Unit == "mm" and server["m0"].Steps_per_unit == 1000
    # the database derives the alarm range from the YAML: a limits setting changes the
    # limits, never the configuration the database serves
    server["m0"].Limits = [-2.0, 3.0]
    assert list(server["m0"].Limits) == [-2.0, 3.0]
    cfg = server["m0"].get_attribute_config("Position")
    assert (float(cfg.alarms.min_alarm), float(cfg.alarms.max_alarm)) == (-10.0, 10.0)


@pytest.mark.parametrize("attr, value, reason, message", [
    ("Position", 12.5, "LimitError", "m0: 12.5 is above the high limit 10.0"),
    ("Position", -11.0, "LimitError", "m0: -11.0 is below the low limit -10.0"),
    ("Position", math.nan, "API_WAttrOutsideLimit", "Position is a NaN or INF value"),  # Tango's own check
    ("Position", math.inf, "API_WAttrOutsideLimit", "Position is a NaN or INF value"),
    ("SetPosition", math.nan, "MotionError", "m0: position nan is not a finite number"),
    ("SetDial", -math.inf, "MotionError", "m0: dial position -inf is not a finite number"),
    ("JogMove", math.nan, "MotionError", "m0: jog velocity nan is not a finite number"),
    ("GroupMove", ["m0", "inf"], "MotionError", "m0: target inf is not a finite number"),
    ("Velocity", -1.0, "MotionError", "m0: velocity must be positive, got -1.0"),
    ("Acceleration", 0.0, "MotionError", "m0: acceleration must be positive, got 0.0"),
    ("Steps_per_unit", 3.0, "API_AttrNotWritable", "Steps_per_unit is not writable"),
    ("Tolerance", 3.0, "API_AttrNotWritable", "Tolerance is not writable"),
    ("Limits", [1.0], "ValueError", "m0: Limits takes 2 values (low, high), got 1"),
])
def test_bad_input_is_a_clear_devfailed_and_the_server_stays_up(server, attr, value, reason, message):
    m0 = server["m0"]
    with pytest.raises(tango.DevFailed) as exc:
        if attr == "GroupMove":
            server["demo"].GroupMove(value)
        elif attr in ("SetPosition", "SetDial", "JogMove"):
            m0.command_inout(attr, value)
        else:
            m0.write_attribute(attr, value)
    assert exc.value.args[0].reason == reason and message in desc(exc)
    m0.ping()
    assert m0.Position == 0.0 and m0.state() == tango.DevState.ON


def test_locked_axis_refuses_moves_from_others_and_names_the_holder(server):
    owner = "ScanServer demo: scan 12"
    with lock("m0", owner=owner):
        with pytest.raises(tango.DevFailed) as exc:
            server["m0"].Position = 1.0
        assert desc(exc) == f"m0: locked by {owner!r}, motion refused"
        with pytest.raises(tango.DevFailed):
            server["demo"].GroupMove(["m0", "1.0"])
        server["demo"].GroupMove([f"@{owner}", "m0", "1.0"])  # the holder names itself
        wait_state(server["m0"])
        # right after the holder's confirmed move, others are still refused at once
        with pytest.raises(tango.DevFailed, match="motion refused"):
            server["demo"].GroupMove(["@ScanServer demo: scan 13", "m0", "2.0"])
        with pytest.raises(tango.DevFailed, match="motion refused"):
            server["m0"].Position = 2.0
    assert server["m0"].Position == pytest.approx(1.0)


def test_calc_move_refused_when_a_blade_is_locked(server):
    with lock("sl_up", owner="alignment macro"):
        with pytest.raises(tango.DevFailed) as exc:
            server["sl_vgap"].Position = 1.0
        assert desc(exc) == "sl_up: locked by 'alignment macro', motion refused"
    assert server["sl_up"].Position == 0.0


def test_group_move_starts_together_and_reports_combined_state(server):
    mgr = server["demo"]
    mgr.GroupMove(["m0", "1.0", "m1", "-2.0", "sl_vgap", "2.0"])
    assert mgr.GroupState([]) == "MOVING"
    assert mgr.GroupStartSkew < 0.020
    deadline = time.monotonic() + 10
    while mgr.GroupState([]) == "MOVING":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert mgr.GroupState(["m0", "m1"]) == "READY"
    assert (server["m0"].Position, server["m1"].Position, server["sl_vgap"].Position) == \
        pytest.approx((1.0, -2.0, 2.0))
    assert server["sl_up"].Position == pytest.approx(1.0)
    assert sorted(mgr.GetAxisList()) == sorted(["m0", "m1", "sl_up", "sl_down", "sl_vgap", "sl_voffset"])


def test_group_move_refused_as_a_whole(server):
    with pytest.raises(tango.DevFailed) as exc:
        server["demo"].GroupMove(["m0", "1.0", "sl_vgap", "12.0"])
    assert "needs sl_up at 6.0: sl_up: 6.0 is above the high limit 5.0" in desc(exc)
    assert server["m0"].Position == 0.0 and server["sl_up"].Position == 0.0
    with pytest.raises(tango.DevFailed, match="not a number"):
        server["demo"].GroupMove(["m0", "abc"])
    with pytest.raises(tango.DevFailed, match="name, position pairs"):
        server["demo"].GroupMove(["m0"])


def test_set_position_set_dial_stop_abort_jog_steps(server):
    m1 = server["m1"]
    m1.SetPosition(10.0)
    assert (m1.Position, m1.Dial_position, m1.Offset) == pytest.approx((10.0, 0.0, 10.0))
    assert list(m1.Limits) == pytest.approx([-170.0, 190.0])
    m1.SetDial(5.0)
    assert (m1.Position, m1.Dial_position, m1.Offset) == pytest.approx((10.0, 5.0, 5.0))
    m1.Step_size = 0.5
    m1.StepUp()
    m1.WaitMove()
    assert m1.Position == pytest.approx(10.5)
    m1.JogMove(20.0)
    time.sleep(0.3)
    m1.JogMove(40.0)  # new velocity while jogging
    time.sleep(0.3)
    m1.Stop()
    wait_state(m1)
    assert m1.Position > 15.0 and m1.state() == tango.DevState.ON


def test_restart_keeps_settings_and_position(tree, settings_redis):  # noqa: F811
    with axis_context(tree, settings_redis.url, axes=("m0",)) as access:
        m0 = tango.DeviceProxy(access["demo/axis/m0"])
        m0.Velocity = 2.5
        m0.Limits = [-4.0, 6.0]
        m0.Position = 1.5
        wait_state(m0)
        m0.Offset = 0.25
    with axis_context(tree, settings_redis.url, axes=("m0",)) as access:
        m0 = tango.DeviceProxy(access["demo/axis/m0"])
        assert (m0.Velocity, m0.Offset, m0.Position, m0.Dial_position) == pytest.approx((2.5, 0.25, 1.75, 1.5))
        assert list(m0.Limits) == pytest.approx([-3.75, 6.25])
        m0.ApplyConfig()
        assert (m0.Velocity, m0.Offset, list(m0.Limits)) == (5.0, 0.0, [-10.0, 10.0])
        assert m0.Position == pytest.approx(1.5)


def test_settings_to_config_writes_yaml_with_comments(server, tree):
    m0 = server["m0"]
    m0.Velocity = 3.25
    m0.SettingsToConfig()
    text = (tree / "motors" / "mockup.yml").read_text()
    assert "velocity: 3.25       # mm/s" in text or ("velocity: 3.25" in text and "# mm/s" in text)
    assert load_tree(tree)["m0"]["velocity"] == 3.25


def test_group_abort_home_on_off_and_wait_move_errors(server):
    mgr = server["demo"]
    mgr.GroupMove(["m0", "9.0", "m1", "170.0"])
    time.sleep(0.3)
    mgr.GroupAbort([])
    wait_state(server["m0"])
    wait_state(server["m1"])  # the group is READY once both have stopped
    assert server["m0"].Position < 9.0 and server["m1"].Position < 170.0
    assert mgr.GroupState([]) == "READY"
    m1 = server["m1"]
    m1.GoHome()
    m1.WaitMove()
    assert m1.Dial_position == pytest.approx(0.0) and m1.state() == tango.DevState.ON
    m1.Off()
    assert m1.state() == tango.DevState.OFF
    with pytest.raises(tango.DevFailed, match="axis is OFF"):
        m1.Position = 1.0
    m1.On()
    assert m1.state() == tango.DevState.ON


def test_an_axis_that_cannot_be_built_stays_up_in_fault_and_says_why(tree, settings_redis):  # noqa: F811
    (tree / "motors" / "broken.yml").write_text(
        "- name: brokenctrl\n  class: Mockup\n  tango:\n    server: demo\n"
        "  axes:\n    - name: mbroken\n      steps_per_unit: 0\n")
    with axis_context(tree, settings_redis.url, axes=("mbroken", "m0")) as access:
        bad = tango.DeviceProxy(access["demo/axis/mbroken"])
        assert bad.state() == tango.DevState.FAULT
        assert "mbroken: steps_per_unit must be finite and non-zero" in bad.status()
        with pytest.raises(tango.DevFailed) as exc:
            bad.Position = 1.0
        assert exc.value.args[0].reason == "AxisInitError" and "steps_per_unit" in desc(exc)
        good = tango.DeviceProxy(access["demo/axis/m0"])
        assert good.state() == tango.DevState.ON


def test_group_move_wait_one_round_trip_for_a_short_step_else_wait_move(server):
    """GroupMoveWait: a step that ends within the wait answers the axes' final positions
    at its end; a longer one answers nothing while still moving (the client then calls WaitMove), at once when
    the motion is predicted to outlast the wait; start errors
    and other owners' locks are refused like GroupMove's."""
    mgr, m0 = server["demo"], server["m0"]
    m0.Velocity, m0.Acceleration = 1000.0, 1e6
    assert list(mgr.GroupMoveWait(([2.0, 0.5], ["", "m0"]))) == [pytest.approx(0.5)]
    assert m0.state() == tango.DevState.ON and m0.Position == pytest.approx(0.5)
    m0.Velocity, m0.Acceleration = 5.0, 50.0
    assert len(mgr.GroupMoveWait(([0.01, 3.0], ["", "m0"]))) == 0  # 0.6 s of motion
    assert m0.state() == tango.DevState.MOVING
    m0.WaitMove()
    assert m0.Position == pytest.approx(3.0)
    # a motion predicted to outlast the wait is answered at once: the caller is not held
    # (waiting those 20 s would exceed the client's 3 s timeout)
    m0.Velocity = 0.05
    assert len(mgr.GroupMoveWait(([20.0, 1.0], ["", "m0"]))) == 0  # 40 s of motion
    assert m0.state() == tango.DevState.MOVING
    m0.Stop()
    m0.WaitMove()
    m0.Velocity = 5.0
    with pytest.raises(tango.DevFailed) as exc:
        mgr.GroupMoveWait(([2.0, 12.5], ["", "m0"]))
    assert exc.value.args[0].reason == "LimitError" and "m0: 12.5 is above the high limit" in desc(exc)
    with lock("m0", owner="ScanServer demo: scan 3"):
        with pytest.raises(tango.DevFailed, match="m0: locked by 'ScanServer demo: scan 3'"):
            mgr.GroupMoveWait(([2.0, 1.0], ["", "m0"]))
        assert list(mgr.GroupMoveWait(([2.0, 1.0], ["ScanServer demo: scan 3", "m0"]))) == [pytest.approx(1.0)]
    assert m0.Position == pytest.approx(1.0)
    with pytest.raises(tango.DevFailed, match="as many positions as names"):
        mgr.GroupMoveWait(([2.0, 1.0, 2.0], ["", "m0"]))
