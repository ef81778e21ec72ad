"""Simulated trajectories end exactly on the commanded step, whatever the start time."""

import random

import pytest

from blisstango.core.motion.profile import ramp_to, trapezoid


def test_rest_to_rest_moves_end_exactly_at_the_target():
    """A stepper stops on the step it was sent to: the end position must not carry the
    float rounding of the segment sums, which depends on the monotonic start time (the
    shell once printed m0 at 0.7499999999999999 after `umvr m0 0.25` from 0.5)."""
    rng = random.Random(7)
    for _ in range(2000):
        t0 = rng.uniform(0, 1e5)
        p0, target = rng.choice([(500.0, 750.0), (1000.0, 500.0), (0.0, 1.0), (-250.0, 2500.0)])
        velocity, acceleration = rng.choice([(5000.0, 50000.0), (100.0, 2000.0), (3.0, 7.0)])
        profile = trapezoid(t0, p0, target, velocity, acceleration)
        assert profile.at(profile.end_time) == (target, 0.0)
        assert profile.at(profile.end_time + 1.0) == (target, 0.0)
        assert profile.end_position == target


def test_a_jog_given_its_travel_limit_halts_exactly_there():
    """A controller holding its own travel limit brakes in time, from any velocity (a jog
    started far away, sped up near the limit, or already inside its braking distance)."""
    for p0, v0, v1, acc, limit in [(0.0, 0.0, 2.0, 20.0, 3.0), (2.5, 1.0, 2.5, 20.0, 3.0),
                                   (0.0, 0.0, -4.0, 8.0, -1.5), (2.99, 0.2, 1.0, 20.0, 3.0)]:
        profile = ramp_to(100.0, p0, v0, v1, acc, stop_at=limit)
        assert profile.end_position == limit and profile.at(profile.end_time + 5) == (limit, 0.0)
        positions = [profile.at(100.0 + k * 0.001)[0] for k in range(5000)]
        assert max(positions) <= limit if v1 > 0 else min(positions) >= limit
    late = ramp_to(0.0, 2.99, 1.0, 1.0, 20.0, stop_at=3.0)  # inside its braking distance: brakes now
    assert late.end_position == pytest.approx(2.99 + 1.0 / 40)
    unlimited = ramp_to(0.0, 0.0, 0.0, 2.0, 20.0)
    assert unlimited.at(100.0) == pytest.approx((200.0 - 0.1, 2.0))
