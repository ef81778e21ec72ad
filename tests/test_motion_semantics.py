"""BLISS axis semantics on Mockup axes: sign/offset, limits, backlash, SetPosition/SetDial."""

import math

import pytest
from helpers.motion import one_axis, settings_redis  # noqa: F401

from blisstango.core.motion import LimitError, MotionError

pytestmark = pytest.mark.usefixtures("settings_redis")

FAST = dict(velocity=100.0, acceleration=2000.0, steps_per_unit=1000)


@pytest.mark.parametrize("sign, offset, user_target, dial_expected", [
    (1, 0.0, 2.0, 2.0),
    (1, 1.5, 2.0, 0.5),
    (-1, 0.0, 2.0, -2.0),
    (-1, 1.0, 2.0, -1.0),
    (-1, -3.0, -5.0, 2.0),
])
def test_user_is_sign_times_dial_plus_offset(sign, offset, user_target, dial_expected):
    ax = one_axis(sign=sign, offset=offset, **FAST)
    ax.move(user_target)
    assert ax.dial == pytest.approx(dial_expected, abs=1e-9)
    assert ax.position == pytest.approx(user_target, abs=1e-9)
    assert ax.position == pytest.approx(sign * ax.dial + offset, abs=1e-12)


@pytest.mark.parametrize("sign, offset, dial_limits, user_limits", [
    (1, 0.0, (-10.0, 10.0), (-10.0, 10.0)),
    (1, 2.0, (-10.0, 10.0), (-8.0, 12.0)),
    (-1, 0.0, (-10.0, 5.0), (-5.0, 10.0)),
    (-1, 1.0, (-10.0, 5.0), (-4.0, 11.0)),
])
def test_limits_are_kept_in_dial_and_shown_in_user(sign, offset, dial_limits, user_limits):
    ax = one_axis(sign=sign, offset=offset, low_limit=dial_limits[0], high_limit=dial_limits[1], **FAST)
    assert ax.limits == pytest.approx(user_limits)
    ax.limits = user_limits  # writing user limits back gives the same dial limits
    assert ax.dial_limits == pytest.approx(dial_limits)


@pytest.mark.parametrize("target, message", [
    (12.5, "is above the high limit 10.0"),
    (-10.5, "is below the low limit -10.0"),
])
def test_move_outside_limits_is_refused_before_moving(target, message):
    ax = one_axis(low_limit=-10.0, high_limit=10.0, **FAST)
    with pytest.raises(LimitError) as exc:
        ax.move(target)
    assert str(exc.value) == f"{ax.name}: {target} {message}"
    assert ax.position == 0.0 and not ax.is_moving


def test_relative_move_checks_the_resulting_position():
    ax = one_axis(low_limit=-1.0, high_limit=1.0, **FAST)
    ax.rmove(0.75)
    assert ax.position == pytest.approx(0.75)
    with pytest.raises(LimitError, match="1.5 is above the high limit 1.0"):
        ax.rmove(0.75)
    assert ax.position == pytest.approx(0.75)


@pytest.mark.parametrize("backlash, start, target, overshoot", [
    (0.5, 5.0, 2.0, 1.5),    # moving down against a positive backlash: goes below, comes up
    (0.5, 2.0, 5.0, None),   # moving with it: straight
    (-0.5, 2.0, 5.0, 5.5),   # negative backlash: final approach from above
    (-0.5, 5.0, 2.0, None),
])
def test_backlash_final_approach_from_its_side(backlash, start, target, overshoot):
    ax = one_axis(backlash=backlash, velocity=20.0, acceleration=400.0, steps_per_unit=1000)
    ax.move(start)
    trace = []
    ax.position_changed.append(trace.append)
    ax.move(target)
    assert ax.position == pytest.approx(target)
    if overshoot is None:
        assert min(trace) >= min(start, target) - 1e-9 and max(trace) <= max(start, target) + 1e-9
    elif overshoot < target:
        assert min(trace) == pytest.approx(overshoot, abs=1e-6)
    else:
        assert max(trace) == pytest.approx(overshoot, abs=1e-6)


def test_backlash_start_must_be_inside_the_limits():
    ax = one_axis(backlash=1.0, low_limit=0.0, high_limit=10.0, **FAST)
    ax.move(5.0)
    with pytest.raises(LimitError, match="backlash start -0.5 is below the low limit 0.0"):
        ax.move(0.5)
    assert ax.position == pytest.approx(5.0)


