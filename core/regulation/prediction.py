"""What the plant model predicts for a loop's gains: the same SoftLoop code, the same
plant equations, run on a virtual clock with a noise-free sensor and perfectly periodic
samples. Tests and users compare a real run with it (overshoot, settling time); tuning
is tried here in milliseconds instead of minutes of furnace time."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from blisstango.core.beacon.settings import LocalSettings

from .furnace import FurnaceSimulator
from .io import Input, Output
from .plant import ThermalModel, ThermalPlant
from .softloop import SoftLoop


class VirtualClock:
    """A clock that moves only when told."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@dataclass
class StepResponse:
    """A setpoint step as sampled: times (s from the step), input, output, working setpoint."""

    start: float
    target: float
    times: list[float] = field(default_factory=list)
    inputs: list[float] = field(default_factory=list)
    outputs: list[float] = field(default_factory=list)
    working: list[float] = field(default_factory=list)
    settling_time: float | None = None   # s until the loop is settled (state READY)

    @property
    def overshoot(self) -> float:
        """How far the input went past the target (input units, >= 0)."""
        if not self.inputs:
            return 0.0
        if self.target >= self.start:
            return max(0.0, max(self.inputs) - self.target)
        return max(0.0, self.target - min(self.inputs))

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.start, "target": self.target, "overshoot": self.overshoot,
                "settling_time": self.settling_time, "samples": len(self.times)}


def step_response(model: ThermalModel, loop_config: dict[str, Any], output_config: dict[str, Any],
                  start: float, target: float, duration: float, period_scale: float = 1.0) -> StepResponse:
    """Noise-free response of a SoftLoop (loop_config: BLISS YAML keys) on the plant,
    starting settled at `start`, to a setpoint `target`. period_scale > 1 samples that
    much slower than the loop's frequency (a loaded host)."""
    clock = VirtualClock()
    quiet = replace(model, noise=0.0)
    ctrl = FurnaceSimulator("prediction", {"plant": quiet.as_dict()}, settings_factory=LocalSettings, clock=clock)
    ctrl.plant = ThermalPlant(quiet, clock, temperature=start, power=quiet.steady_power(start))
    sensor = Input(ctrl, {"name": "prediction_in", "unit": "degC"}, settings_factory=LocalSettings)
    heater = Output(ctrl, {"name": "prediction_out", **output_config}, settings_factory=LocalSettings)
    loop = SoftLoop({**loop_config, "name": "prediction"}, sensor, heater, settings_factory=LocalSettings,
                    clock=clock, manual=True)
    loop.limits = (-math.inf, math.inf)
    resp = StepResponse(start, target)
    period = period_scale / loop.sampling_frequency
    loop.setpoint = target
    steps = int(duration / period) + 1
    for _ in range(steps):
        loop.step()
        resp.times.append(clock.t)
        resp.inputs.append(loop.last_input if loop.last_input is not None else math.nan)
        resp.outputs.append(loop.last_output if loop.last_output is not None else math.nan)
        resp.working.append(loop.working_setpoint)
        if resp.settling_time is None and loop.state == "READY":
            resp.settling_time = clock.t
        clock.t += period
    return resp
