"""Motion in time on Mockup hardware: durations, stop/abort, jog, home, hardware limits,
encoders, faults, hooks, groups, calc slits, callbacks."""

import time

import gevent
import gevent.monkey
import pytest
from helpers.motion import mockup, one_axis, settings_redis, unique  # noqa: F401

from blisstango.core.motion import (
    EncoderDiscrepancyError,
    Group,
    LimitError,
    MotionError,
    MotionHook,
)
from blisstango.core.motion.mockup import Mockup
from blisstango.core.motion.slits import Slits

pytestmark = pytest.mark.usefixtures("settings_redis")


@pytest.mark.parametrize("distance, velocity, acceleration, expected", [
    (2.0, 4.0, 40.0, 2.0 / 4.0 + 4.0 / 40.0),      # trapezoid: d/v + v/a
    (0.1, 4.0, 10.0, 2 * (0.1 / 10.0) ** 0.5),     # triangle: 2*sqrt(d/a)
])
def test_motion_takes_the_time_velocity_and_acceleration_imply(distance, velocity, acceleration, expected):
    ax = one_axis(velocity=velocity, acceleration=acceleration, steps_per_unit=1000)
    t0 = time.monotonic()
    ax.move(distance)
    took = time.monotonic() - t0
    assert expected * 0.95 <= took <= expected + 0.15
    assert ax.position == pytest.approx(distance)


def test_position_is_readable_during_motion_and_callbacks_fire():
    ax = one_axis(velocity=2.0, acceleration=20.0)
    positions, states = [], []
    ax.position_changed.append(positions.append)
    ax.state_changed.append(lambda s: states.append(str(s)))
    ax.move(1.0, wait=False)
    gevent.sleep(0.3)
    mid = ax.position
    assert 0.1 < mid < 0.9 and ax.is_moving and "MOVING" in ax.state
    ax.wait_move()
    assert states[0] == "MOVING" and states[-1] == "READY"
    assert len(positions) >= 10 and positions[-1] == pytest.approx(1.0)
    assert positions == sorted(positions)


def test_stop_decelerates_but_abort_halts():
    ax = one_axis(velocity=4.0, acceleration=8.0)  # 1 m brake distance at full speed
    ax.move(20.0, wait=False)
    gevent.sleep(0.8)
    at_stop = ax.position
    ax.stop()
    assert ax.position - at_stop == pytest.approx(1.0, abs=0.25)
    assert not ax.is_moving and "READY" in ax.state
    ax.move(0.0, wait=False)
    gevent.sleep(0.8)
    at_abort = ax.position
    ax.abort()
    assert abs(ax.position - at_abort) < 0.15


def test_jog_velocity_changes_while_jogging_and_stops_inside_limits():
    ax = one_axis(velocity=1.0, acceleration=20.0, high_limit=3.0)
    ax.jog(1.0)
    gevent.sleep(0.3)
    p0, t0 = ax.position, time.monotonic()
    gevent.sleep(0.3)
    v1 = (ax.position - p0) / (time.monotonic() - t0)
    ax.jog(2.5)  # faster, while jogging
    gevent.sleep(0.3)
    p1, t1 = ax.position, time.monotonic()
    gevent.sleep(0.3)
    v2 = (ax.position - p1) / (time.monotonic() - t1)
    assert v1 == pytest.approx(1.0, rel=0.15) and v2 == pytest.approx(2.5, rel=0.15)
    ax.wait_move(timeout=5)  # the software limit ends the jog
    assert 2.0 < ax.position <= 3.0


def test_a_jog_stops_at_the_software_limit_even_when_the_process_stalls():
    """The Mockup holds the software limit it is given like a controller's own travel
    limit: a jog ends inside it even when nothing in the process runs for a while (a
    loaded machine), where a guard checking each polling period would be too late."""
    ax = one_axis(velocity=1.0, acceleration=20.0, high_limit=0.5)
    ax.jog(2.0)
    gevent.monkey.get_original("time", "sleep")(0.6)  # the hub is blocked: no greenlet looks at the axis
    ax.wait_move(timeout=5)
    assert ax.position == pytest.approx(0.5, abs=1e-9) and "READY" in ax.state


