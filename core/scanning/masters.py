"""The masters standard scans are made of: a timer, a step-motor master and a software
position-triggered continuous master."""

from __future__ import annotations

import time
from collections.abc import Sequence
from time import perf_counter

import gevent
import numpy as np

from ..motion.together import move_together
from .acquisition import AcquisitionMaster


class TimerMaster(AcquisitionMaster):
    """One point per trigger: triggers its slaves, makes the point last count_time, then
    waits sleep_time. Channels timer:elapsed_time (s since the first point), timer:epoch."""

    def __init__(self, count_time: float = 0.0, npoints: int = 1, sleep_time: float = 0.0,
                 name: str = "timer") -> None:
        super().__init__(None, name=name, npoints=npoints)
        if count_time < 0 or sleep_time < 0:
            raise ValueError(f"{name}: count_time {count_time} and sleep_time {sleep_time} must be >= 0")
        self.count_time = float(count_time)
        self.sleep_time = float(sleep_time)
        self._elapsed = self.add_channel(f"{name}:elapsed_time", float, (), "s")
        self._epoch = self.add_channel(f"{name}:epoch", float, (), "s")
        self._t0: float | None = None
        self._epoch0 = 0.0

    def prepare(self) -> None:
        self._t0 = None

    def trigger(self) -> None:
        t = perf_counter()
        if self._t0 is None:
            self._t0 = t
            self._epoch0 = time.time() - t  # epoch = _epoch0 + perf_counter(): one clock read
        elif self.sleep_time:
            gevent.sleep(self.sleep_time)
            t = perf_counter()
        elapsed, epoch = self._elapsed, self._epoch
        if elapsed.listeners or epoch.listeners:
            elapsed.emit(t - self._t0)
            epoch.emit(self._epoch0 + t)
        else:  # two own float channels: the point is two appends
            elapsed.items.append(t - self._t0)
            epoch.items.append(self._epoch0 + t)
        self.trigger_slaves()
        if self.count_time:
            rest = self.count_time - (perf_counter() - t)
            if rest > 0:  # slaves that do not count by themselves still get the full time
                gevent.sleep(rest)


class StepMaster(AcquisitionMaster):
    """Moves axes to the next row of positions at each trigger (several axes together:
    core.motion.together), publishes where they are (axis:<name>), then triggers its
    slaves. stop() stops any motion still running."""

    def __init__(self, axes: Sequence, positions: Sequence[Sequence[float]], name: str = "axis") -> None:
        positions = [np.asarray(p, dtype=float) for p in positions]
        if len(axes) != len(positions) or len({len(p) for p in positions}) != 1:
            raise ValueError(f"{name}: need one position list per axis, all of the same length; got "
                             f"{len(axes)} axes and lengths {[len(p) for p in positions]}")
        super().__init__(None, name=name, npoints=len(positions[0]))
        self.axes = list(axes)
        self.positions = positions
        self._chans = [self.add_channel(f"axis:{ax.name}", float, (), getattr(ax, "unit", None))
                       for ax in self.axes]
        self._index = 0
        #: every position was checked against the limits just before (preflight): prepare
        #: need not ask the axes again (a remote axis: one round trip per check)
        self.limits_checked = False
        self._in_motion = False

    def prepare(self) -> None:
        self._index = 0
        if self.limits_checked:
            return
        for ax, pos in zip(self.axes, self.positions):
            if hasattr(ax, "check_limits"):
                for p in (pos.min(), pos.max()):
                    ax.check_limits(float(p))

    def trigger(self) -> None:
        i = self._index
        self._in_motion = True
        if len(self.axes) == 1:
            self.axes[0].move(float(self.positions[0][i]), wait=True)
        else:  # one request per AxisManager, one synchronized start of local axes
            try:
                move_together([(ax, float(pos[i])) for ax, pos in zip(self.axes, self.positions)], wait=True)
            except BaseException:
                self.stop()
                raise
        self._in_motion = False
        for ax, ch in zip(self.axes, self._chans):
            ch.emit(_where_it_ended(ax))
        self._index += 1
        self.trigger_slaves()

    def stop(self) -> None:
        """Stop the axes if a move of this master may still run (interrupted, failed);
        after a move that ended, nothing to ask."""
        if not self._in_motion:
            return
        for ax in self.axes:
            if _moving(ax):
                ax.stop()
        self._in_motion = False


def _where_it_ended(ax) -> float:
    """The axis' position after the move just made: the one read as it ended when the axis
    keeps it (Axis.end_position: no second hardware read per point), else asked."""
    pos = getattr(ax, "end_position", None)
    return ax.position if pos is None else pos


def _moving(ax) -> bool:
    try:
        return bool(ax.is_moving)
    except AttributeError:
        return "MOVING" in ax.state


class SoftwarePositionTriggerMaster(AcquisitionMaster):
    """Continuous scan: the axis crosses [start, stop] at constant speed (time given) and the
    slaves are triggered each time it passes one of the npoints positions.

    prepare() moves to start minus the acceleration distance, so the speed is constant
    from the first trigger on. A point whose trigger was passed while the slaves were
    still busy is triggered as soon as they are free, and the position published is the
    one read at that moment (never the theoretical one)."""

    def __init__(self, axis, start: float, stop: float, npoints: int, scan_time: float,
                 name: str = "axis", poll_time: float = 0.001) -> None:
        if npoints < 1 or scan_time <= 0:
            raise ValueError(f"{name}: npoints {npoints} must be >= 1 and time {scan_time} > 0")
        super().__init__(None, name=name, npoints=npoints)
        self.axis = axis
        self.start_pos, self.stop_pos, self.scan_time = float(start), float(stop), float(scan_time)
        self.trigger_positions = np.linspace(self.start_pos, self.stop_pos, npoints)
        self.poll_time = poll_time
        self._chan = self.add_channel(f"axis:{axis.name}", float, (), getattr(axis, "unit", None))
        self._velocity0: float | None = None
        self._stop_asked = False

    def iterations(self) -> int:
        return 1  # one trigger of the top master runs the whole motion

    @property
    def velocity(self) -> float:
        return abs(self.stop_pos - self.start_pos) / self.scan_time or 1e-9

    def _margin(self) -> float:
        acc = getattr(self.axis, "acceleration", None)
        return self.velocity ** 2 / (2 * acc) * 1.1 if acc else 0.0

    def prepare(self) -> None:
        self._stop_asked = False
        self._velocity0 = self.axis.velocity
        sign = 1.0 if self.stop_pos >= self.start_pos else -1.0
        self.axis.move(self.start_pos - sign * self._margin(), wait=True)

    def request_stop(self) -> None:
        self._stop_asked = True

    def trigger(self) -> None:
        sign = 1.0 if self.stop_pos >= self.start_pos else -1.0
        self.axis.velocity = self.velocity
        self.axis.move(self.stop_pos + sign * self._margin(), wait=False)
        for target in self.trigger_positions:
            while (self.axis.position - target) * sign < 0:
                if self._stop_asked:
                    self.axis.stop()
                    return
                if not _moving(self.axis):
                    raise RuntimeError(f"continuous scan: {self.axis.name} stopped at {self.axis.position} "
                                       f"before trigger position {target}")
                gevent.sleep(self.poll_time)
            self._chan.emit(self.axis.position)
            self.trigger_slaves()
        self.axis.wait_move()

    def stop(self) -> None:
        if _moving(self.axis):
            self.axis.stop()
        if self._velocity0 is not None:
            self.axis.velocity = self._velocity0
