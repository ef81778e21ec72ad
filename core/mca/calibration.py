"""Energy calibration of the bins: E(i) = offset + gain * i + quadratic * i**2 (keV)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    offset: float = 0.0
    gain: float = 0.01
    quadratic: float = 0.0
    unit: str = "keV"

    @classmethod
    def from_value(cls, value) -> Calibration:
        """From a Calibration, a sequence [offset, gain(, quadratic)] or a mapping with those keys."""
        if isinstance(value, Calibration):
            return value
        if isinstance(value, dict):
            return cls(float(value.get("offset", 0.0)), float(value.get("gain", 0.01)),
                       float(value.get("quadratic", 0.0)), str(value.get("unit", "keV")))
        coeffs = [float(v) for v in value]
        if not 2 <= len(coeffs) <= 3:
            raise ValueError(f"calibration needs [offset, gain] or [offset, gain, quadratic], got {value!r}")
        return cls(*coeffs)

    @property
    def coefficients(self) -> list[float]:
        return [self.offset, self.gain, self.quadratic]

    def check(self, size: int) -> str | None:
        """Why this calibration is unusable on `size` bins (energies must grow), or None."""
        if not all(math.isfinite(c) for c in self.coefficients):
            return "coefficients must be finite numbers"
        e = self.energies(size)
        if size > 1 and not np.all(np.diff(e) > 0):
            return "energy must increase with the bin number over the whole spectrum"
        return None

    def energies(self, size: int) -> np.ndarray:
        """Energy of each of `size` bins."""
        i = np.arange(size, dtype=float)
        return self.offset + self.gain * i + self.quadratic * i * i

    def bin_of(self, energy: float) -> float:
        """The (fractional) bin whose energy is `energy`."""
        if self.quadratic == 0.0:
            return (energy - self.offset) / self.gain
        a, b, c = self.quadratic, self.gain, self.offset - energy
        return (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)

    def as_axis(self, name: str = "energy") -> dict:
        """Channel description of the energy axis of a spectrum (NeXus writers use it)."""
        return {"name": name, "unit": self.unit, "polynomial": self.coefficients}
