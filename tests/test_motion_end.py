"""The end of a motion is seen at once, not one polling period later (issue 20).

Every step of a 50-point scan whose moves last a known time (30 ms of trapezoid) is
counted at most a fraction of the polling period after the motor physically stopped,
whether the controller reports when its trajectory ends, the axis predicts it from
velocity and acceleration, the motor settles a while after its trajectory, or the
controller pushes the end. The polling period is set to 0.5 s, so the bound (half of it)
is far from what a loaded machine adds (stalls of 100 ms were seen); the figures are in
bench/motion_end_bench.py. A controller whose end cannot be known is still polled, and
then some step is late by more than that bound: the measurement can tell the two apart.
"""

from __future__ import annotations

import math
import time

import gevent
import pytest

from blisstango.core.beacon.settings import LocalSettings
from blisstango.core.counters import SamplingCounter, SamplingCounterController
from blisstango.core.motion import LimitError
from blisstango.core.motion.mockup import Mockup
from blisstango.core.motion.profile import trapezoid
from blisstango.core.scanning import ScanContext
from blisstango.core.scanning.scans import ascan

POLLING = 0.5
STEP = 0.1  # mm
#: a 0.1 mm step at this acceleration is a 30 ms triangle (2 * sqrt(d / a))
ACCELERATION = 4 * STEP / 0.030 ** 2
VELOCITY = 50.0


def stepper(name: str, **controller_keys) -> Mockup:
    """A simulated stepper whose 0.1 mm steps last 30 ms, polled every 0.5 s."""
    axis = {"name": name, "steps_per_unit": 10000, "velocity": VELOCITY, "acceleration": ACCELERATION,
            "polling_time": POLLING, "low_limit": -100.0, "high_limit": 100.0, "hw_high_limit": 5.0}
    return Mockup(f"{name}_ctrl", controller_keys, axes=[axis], settings_factory=LocalSettings)


class Lateness(SamplingCounterController):
    """Counts, at every point, how long ago the axis' motor stopped (s)."""

    def __init__(self, ctrl: Mockup, axis) -> None:
        super().__init__("late")
        self.ctrl, self.axis = ctrl, axis
        SamplingCounter("since_end", self)

    def read_all(self, *counters):
        return [time.monotonic() - self.ctrl.ended_at(self.axis)]


class PolledOnly(Mockup):
    """A controller that keeps its velocity to itself and tells no end: polled."""

    hardware_owns_velocity = True


def scan_lateness(ctrl: Mockup, intervals: int = 49) -> list[float]:
    ax = next(iter(ctrl.axes.values()))
    ax.position  # noqa: B018 - initialises the axis
    counter = Lateness(ctrl, ax)
    scan = ascan(ax, 0.0, intervals * STEP, intervals, 0.0, counter, context=ScanContext("motion_end"),
                 save=False)
    late = list(scan.get_data("since_end"))
    assert len(late) == intervals + 1 and ax.position == pytest.approx(intervals * STEP)
    return late[1:]  # the first point is the move to the start


@pytest.mark.parametrize("keys", [
    {},                                    # the Mockup tells when its trajectory ends
    {"report_end": False},                 # the axis predicts it (velocity, acceleration)
    {"settling_time": 0.004},              # 4 ms in-position settling after the trajectory
    {"push_end": True},                    # the controller signals the end itself
    {"push_end": True, "settling_time": 0.004},
], ids=["reported", "predicted", "settling", "pushed", "pushed-settling"])
def test_every_step_of_a_scan_is_counted_right_after_the_motor_stops(keys):
    late = scan_lateness(stepper("end_seen", **keys))
    assert max(late) < POLLING / 2, [round(x * 1e3, 2) for x in late]
    assert min(late) >= 0


def test_a_controller_that_tells_no_end_is_polled_and_some_step_shows_it():
    ctrl = PolledOnly("polled_ctrl", {"report_end": False}, axes=[{
        "name": "polled", "steps_per_unit": 10000, "polling_time": POLLING}], settings_factory=LocalSettings)
    ax = ctrl.axes["polled"]
    ax.acceleration, ax.velocity = ACCELERATION, VELOCITY  # kept by the "hardware"
    late = scan_lateness(ctrl, intervals=3)
    # first look at the start, the next one polling_time later: 470 ms after a 30 ms step
    assert max(late) > POLLING / 2


def test_the_axis_predicts_the_trapezoid_the_controller_runs():
    ctrl = stepper("predict", report_end=False)
    ax = ctrl.axes["predict"]
    ax.position  # noqa: B018
    motion = ax.prepare_motion(1.0)
    from blisstango.core.motion import start_motions
    from blisstango.core.motion.monitor import predict_end

    start_motions([motion])
    expected = trapezoid(motion.started_at, 0.0, 1.0, VELOCITY, ACCELERATION).end_time
    assert motion.expected_end is None  # the controller told nothing
    assert predict_end(ax, motion) == pytest.approx(expected, abs=1e-9)
    ax.wait_move()
    assert ctrl.ended_at(ax) == pytest.approx(expected, abs=1e-6)


def test_a_pushing_controller_is_not_polled_while_it_moves():
    ctrl = stepper("pushed", push_end=True)
    ax = ctrl.axes["pushed"]
    ax.position  # noqa: B018
    reads = []
    state = ctrl.state
    ctrl.state = lambda axis: reads.append(time.monotonic()) or state(axis)
    ax.polling_time = 0.02
    ax.move(4.9)  # 0.3 s of motion: 15 polling periods
    assert len(reads) == 2  # _check_can_move before the start, the final state once told
    assert ax.position == pytest.approx(4.9)


@pytest.mark.parametrize("keys", [{}, {"push_end": True}], ids=["polled", "pushed"])
def test_limit_switch_stop_and_jog_still_end_with_a_predicted_or_pushed_end(keys):
    ctrl = stepper("ends", **keys)
    ax = ctrl.axes["ends"]
    ax.position  # noqa: B018
    with pytest.raises(LimitError, match="stopped by the positive hardware limit at 5.0"):
        ax.move(6.0)  # the prediction (6) is wrong: the switch at 5 ends it first
    assert "LIMPOS" in ax.state
    ax.move(4.9)
    ax.move(-4.9, wait=False)
    gevent.sleep(0.1)
    ax.stop()  # a stop decelerates: the predicted end no longer holds
    assert not ax.is_moving and -4.9 < ax.position < 4.9
    ax.jog(-5.0)
    gevent.sleep(0.1)
    ax.stop()
    assert not ax.is_moving and "READY" in ax.state
    assert math.isfinite(ax.position)


def test_position_listeners_keep_their_rate_while_the_axis_sleeps_to_the_end():
    ctrl = stepper("rate", push_end=False)
    ax = ctrl.axes["rate"]
    ax.polling_time = 0.02
    ax.position  # noqa: B018
    seen = []
    ax.position_changed.append(lambda p: seen.append(time.monotonic()))
    t0 = time.monotonic()
    ax.move(4.9)  # 0.3 s
    took = time.monotonic() - t0
    # one report every polling_time while moving (a loaded machine can only make it fewer
    # reports, never more), plus the final one
    assert 3 <= len(seen) <= took / 0.02 + 2
    assert seen == sorted(seen)
