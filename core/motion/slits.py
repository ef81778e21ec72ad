"""Slits: gap and offset of a slit pair from its two blades (BLISS's slits calc).

Blades are tagged `real up`/`real down` (vertical) and/or `real front`/`real back`
(horizontal); calc axes `vgap`, `voffset`, `hgap`, `hoffset`. Each blade position is
its opening from the beam axis: gap = up + down, offset = (up - down) / 2.
"""

from __future__ import annotations

from .calc import CalcController

PAIRS = {("up", "down"): ("vgap", "voffset"), ("front", "back"): ("hgap", "hoffset")}


class Slits(CalcController):
    def calc_from_real(self, reals: dict[str, float]) -> dict[str, float]:
        out: dict[str, float] = {}
        for (a, b), (gap, off) in PAIRS.items():
            if a in reals and b in reals:
                out[gap] = reals[a] + reals[b]
                out[off] = (reals[a] - reals[b]) / 2.0
        return out

    def calc_to_real(self, calcs: dict[str, float]) -> dict[str, float]:
        out: dict[str, float] = {}
        for (a, b), (gap, off) in PAIRS.items():
            if gap in calcs and off in calcs:
                out[a] = calcs[gap] / 2.0 + calcs[off]
                out[b] = calcs[gap] / 2.0 - calcs[off]
        return out
