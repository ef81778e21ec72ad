"""The sample in the beam: element spots over two axes of the beamline, on a matrix that
scatters the beam.

Each spot is a 2-D gaussian of one element; its `rate` is the fluorescence count rate
(photons/s on one detector element at full beam intensity) at its centre. The matrix
scatters `scatter_rate` photons/s everywhere (elastic + Compton, 2 : 3) and the
electronics add a flat `background_rate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .lines import LINES


@dataclass(frozen=True)
class Spot:
    element: str
    x: float
    y: float
    fwhm: float = 0.5     # spot size, in the axes' unit
    rate: float = 1.0e5   # photons/s at the centre

    def __post_init__(self) -> None:
        if self.element not in LINES:
            raise ValueError(f"spot at ({self.x}, {self.y}): unknown element {self.element!r}; "
                             f"known: {', '.join(LINES)}")
        if self.fwhm <= 0 or self.rate < 0:
            raise ValueError(f"{self.element} spot at ({self.x}, {self.y}): fwhm {self.fwhm} must be > 0 and "
                             f"rate {self.rate} >= 0")

    def rate_at(self, x: float, y: float) -> float:
        d2 = (x - self.x) ** 2 + (y - self.y) ** 2
        return self.rate * math.exp(-4 * math.log(2) * d2 / self.fwhm ** 2)


@dataclass
class SampleMap:
    axes: tuple[str, str] | None   # names of the axes the sample sits on (x, y)
    spots: list[Spot]
    scatter_rate: float = 2.0e3
    background_rate: float = 50.0

    @classmethod
    def from_config(cls, cfg: dict | None) -> SampleMap:
        cfg = dict(cfg or {})
        axes = cfg.get("axes")
        if axes is not None:
            axes = tuple(str(getattr(a, "name", a)).lstrip("$") for a in axes)
            if len(axes) != 2:
                raise ValueError(f"sample axes must be two axis names, got {cfg.get('axes')!r}")
        spots = [Spot(str(s["element"]), float(s["x"]), float(s["y"]), float(s.get("fwhm", 0.5)),
                      float(s.get("rate", 1.0e5))) for s in cfg.get("spots", [])]
        return cls(axes, spots, float(cfg.get("scatter_rate", 2.0e3)), float(cfg.get("background_rate", 50.0)))

    @property
    def elements(self) -> list[str]:
        """Elements of the spots, in first-seen order."""
        return list(dict.fromkeys(s.element for s in self.spots))

    def element_rates(self, x: float | None, y: float | None) -> dict[str, float]:
        """Fluorescence rate of each element at (x, y); nothing when the position is unknown."""
        out = dict.fromkeys(self.elements, 0.0)
        if x is None or y is None:
            return out
        for s in self.spots:
            out[s.element] += s.rate_at(x, y)
        return out