def test_home_search_sets_the_home_position():
    ax = one_axis(velocity=10.0, acceleration=100.0, home_switch=1.5, home_position=0.0)
    ax.move(3.0)
    ax.home()
    assert ax.dial == pytest.approx(0.0)
    assert "HOME" in ax.state


def test_hardware_limit_stops_motion_with_a_clear_error():
    ax = one_axis(velocity=10.0, acceleration=100.0, hw_high_limit=2.0, high_limit=10.0)
    with pytest.raises(LimitError, match=f"{ax.name}: stopped by the positive hardware limit at 2.0"):
        ax.move(5.0)
    assert "LIMPOS" in ax.state
    with pytest.raises(LimitError, match="on the positive hardware limit"):
        ax.move(3.0)
    ax.move(1.0)  # moving away is allowed
    assert ax.position == pytest.approx(1.0) and "LIMPOS" not in ax.state


def test_encoder_noise_within_tolerance_and_discrepancy_refused():
    enc = unique("enc")
    ctrl = mockup(dict(name=unique(), encoder=f"${enc}", velocity=10.0, acceleration=100.0),
                  encoders=[dict(name=enc, steps_per_unit=50000, tolerance=0.01, noise=0.001)])
    ax = next(iter(ctrl.axes.values()))
    ax.move(1.0)
    assert ax.measured_position == pytest.approx(1.0, abs=0.01)
    readings = {ax.measured_position for _ in range(5)}
    assert len(readings) > 1  # noisy, as encoders are
    ctrl.inject_fault(ax.name, "encoder_slip", 0.2)
    with pytest.raises(EncoderDiscrepancyError, match=f"{ax.name}: encoder {enc} reads"):
        ax.move(2.0)
    assert ax.position == pytest.approx(1.0)


def test_injected_faults():
    ctrl = mockup(dict(velocity=10.0, acceleration=100.0))
    ax = next(iter(ctrl.axes.values()))
    ctrl.inject_fault(ax.name, "fault")
    with pytest.raises(MotionError, match=f"{ax.name}: controller reports FAULT"):
        ax.move(1.0)
    ctrl.clear_faults(ax.name)
    ctrl.inject_fault(ax.name, "stall", 0.5)
    with pytest.raises(MotionError, match="FAULT at 0.5"):
        ax.move(1.0)
    assert "FAULT" in ax.state
    ctrl.clear_faults(ax.name)
    ax.off()
    with pytest.raises(MotionError, match="is OFF"):
        ax.move(1.0)
    ax.on()
    ax.move(1.0)


def test_hooks_run_around_motion_and_can_refuse():
    calls = []

    class Hook(MotionHook):
        refuse = False

        def pre_move(self, motions):
            calls.append(("pre", [m.axis.name for m in motions]))
            if self.refuse:
                raise MotionError("interlock: beam shutter open")

        def post_move(self, motions):
            calls.append(("post", [m.axis.name for m in motions]))

    ax = one_axis(velocity=10.0, acceleration=100.0)
    hook = Hook()
    ax.motion_hooks.append(hook)
    ax.move(0.5)
    assert calls == [("pre", [ax.name]), ("post", [ax.name])]
    hook.refuse = True
    with pytest.raises(MotionError, match="interlock"):
        ax.move(1.0)
    assert ax.position == pytest.approx(0.5) and not ax.is_moving


def test_a_slow_axis_does_not_block_another():
    slow = one_axis(velocity=0.5, acceleration=5.0)
    fast = one_axis(velocity=10.0, acceleration=100.0)
    slow.move(2.0, wait=False)
    t0 = time.monotonic()
    fast.move(1.0)
    assert time.monotonic() - t0 < 1.0 and slow.is_moving
    slow.abort()


