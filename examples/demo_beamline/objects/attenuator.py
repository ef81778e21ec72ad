"""A beamline's own small controller: a box of filters moved in and out of the beam.

Simulated hardware: each filter's pneumatic actuator takes `travel_time` to move; the
transmission follows Beer-Lambert with the filter material's attenuation coefficient,
scaled as E^-3 with the beam energy. Served by the ObjectServer (`tango: {export:
true}` in objects.yml): its properties become attributes, its methods commands, typed
from the annotations below; it announces `transmission` and `inserted` as they change.
"""

from __future__ import annotations

import itertools
import math
import time

from blisstango.core.objects.announce import announce


class AttenuatorBox:
    """Filters of one material, each in or out of the beam."""

    def __init__(self, name: str, config: dict) -> None:
        self.name = name
        self.material = str(config.get("material", "Al"))
        self.thicknesses = [float(t) for t in config["filters"]]          # mm
        self.mu_reference = float(config.get("mu", 7.3))                   # 1/mm at the reference energy
        self.energy_reference = float(config.get("reference_energy", 12.4))  # keV
        self.travel_time = float(config.get("travel_time", 0.1))           # s per move
        self._energy = float(config.get("energy", self.energy_reference))
        self._inserted = [False] * len(self.thicknesses)

    # ---------------------------------------------------------------- state
    @property
    def inserted(self) -> list[bool]:
        """Which filters are in the beam."""
        return list(self._inserted)

    @property
    def thickness(self) -> float:
        """Total thickness in the beam (mm)."""
        return sum(t for t, i in zip(self.thicknesses, self._inserted) if i)

    @property
    def energy(self) -> float:
        """Beam energy (keV) the transmission is computed for."""
        return self._energy

    @energy.setter
    def energy(self, value: float) -> None:
        if not 0 < value < math.inf:
            raise ValueError(f"{self.name}: energy {value} keV must be a positive finite number")
        self._energy = float(value)
        announce(self, "transmission", self.transmission)

    @property
    def transmission(self) -> float:
        """Fraction of the beam that passes the inserted filters."""
        return math.exp(self._log_transmission(self._inserted))

    def _log_transmission(self, inserted) -> float:
        """ln(transmission) = -mu x thickness: in log space, so that a transmission too
        small for a float (low energy, thick filters) still compares (-inf at worst)."""
        thickness = sum(t for t, i in zip(self.thicknesses, inserted) if i)
        if thickness == 0:
            return 0.0
        try:
            mu = self.mu_reference * (self.energy_reference / self._energy) ** 3
        except OverflowError:
            return -math.inf
        return -mu * thickness

    # ---------------------------------------------------------------- actions
    def insert(self, index: int) -> None:
        """Move filter `index` into the beam."""
        self._move({index: True})

    def remove(self, index: int) -> None:
        """Move filter `index` out of the beam."""
        self._move({index: False})

    def set_transmission(self, target: float) -> float:
        """Insert the filters whose transmission is closest to target; the one reached."""
        if not 0 < target <= 1:
            raise ValueError(f"{self.name}: transmission {target} must be in (0, 1]")
        best = min(itertools.product((False, True), repeat=len(self.thicknesses)),
                   key=lambda combo: abs(self._log_transmission(combo) - math.log(target)))
        self._move(dict(enumerate(best)))
        return self.transmission

    def _move(self, wanted: dict[int, bool]) -> None:
        for index in wanted:
            if not 0 <= index < len(self.thicknesses):
                raise ValueError(f"{self.name}: no filter {index} (filters 0..{len(self.thicknesses) - 1})")
        if any(self._inserted[i] != v for i, v in wanted.items()):
            time.sleep(self.travel_time)          # the actuators travel together
            for i, v in wanted.items():
                self._inserted[i] = v
            announce(self, "inserted", self.inserted)
            announce(self, "transmission", self.transmission)
