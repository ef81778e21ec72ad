"""Where the simulator learns the sample position and the beam intensity: axes served
through TANGO_HOST are followed by core.motion.positions.AxisPositions (the one follower,
shared with the Lima simulator); `FixedPositions` is for tests and for simulators
without axes."""

from __future__ import annotations


class FixedPositions:
    """Positions set by hand (tests, a simulator used in a Python session)."""

    def __init__(self, values: dict[str, float] | None = None) -> None:
        self.values = dict(values or {})

    def get(self, name: str) -> float | None:
        return self.values.get(name)

    def close(self) -> None:
        pass