def test_group_start_skew_and_combined_state():
    axes = [one_axis(velocity=5.0, acceleration=50.0) for _ in range(3)]  # 3 controllers
    g = Group(*axes)
    g.move({a: 1.0 + i for i, a in enumerate(axes)}, wait=False)
    assert "MOVING" in g.state
    starts = [a.last_motion_start for a in axes]
    assert max(starts) - min(starts) < 0.020
    g.wait_move()
    assert str(g.state) == "READY"
    assert [a.position for a in axes] == pytest.approx([1.0, 2.0, 3.0])


def test_group_refuses_everything_if_one_axis_is_out_of_limits():
    a = one_axis(velocity=10.0, acceleration=100.0)
    b = one_axis(velocity=10.0, acceleration=100.0, high_limit=1.0)
    with pytest.raises(LimitError, match=f"{b.name}: 2.0 is above the high limit 1.0"):
        Group(a, b).move({a: 1.0, b: 2.0})
    assert a.position == 0.0 and b.position == 0.0


def slits():
    ctrl = Mockup(unique("bl"), {}, axes=[
        dict(name=unique("up"), velocity=4.0, acceleration=40.0, low_limit=-5.0, high_limit=5.0),
        dict(name=unique("down"), velocity=4.0, acceleration=40.0, low_limit=-5.0, high_limit=5.0)])
    up, down = ctrl.axes.values()
    sl = Slits(unique("sl"), {}, axes=[dict(name=unique("gap"), tags="vgap"),
                                     dict(name=unique("off"), tags="voffset")],
               reals={"up": up, "down": down})
    gap, off = sl.axes.values()
    return up, down, gap, off


def test_slit_gap_and_offset_move_their_blades():
    up, down, gap, off = slits()
    gap.move(4.0)
    assert (up.position, down.position) == pytest.approx((2.0, 2.0))
    off.move(1.0)
    assert (up.position, down.position) == pytest.approx((3.0, 1.0))
    assert gap.position == pytest.approx(4.0)
    up.move(4.0)
    assert (gap.position, off.position) == pytest.approx((5.0, 1.5))


def test_slit_gap_refused_when_a_blade_would_leave_its_limits():
    up, down, gap, off = slits()
    off.move(2.0)
    with pytest.raises(LimitError) as exc:
        gap.move(8.0)  # up would go to 6.0
    assert f"needs {up.name} at 6.0: {up.name}: 6.0 is above the high limit 5.0" in str(exc.value)
    assert (up.position, down.position) == pytest.approx((2.0, -2.0))


def test_calc_axis_events_follow_its_blades():
    up, down, gap, off = slits()
    seen, states = [], []
    gap.position_changed.append(seen.append)
    gap.state_changed.append(lambda s: states.append(str(s)))
    gap.move(2.0)
    assert seen[-1] == pytest.approx(2.0) and len(seen) > 3
    assert "MOVING" in states and states[-1] == "READY"


def test_group_with_calc_and_real_axes_checks_every_real():
    up, down, gap, off = slits()
    m = one_axis(velocity=10.0, acceleration=100.0)
    with pytest.raises(MotionError, match="driven twice"):
        Group(gap, up).move({gap: 1.0, up: 1.0})
    Group(gap, m).move({gap: 3.0, m: 1.0})
    assert (up.position, down.position, m.position) == pytest.approx((1.5, 1.5, 1.0))


def test_restart_during_a_move_finds_the_motor_where_hardware_took_it():
    name, ctrl_name = unique(), unique("ctrl")
    ctrl = mockup(dict(name=name, velocity=1.0, acceleration=10.0), name=ctrl_name)
    ctrl.axes[name].move(5.0, wait=False)
    gevent.sleep(0.2)
    again = mockup(dict(name=name, velocity=1.0, acceleration=10.0), name=ctrl_name)  # new process
    assert again.axes[name].position == pytest.approx(5.0)  # no teleport back to the start
    ctrl.axes[name].abort()


