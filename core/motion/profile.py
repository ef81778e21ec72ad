"""Piecewise constant-acceleration motion profiles: what a stepper's trajectory generator does.

Used by the Mockup controller so that simulated motion takes the time that velocity
and acceleration imply: a trapezoid (or triangle for short moves), a deceleration to
rest for stop, a ramp to a constant velocity for jog.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class Segment:
    t0: float
    p0: float
    v0: float
    a: float
    t1: float  # may be math.inf (jog)

    def at(self, t: float) -> tuple[float, float]:
        dt = max(0.0, min(t, self.t1) - self.t0)
        return self.p0 + self.v0 * dt + 0.5 * self.a * dt * dt, self.v0 + self.a * dt


class Profile:
    """A sequence of segments; position/velocity at any time; monotonic in one direction."""

    def __init__(self, segments: list[Segment], direction: int, end: float | None = None) -> None:
        self.segments = segments
        self.direction = direction
        #: where a rest-to-rest move ends: exactly the commanded target (a trajectory
        #: generator stops on the step it was sent to), not the kinematics' sum of
        #: segments, whose float rounding depends on the start time (749.9999999999999)
        self.end = end

    @property
    def start_time(self) -> float:
        return self.segments[0].t0

    @property
    def end_time(self) -> float:
        return self.segments[-1].t1

    def at(self, t: float) -> tuple[float, float]:
        """(position, velocity) at time t."""
        for seg in self.segments:
            if t < seg.t1:
                return seg.at(t)
        last = self.segments[-1]
        if self.end is not None:
            return self.end, 0.0
        p, _ = last.at(last.t1)
        return p, 0.0 if math.isfinite(last.t1) else last.v0

    @property
    def end_position(self) -> float:
        return self.at(self.end_time)[0]

    def time_at(self, position: float) -> float | None:
        """When the motion first reaches position (None: never); a pushing controller's
        limit switch or stall point is crossed then."""
        for seg in self.segments:
            p1, _ = seg.at(seg.t1) if math.isfinite(seg.t1) else (math.copysign(math.inf, seg.v0), 0.0)
            lo, hi = sorted((seg.p0, p1))
            if not lo <= position <= hi:
                continue
            dx = position - seg.p0
            if seg.a == 0:
                return seg.t0 if dx == 0 else seg.t0 + dx / seg.v0
            disc = seg.v0 * seg.v0 + 2 * seg.a * dx
            roots = [(-seg.v0 + r) / seg.a for r in (math.sqrt(max(disc, 0.0)), -math.sqrt(max(disc, 0.0)))]
            dts = [dt for dt in roots if dt >= -1e-12 and seg.t0 + dt <= seg.t1 + 1e-12]
            if dts:
                return seg.t0 + max(0.0, min(dts))
        return None


def trapezoid(t0: float, p0: float, target: float, vmax: float, acc: float) -> Profile:
    """Rest-to-rest move: duration = distance/vmax + vmax/acc (or 2*sqrt(distance/acc))."""
    dist = abs(target - p0)
    d = 1 if target >= p0 else -1
    if dist == 0:
        return Profile([Segment(t0, p0, 0.0, 0.0, t0)], d)
    t_acc = vmax / acc
    d_acc = 0.5 * acc * t_acc * t_acc
    if 2 * d_acc >= dist:
        t_acc = math.sqrt(dist / acc)
        vpk = acc * t_acc
        p1 = p0 + d * 0.5 * acc * t_acc * t_acc
        return Profile([Segment(t0, p0, 0.0, d * acc, t0 + t_acc),
                        Segment(t0 + t_acc, p1, d * vpk, -d * acc, t0 + 2 * t_acc)], d, end=target)
    t_const = (dist - 2 * d_acc) / vmax
    p1 = p0 + d * d_acc
    p2 = p1 + d * (dist - 2 * d_acc)
    t1, t2 = t0 + t_acc, t0 + t_acc + t_const
    return Profile([Segment(t0, p0, 0.0, d * acc, t1),
                    Segment(t1, p1, d * vmax, 0.0, t2),
                    Segment(t2, p2, d * vmax, -d * acc, t2 + t_acc)], d, end=target)


def decelerate(t0: float, p0: float, v0: float, acc: float) -> Profile:
    """From velocity v0 to rest at deceleration acc."""
    d = 1 if v0 >= 0 else -1
    t = abs(v0) / acc
    return Profile([Segment(t0, p0, v0, -d * acc, t0 + t)], d)


def ramp_to(t0: float, p0: float, v0: float, v1: float, acc: float, stop_at: float | None = None) -> Profile:
    """From velocity v0 to a constant v1 (same sign), held forever: a jog; with stop_at
    (a controller's own travel limit ahead) it decelerates in time to halt there."""
    d = 1 if v1 >= 0 else -1
    a = acc if v1 >= v0 else -acc
    t = abs(v1 - v0) / acc
    p1 = p0 + v0 * t + 0.5 * a * t * t
    if stop_at is None:
        return Profile([Segment(t0, p0, v0, a, t0 + t), Segment(t0 + t, p1, v1, 0.0, math.inf)], d)
    brake = v1 * v1 / (2 * acc)
    room = (stop_at - p1) * d - brake  # cruise length left once at v1
    if room >= 0:
        t2 = t0 + t + room / abs(v1)
        p2 = stop_at - d * brake
        return Profile([Segment(t0, p0, v0, a, t0 + t), Segment(t0 + t, p1, v1, 0.0, t2),
                        Segment(t2, p2, v1, -d * acc, t2 + abs(v1) / acc)], d, end=stop_at)
    # too close to reach v1: up (or down) to the speed from which acc halts at stop_at
    s0 = abs(v0)
    peak2 = acc * (stop_at - p0) * d + s0 * s0 / 2
    if peak2 < s0 * s0:  # already inside the braking distance: brake now
        return decelerate(t0, p0, v0, acc)
    peak = math.sqrt(peak2)
    ta = (peak - s0) / acc
    pa = p0 + v0 * ta + 0.5 * d * acc * ta * ta
    return Profile([Segment(t0, p0, v0, d * acc, t0 + ta),
                    Segment(t0 + ta, pa, d * peak, -d * acc, t0 + ta + peak / acc)], d, end=stop_at)
