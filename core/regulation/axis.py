"""The loop as an axis, `<loop>_axis`: its position is the input, a move sets the setpoint
and waits (wait_mode RAMP: the end of the ramp; DEADBAND: the input inside the deadband
for deadband_time), its limits are the setpoint limits, its tolerance the deadband.
Scans move it like any axis (`ascan(sample_temp_axis, 25, 60, 7, 1.0, diode)`)."""

from __future__ import annotations

import math
from typing import Any

from blisstango.core.motion.state import AxisState

from .errors import RegulationError, RegulationValueError

#: loop state -> axis state name
AXIS_STATES = {"READY": "READY", "MOVING": "MOVING", "FAULT": "FAULT", "OFF": "READY"}


def axis_name(loop_name: str) -> str:
    return f"{loop_name}_axis"


class LoopAxis:
    """An in-process Loop seen as an axis."""

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self.name = axis_name(loop.name)
        #: no other axis moves with it
        self.reals: list[Any] = []
        #: Beacon lock owner this process moves the axis for (kept for the caller)
        self.owner: str | None = None

    @property
    def unit(self) -> str | None:
        return self.loop.unit or None

    @property
    def position(self) -> float:
        return float(self.loop.input.read())

    @property
    def limits(self) -> tuple[float, float]:
        return self.loop.limits

    @property
    def tolerance(self) -> float:
        return self.loop.deadband

    @property
    def velocity(self) -> float:
        """The loop's ramprate: how fast the setpoint moves."""
        return self.loop.ramprate

    @velocity.setter
    def velocity(self, value: float) -> None:
        self.loop.ramprate = value

    @property
    def acceleration(self) -> float:
        """A ramp starts at its rate at once."""
        return math.inf

    @acceleration.setter
    def acceleration(self, value: float) -> None:
        raise RegulationValueError(f"{self.name}: a setpoint ramp has no acceleration")

    def check_limits(self, user_pos: float) -> None:
        self.loop.check_setpoint(user_pos)

    def move(self, target: float, wait: bool = True, relative: bool = False) -> None:
        if relative:
            target = self.loop.setpoint + target if self.loop.is_regulating() else self.position + target
        self.loop.setpoint = target
        if wait:
            self.wait_move()

    def rmove(self, delta: float, wait: bool = True) -> None:
        self.move(delta, wait=wait, relative=True)

    def wait_move(self, timeout: float | None = None) -> None:
        if not self.loop.wait(timeout):
            raise RegulationError(f"{self.name}: setpoint {self.loop.setpoint:g} not reached "
                                  f"within {timeout} s")

    @property
    def is_moving(self) -> bool:
        return not self.loop.axis_ready()

    @property
    def state(self) -> AxisState:
        if self.loop.fault:
            return AxisState("FAULT")
        return AxisState("MOVING" if self.is_moving else "READY")

    def stop(self, wait: bool = True) -> None:
        self.loop.stop()

    def abort(self, wait: bool = True) -> None:
        self.loop.abort()

    def __repr__(self) -> str:
        return f"<LoopAxis {self.name}>"