def test_custom_states_and_shutter():
    from blisstango.core.motion import AxisState

    st = AxisState("READY")
    st.create_state("PARKED", "parked for transport")
    st.set("PARKED")
    assert "PARKED" in st and st.READY and str(st) == "READY PARKED"
    assert "parked for transport" in repr(st)
    st.set("MOVING")
    assert not st.READY and st.MOVING
    ctrl = mockup(dict(), shutters=[dict(name=unique("sh"))])
    sh = next(iter(ctrl.shutters.values()))
    assert sh.state == "CLOSED"
    sh.open()
    assert sh.state == "OPEN"
    sh.close()
    assert sh.state == "CLOSED"


def test_wait_move_reports_the_error_once_and_the_axis_moves_again():
    ctrl = mockup(dict(velocity=10.0, acceleration=100.0, hw_low_limit=-1.0))
    ax = next(iter(ctrl.axes.values()))
    ax.move(-3.0, wait=False)
    with pytest.raises(LimitError, match="negative hardware limit at -1.0"):
        ax.wait_move()
    ax.wait_move()  # reported once
    ax.move(0.5)
    assert ax.position == pytest.approx(0.5)


def test_a_motor_moved_while_unwatched_is_reported_at_init(caplog):
    name, ctrl_name = unique(), unique("ctrl")
    ctrl = mockup(dict(name=name, velocity=10.0, acceleration=100.0), name=ctrl_name)
    ctrl.axes[name].move(1.0)
    ctrl._hw_settings[name]["steps"] = 3.0  # someone turned the motor by hand meanwhile
    again = mockup(dict(name=name, velocity=10.0, acceleration=100.0), name=ctrl_name)
    with caplog.at_level("WARNING", logger="blisstango.motion"):
        assert again.axes[name].position == pytest.approx(3.0)
    assert f"{name}: hardware reports dial 3.0 but the last known dial was 1.0" in caplog.text


def test_a_hook_shared_by_a_group_runs_once_before_and_once_after():
    calls = []

    class Hook(MotionHook):
        def pre_move(self, motions):
            calls.append(("pre", sorted(m.axis.name for m in motions)))

        def post_move(self, motions):
            calls.append(("post", sorted(m.axis.name for m in motions), fast.is_moving))

    a = fast = one_axis(velocity=10.0, acceleration=100.0)
    b = one_axis(velocity=2.0, acceleration=100.0)  # slower: ends last
    hook = Hook()
    a.motion_hooks.append(hook)
    b.motion_hooks.append(hook)
    Group(a, b).move({a: 0.2, b: 1.0})
    names = sorted([a.name, b.name])
    assert calls == [("pre", names), ("post", names, False)]  # after the fast one ended too


def test_a_move_to_where_the_axis_is_starts_no_motion(monkeypatch):
    """A zero-length step (a scan over a fixed position) asks nothing of the hardware and
    shows no MOVING; a move of one step still moves."""
    ax = one_axis(velocity=1.0, acceleration=10.0, steps_per_unit=1000.0)
    ax.move(0.5)
    starts, states = [], []
    start_all = ax.controller.start_all
    monkeypatch.setattr(ax.controller, "start_all", lambda *m: (starts.append(m), start_all(*m)))
    ax.state_changed.append(lambda st: states.append(str(st)))
    Group(ax).move({ax: 0.5})
    ax.move(0.5)
    assert starts == [] and not any("MOVING" in s for s in states)
    assert ax.position == 0.5 and ax.end_position == 0.5 and ax.is_moving is False
    ax.move(0.501)                                  # one step away: a real move
    assert len(starts) == 1 and any("MOVING" in s for s in states)
    assert ax.position == pytest.approx(0.501)
