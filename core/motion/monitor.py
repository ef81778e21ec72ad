"""Watching a motion to its end: see it end within about a millisecond, not a polling period.

A controller answers "moving or not" when asked; asking every `polling_time` (20 ms) made
every step pay up to one whole period after the motor had stopped. A rest-to-rest move
has a known end (velocity, acceleration and distance give the trapezoid; the controller
may tell it better, `Motion.expected_end`), so the watcher:

- while the move should still run, checks the state every `polling_time` (a limit switch,
  a stall or a stop ends a move early; position listeners get their rate; no look that
  would still be reading at the predicted end) and otherwise sleeps until the predicted end (less part of a state read's time, so that the question
  reaches the controller just after it);
- from the predicted end on, checks every END_CHECK_PERIOD (1 ms) for END_CHECK_WINDOW
  (settling of a closed loop, a controller's own rounding), then falls back to
  polling_time: a prediction that was wrong never turns into a 1 kHz poll;
- polls every polling_time when no end can be predicted (jog, home, a stop, a controller
  that owns its velocity and tells no end).

A controller with `pushes_motion_end` calls `motion_ended(axis)` when its hardware reports
the end (an event, a callback): the watcher then reads no state while moving (one safety
read every PUSH_SAFETY_PERIOD, should a notification be lost) and one state once told.

gevent timers wake a little late (about 0.1 ms with the select backend core.green sets;
up to a whole millisecond with libev's default epoll), so the last TIMER_SLACK before the
predicted end is spent yielding to other greenlets rather than on a timer.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import gevent

from .profile import trapezoid

if TYPE_CHECKING:
    from .axis import Axis
    from .motion import Motion
    from .state import AxisState

#: state checks once a predictable move should be over
END_CHECK_PERIOD = 0.001
#: for how long after the predicted end those fine checks go on (then polling_time)
END_CHECK_WINDOW = 0.1
#: the first check aims this long after the predicted end (not a hair before it)
FIRST_CHECK_MARGIN = 0.0001
#: a timer wakes up to about this much late (select backend): the rest is waited by yielding
TIMER_SLACK = 0.0003
#: with a pushing controller, the state is still read this often (a lost notification)
PUSH_SAFETY_PERIOD = 1.0


def predict_end(axis: Axis, motion: Motion) -> float | None:
    """When a rest-to-rest leg should end (time.monotonic()): the controller's word if it
    gave one, else the trapezoid of the axis' velocity and acceleration; None when it
    cannot be known without asking the hardware (jog, home, velocity kept by the hardware)."""
    if motion.expected_end is not None:
        return motion.expected_end
    if motion.kind != "move" or motion.start_dial is None or motion.started_at is None:
        return None
    if axis.controller.hardware_owns_velocity:
        return None  # reading it would cost round trips on every move
    try:
        velocity, acceleration = abs(axis.velocity), abs(axis.acceleration)
    except Exception:  # noqa: BLE001 - no prediction: plain polling
        return None
    if not velocity or not acceleration:
        return None
    return trapezoid(motion.started_at, motion.start_dial, motion.target_dial, velocity, acceleration).end_time


def sleep_until(deadline: float) -> None:
    """Sleep on a timer until TIMER_SLACK before deadline, then yield until it passes."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        gevent.sleep(left - TIMER_SLACK if left > TIMER_SLACK else 0)


class Watcher:
    """Follows one motion leg of one axis until the controller says it is over; `run()`
    returns the last state read (the axis' final state, read once)."""

    def __init__(self, axis: Axis, motion: Motion, end: float | None, home: bool = False) -> None:
        self.axis = axis
        self.motion = motion
        ctrl = axis.controller
        self.read_state = ctrl.home_state if home else ctrl.state
        self.end = end  # predict_end(axis, motion), or None
        #: state reads made (statistics for tests and benches)
        self.reads = 0

    def _read(self) -> AxisState:
        t0 = time.monotonic()
        st = self.read_state(self.axis)
        self.axis._state_read_time = time.monotonic() - t0
        self.reads += 1
        return st

    def _while_moving(self, now: float) -> None:
        """Position listeners and the jog's soft-limit guard, every polling_time."""
        if now >= self._next_report:
            self._next_report = now + self.axis.polling_time
            ax = self.axis
            if ax.position_changed or self.motion.kind == "jog":
                pos = ax.position
                ax._notify_position(pos)
                if self.motion.kind == "jog" and not ax._stop_requested:
                    ax._jog_soft_limit_guard(pos)

    def run(self) -> AxisState:
        # a predicted move is first looked at one polling period in (or at its end)
        self._next_report = time.monotonic() + (self.axis.polling_time if self.end is not None else 0.0)
        if self.axis.controller.pushes_motion_end:
            return self._pushed()
        return self._polled()

    def _polled(self) -> AxisState:
        ax, poll = self.axis, self.axis.polling_time
        end = self.end
        if end is None:
            st = self._read()  # nothing predicted: look at once, then every polling_time
            if "MOVING" not in st:
                return st
            self._while_moving(time.monotonic())
        while True:
            now = time.monotonic()
            if end is not None and ax._stop_requested:
                end = None  # a stop decelerates: the prediction no longer holds
            if end is None:
                gevent.sleep(poll)
            else:
                # the read's question reaches the hardware just after the predicted end
                lead = min(0.4 * ax._state_read_time, poll / 2) - FIRST_CHECK_MARGIN
                if now < end - lead:
                    if self._next_report + 2 * ax._state_read_time > end - lead:
                        # a look (state, position) still running at the predicted end
                        # would hold the end check back by a slow controller's reads
                        self._next_report = end + poll
                    wake = min(end - lead, self._next_report)
                    if wake == end - lead:
                        sleep_until(wake)
                    else:
                        gevent.sleep(wake - now)
                elif now < end + END_CHECK_WINDOW:
                    gevent.sleep(END_CHECK_PERIOD)
                else:
                    end = None  # the prediction was wrong: back to polling
                    gevent.sleep(poll)
            st = self._read()
            if "MOVING" not in st:
                return st
            self._while_moving(time.monotonic())

    def _pushed(self) -> AxisState:
        ax, motion = self.axis, self.motion
        ended = ax._end_told
        last_read = time.monotonic()
        while True:
            now = time.monotonic()
            timeout = last_read + PUSH_SAFETY_PERIOD - now
            if ax.position_changed or motion.kind == "jog":
                timeout = min(timeout, self._next_report - now)
            if ended.wait(max(0.0, timeout)):
                st = self._read()  # the final state, once
                if "MOVING" not in st:
                    return st
                ended.clear()  # told too early: wait for the next word
                last_read = time.monotonic()
                continue
            now = time.monotonic()
            if now - last_read >= PUSH_SAFETY_PERIOD:
                last_read = now
                st = self._read()
                if "MOVING" not in st:
                    return st
            self._while_moving(now)


__all__ = ["Watcher", "predict_end", "sleep_until", "END_CHECK_PERIOD", "END_CHECK_WINDOW"]
