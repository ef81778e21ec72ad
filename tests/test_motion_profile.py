"""Simulated trajectories end exactly on the commanded step, whatever the start time."""

import random

from blisstango.core.motion.profile import trapezoid


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