@pytest.mark.parametrize("start_dial, command, value, dial, user, offset", [
    (2.0, "SetPosition", 10.0, 2.0, 10.0, 8.0),   # user redefined: offset changes, dial kept
    (2.0, "SetDial", 0.0, 0.0, 2.0, 2.0),         # dial redefined: user kept, offset changes
    (-1.0, "SetPosition", 0.0, -1.0, 0.0, 1.0),
    (3.0, "SetDial", 5.0, 5.0, 3.0, -2.0),
])
def test_set_position_and_set_dial(start_dial, command, value, dial, user, offset):
    ax = one_axis(low_limit=-10.0, high_limit=10.0, **FAST)
    ax.move(start_dial)
    if command == "SetPosition":
        ax.position_to(value)
    else:
        ax.dial_to(value)
    assert (ax.dial, ax.position, ax.offset) == pytest.approx((dial, user, offset))
    # limits live in dial units: the user limits follow the offset
    assert ax.limits == pytest.approx((-10.0 + offset, 10.0 + offset))


def test_sign_change_keeps_user_position():
    ax = one_axis(**FAST)
    ax.move(3.0)
    ax.sign = -1
    assert ax.position == pytest.approx(3.0)
    ax.move(4.0)
    assert ax.dial == pytest.approx(2.0)


@pytest.mark.parametrize("attr, value, message", [
    ("velocity", -1.0, "velocity must be positive, got -1.0"),
    ("velocity", 0.0, "velocity must be positive"),
    ("velocity", math.nan, "velocity nan is not a finite number"),
    ("acceleration", math.inf, "acceleration inf is not a finite number"),
    ("acctime", -0.1, "acctime must be positive"),
    ("sign", 2, "sign must be 1 or -1"),
    ("backlash", math.nan, "backlash nan is not a finite number"),
])
def test_bad_settings_are_refused_with_the_axis_name(attr, value, message):
    ax = one_axis(**FAST)
    before = getattr(ax, attr)
    with pytest.raises(MotionError) as exc:
        setattr(ax, attr, value)
    assert str(exc.value).startswith(f"{ax.name}: ") and message in str(exc.value)
    assert getattr(ax, attr) == before


@pytest.mark.parametrize("target", [math.nan, math.inf, -math.inf, "abc", None])
def test_bad_targets_are_refused(target):
    ax = one_axis(**FAST)
    with pytest.raises(MotionError, match=f"^{ax.name}: target"):
        ax.move(target)
    assert not ax.is_moving


def test_velocity_acceleration_acctime_are_consistent():
    ax = one_axis(velocity=4.0, acceleration=16.0, steps_per_unit=100)
    assert ax.acctime == pytest.approx(0.25)
    ax.acctime = 0.5
    assert ax.acceleration == pytest.approx(8.0) and ax.velocity == 4.0
    ax.velocity = 2.0  # acceleration kept, acctime follows
    assert ax.acceleration == pytest.approx(8.0) and ax.acctime == pytest.approx(0.25)
    assert ax.controller.read_velocity(ax) == pytest.approx(200.0)  # steps/s in hardware
    assert ax.controller.read_acceleration(ax) == pytest.approx(800.0)


def test_limits_refuse_nan_and_inverted():
    ax = one_axis(**FAST)
    with pytest.raises(MotionError, match="is not a number"):
        ax.limits = (math.nan, 1.0)
    with pytest.raises(MotionError, match="low limit 2.0 is above high limit 1.0"):
        ax.limits = (2.0, 1.0)
    ax.limits = (-math.inf, 3.0)
    assert ax.limits == (-math.inf, 3.0)


@pytest.mark.parametrize("sign, steps_per_unit", [(1, 1000), (-1, 1000), (1, -1000), (-1, -1000)])
def test_hardware_limit_direction_with_sign_and_negative_steps(sign, steps_per_unit):
    # a switch at dial +1: the hardware's positive switch if steps_per_unit > 0, else negative
    ax = one_axis(sign=sign, velocity=100.0, acceleration=2000.0, steps_per_unit=steps_per_unit,
                  hw_high_limit=1.0)
    side = "positive" if steps_per_unit > 0 else "negative"
    with pytest.raises(LimitError, match=f"stopped by the {side} hardware limit"):
        ax.move(sign * 3.0)  # dial 3, past the switch
    assert ax.dial == pytest.approx(1.0)
    with pytest.raises(LimitError, match=f"on the {side} hardware limit, cannot move further"):
        ax.move(sign * 2.0)
    ax.move(0.0)  # away from the switch is allowed
    assert ax.dial == pytest.approx(0.0)


def test_relative_move_after_stop_continues_from_where_the_axis_is():
    ax = one_axis(velocity=2.0, acceleration=20.0, steps_per_unit=1000)
    ax.move(10.0, wait=False)
    import gevent

    gevent.sleep(0.3)
    ax.stop()
    here = ax.position
    ax.rmove(0.5)
    assert ax.position == pytest.approx(here + 0.5)
