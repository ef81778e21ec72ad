"""Jog and home: the axis moves with no target of its own (a constant velocity until
stop(), or a search for the home switch), through the same begin/start/monitor path as
a move (core.motion.axis). A mixin of Axis, which it needs for that path."""

from __future__ import annotations

import math
import time

from .errors import LimitError, MotionError
from .motion import Motion, run_pre_hooks
from .motion import finite as _finite


class JogAndHome:
    """Axis's jog and home (see the module docstring)."""

    @property
    def jog_velocity(self) -> float:
        """Signed jog velocity in user units/s (defaults to the velocity)."""
        return self.velocity if self._jog_velocity is None else self._jog_velocity

    @jog_velocity.setter
    def jog_velocity(self, value: float) -> None:
        v = _finite(self.name, "jog velocity", value)
        if v == 0:
            raise MotionError(f"{self.name}: jog velocity must not be 0")
        old = self._jog_velocity
        self._jog_velocity = v
        if self._jogging:
            if old is not None and math.copysign(1, old) != math.copysign(1, v):
                raise MotionError(f"{self.name}: cannot reverse a jog; stop it first")
            direction = int(self._steps_direction(math.copysign(1, v)))
            self.controller.set_jog_velocity(self, abs(v * self.steps_per_unit), direction,
                                             self._jog_stop_steps(v))

    def jog(self, velocity: float | None = None) -> None:
        """Move at constant signed velocity (user units/s) until stop(); returns at once.

        Calling jog again while jogging changes the velocity.
        """
        if velocity is not None and self._jogging:
            self.jog_velocity = velocity
            return
        if velocity is not None:
            self.jog_velocity = velocity
        v = self.jog_velocity
        if self._moving:
            raise MotionError(f"{self.name}: already moving")
        direction = int(math.copysign(1, v))
        low, high = self.limits
        pos = self.position
        if (direction > 0 and pos >= high) or (direction < 0 and pos <= low):
            raise LimitError(f"{self.name}: at {pos}, cannot jog beyond its software limit "
                             f"{high if direction > 0 else low}")
        steps_direction = int(self._steps_direction(direction))
        self._check_can_move(steps_direction)
        m = Motion(self, self.dial, pos, kind="jog")
        m.jog_velocity = abs(v * self.steps_per_unit)
        m.jog_direction = steps_direction
        self._begin(m)
        self._jogging = True
        try:
            run_pre_hooks([m])
            self._hw().start_jog(self, m.jog_velocity, m.jog_direction, self._jog_stop_steps(v))
            if m.started_at is None:
                m.started_at = time.monotonic()
        except BaseException:
            self._jogging = False
            self._abort_begin()
            raise
        self._started(m)

    def home(self, switch: int = 1, wait: bool = True) -> None:
        """Search the home switch; the dial becomes `home_position` if configured."""
        if self._moving:
            raise MotionError(f"{self.name}: already moving")
        self._check_can_move(0)
        m = Motion(self, self.dial, self.position, kind="home")
        self._begin(m)
        try:
            run_pre_hooks([m])
            self._hw().home_search(self, switch)
            m.started_at = time.monotonic()
        except BaseException:
            self._abort_begin()
            raise
        self._started(m)
        if wait:
            self.wait_move()

    def _jog_stop_steps(self, velocity: float) -> float | None:
        """The software limit a jog at this user velocity heads for, in controller steps."""
        low, high = self.limits
        limit = high if velocity > 0 else low
        return self.user2dial(limit) * self.steps_per_unit if math.isfinite(limit) else None

    def _jog_soft_limit_guard(self, pos: float) -> None:
        """A jog has no target: stop it early enough to halt inside the software limits."""
        low, high = self.limits
        v = abs(self._jog_velocity or self.velocity)
        brake = v * v / (2 * self.acceleration) + v * self.polling_time
        direction = math.copysign(1, self._jog_velocity or 1)
        if (direction > 0 and pos + brake >= high) or (direction < 0 and pos - brake <= low):
            self._stop_requested = True
            self.controller.stop_jog(self)
