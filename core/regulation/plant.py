"""A furnace as physics: a heater (0-100 % of its maximum power) on a thermal mass that
loses heat to the ambient, seen by a sensor through a transport delay, with noise.

    C dT/dt = P(t - delay) - h (T - T_ambient)

Between two power changes the equation is solved exactly (an exponential towards the
steady temperature), so the state is advanced only when somebody looks: no background
task, no integration error, the same answer at 1 Hz or 1 kHz of reading. A PID badly
tuned for this first-order-plus-dead-time plant oscillates; a good one settles.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class ThermalModel:
    """Parameters of the furnace (YAML `plant:` block of a FurnaceSimulator)."""

    heat_capacity: float = 10.0   # J/K of the heated mass
    loss: float = 2.0             # W/K lost to the ambient
    max_power: float = 200.0      # W at 100 % heater output
    ambient: float = 25.0         # degC
    delay: float = 0.2            # s between heater and sensor (transport delay)
    noise: float = 0.02           # degC rms of the sensor noise

    @classmethod
    def from_config(cls, cfg: dict[str, Any] | None) -> ThermalModel:
        cfg = dict(cfg or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ValueError(f"unknown plant parameter(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        model = cls(**{k: float(v) for k, v in cfg.items()})
        for name in ("heat_capacity", "loss", "max_power"):
            if not getattr(model, name) > 0:
                raise ValueError(f"plant {name} must be > 0, got {getattr(model, name)}")
        if model.delay < 0 or model.noise < 0:
            raise ValueError(f"plant delay and noise must be >= 0, got {model.delay} and {model.noise}")
        return model

    @property
    def time_constant(self) -> float:
        """s: C / h."""
        return self.heat_capacity / self.loss

    @property
    def gain(self) -> float:
        """degC of steady-state rise per % of heater output."""
        return self.max_power / 100.0 / self.loss

    def steady_temperature(self, percent: float) -> float:
        return self.ambient + percent * self.gain

    def steady_power(self, temperature: float) -> float:
        """% of heater output that holds `temperature`."""
        return (temperature - self.ambient) / self.gain

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class SensorDisconnected(OSError):
    """The simulated sensor's cable is unplugged."""


class ThermalPlant:
    """The furnace's state over time. `clock` is monotonic seconds (a test's virtual clock
    or time.monotonic); set_power/temperature may be called at any rate."""

    def __init__(self, model: ThermalModel, clock: Callable[[], float] = time.monotonic,
                 temperature: float | None = None, power: float = 0.0, seed: int | None = None) -> None:
        self.model = model
        self.clock = clock
        self._rng = random.Random(seed)
        now = clock()
        self._t = now
        self._temp = model.ambient if temperature is None else float(temperature)
        self._power = self._clamp(power)
        # heater changes not yet felt by the mass: (time the mass feels it, percent)
        self._pending: deque[tuple[float, float]] = deque()
        self._felt = self._power  # power heating the mass now
        self.connected = True

    @staticmethod
    def _clamp(percent: float) -> float:
        return min(100.0, max(0.0, float(percent)))

    # -- heater ---------------------------------------------------------------------------
    @property
    def power(self) -> float:
        """% the heater is set to (what the mass will feel `delay` s from its change)."""
        return self._power

    def set_power(self, percent: float) -> float:
        p = self._clamp(percent)
        now = self.clock()
        self._advance(now)
        if p != self._power:
            self._power = p
            if self.model.delay > 0:
                self._pending.append((now + self.model.delay, p))
            else:
                self._felt = p
        return p

    # -- the mass and its sensor ---------------------------------------------------------
    def _relax(self, dt: float, percent: float) -> None:
        if dt <= 0:
            return
        target = self.model.steady_temperature(percent)
        self._temp = target + (self._temp - target) * math.exp(-dt / self.model.time_constant)

    def _advance(self, now: float) -> None:
        """Solve the equation from the last time looked at to now, piece by piece."""
        if now <= self._t:
            return
        while self._pending and self._pending[0][0] <= now:
            at, percent = self._pending.popleft()
            self._relax(at - self._t, self._felt)
            self._t = max(self._t, at)
            self._felt = percent
        self._relax(now - self._t, self._felt)
        self._t = now

    def temperature(self) -> float:
        """True temperature of the mass now (no noise)."""
        self._advance(self.clock())
        return self._temp

    def read_sensor(self) -> float:
        """What the sensor reads now: the temperature plus gaussian noise."""
        if not self.connected:
            raise SensorDisconnected("sensor disconnected (no signal on its input)")
        t = self.temperature()
        return t + self._rng.gauss(0.0, self.model.noise) if self.model.noise else t

    # -- persistence (the hardware outlives the process that simulates it) --------------
    def snapshot(self) -> dict[str, float]:
        """State to persist: temperature and heater power at a wall-clock time."""
        return {"temperature": self.temperature(), "power": self._power, "time": time.time()}

    def restore(self, snap: dict[str, Any]) -> None:
        """Take up a persisted state: the heater kept its power while nobody simulated it
        (real hardware does), so the mass went on towards that power's steady temperature."""
        self._temp = float(snap["temperature"])
        self._power = self._felt = self._clamp(snap.get("power", 0.0))
        self._pending.clear()
        self._t = self.clock()
        elapsed = max(0.0, time.time() - float(snap.get("time", time.time())))
        self._relax(elapsed, self._felt)
