"""Simulation counters: the value follows a curve of an axis position, with noise, so
alignment scans of a mockup axis find a real peak."""

from __future__ import annotations

import math

import numpy as np

from .sampling import SamplingCounter, SamplingCounterController, SamplingMode

CURVES = ("gaussian", "linear", "flat")


class SimulationCounterController(SamplingCounterController):
    """Reads simulation counters; counters sharing it are read once per sample together."""

    _shared: dict[str, SimulationCounterController] = {}
    read_yields = False  # values computed in process: several are read in turn, no greenlet each

    @classmethod
    def shared(cls, name: str = "simulation") -> SimulationCounterController:
        ctrl = cls._shared.get(name)
        if ctrl is None:
            ctrl = cls._shared[name] = cls(name)
        return ctrl

    def read_all(self, *counters: SimulationCounter) -> list[float]:
        return [c.read() for c in counters]


class SimulationCounter(SamplingCounter):
    """gaussian: background + height * exp(-4 ln2 (x - center)^2 / fwhm^2);
    linear: background + slope * (x - center); flat: background.
    noise is relative: the value is multiplied by (1 + noise * N(0, 1))."""

    def __init__(self, name: str, axis=None, curve: str = "gaussian", center: float = 0.0, fwhm: float = 1.0,
                 height: float = 1.0, background: float = 0.0, slope: float = 1.0, noise: float = 0.0,
                 unit: str | None = None, mode=SamplingMode.MEAN,
                 controller: SimulationCounterController | None = None, seed: int | None = None) -> None:
        if curve not in CURVES:
            raise ValueError(f"simulation counter {name}: curve {curve!r} is not one of {CURVES}")
        if curve == "gaussian" and fwhm <= 0:
            raise ValueError(f"simulation counter {name}: fwhm {fwhm} must be > 0")
        if axis is None and curve != "flat":
            raise ValueError(f"simulation counter {name}: curve {curve!r} needs an axis")
        super().__init__(name, controller or SimulationCounterController.shared(), mode=mode, unit=unit)
        self.axis = axis
        self.curve = curve
        self.center, self.fwhm, self.height = float(center), float(fwhm), float(height)
        self.background, self.slope, self.noise = float(background), float(slope), float(noise)
        self._rng = np.random.default_rng(seed)

    def value_at(self, x: float) -> float:
        """Noise-free value of the curve at axis position x."""
        if self.curve == "gaussian":
            return self.background + self.height * math.exp(-4 * math.log(2) * (x - self.center) ** 2
                                                            / self.fwhm ** 2)
        if self.curve == "linear":
            return self.background + self.slope * (x - self.center)
        return self.background

    def read(self) -> float:
        x = self.axis.position if self.axis is not None else 0.0
        value = self.value_at(x)
        if self.noise:
            value *= 1.0 + self.noise * self._rng.standard_normal()
        return value
