"""A setpoint ramp computed from the clock: the working setpoint at any moment is
start + rate * elapsed, clamped at the target. Nothing runs in the background; whoever
needs the value (the PID sample, a read, a hardware-ramp emulation) asks for it."""

from __future__ import annotations

import time
from collections.abc import Callable


class SoftRamp:
    """Working setpoint moving toward `target` at `rate` units/s (rate 0: at once)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._rate = 0.0
        self.target: float | None = None
        self._start_value = 0.0
        self._start_time = 0.0
        self._direction = 0.0

    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, rate: float) -> None:
        """A new rate applies from now on, from where the ramp is."""
        if self.is_ramping():
            now = self.clock()
            value = self.value(now)
            self._rate = float(rate)
            self._begin(value, self.target, now)  # type: ignore[arg-type]
        else:
            self._rate = float(rate)

    def _begin(self, start: float, target: float, now: float) -> None:
        self._start_value, self._start_time, self.target = float(start), now, float(target)
        self._direction = 1.0 if target >= start else -1.0

    def start(self, start: float, target: float) -> None:
        """Ramp from `start` (usually the input) to `target`."""
        self._begin(start if self._rate > 0 else target, target, self.clock())

    def set(self, value: float) -> None:
        """Stand at value, not ramping."""
        self._begin(value, value, self.clock())

    def value(self, now: float | None = None) -> float | None:
        """The working setpoint now (None before any start)."""
        if self.target is None:
            return None
        if self._rate <= 0:
            return self.target
        t = self.clock() if now is None else now
        v = self._start_value + self._direction * self._rate * (t - self._start_time)
        return min(v, self.target) if self._direction > 0 else max(v, self.target)

    def end_time(self) -> float:
        """Clock time the ramp reaches its target."""
        if self.target is None or self._rate <= 0:
            return self._start_time
        return self._start_time + abs(self.target - self._start_value) / self._rate

    def is_ramping(self, now: float | None = None) -> bool:
        if self.target is None or self._rate <= 0:
            return False
        return (self.clock() if now is None else now) < self.end_time()

    def stop(self) -> None:
        """Stay where the ramp is now."""
        value = self.value()
        if value is not None:
            self.set(value)
