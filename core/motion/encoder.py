"""Encoder: an independent position reading of an axis, with a tolerance."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .axis import Axis
    from .controller import Controller


class Encoder:
    """Reads in dial units of its axis: steps / steps_per_unit (its own steps_per_unit)."""

    def __init__(self, name: str, controller: Controller, config: dict) -> None:
        self.name = name
        self.controller = controller
        self.config = dict(config)
        self.steps_per_unit = float(self.config.get("steps_per_unit", 1.0))
        self.tolerance = float(self.config.get("tolerance", 0.0))
        self.axis: Axis | None = None

    def read(self) -> float:
        """Position in dial units."""
        if self.axis is not None:
            self.controller._ensure_axis_init(self.axis)
        return self.controller.read_encoder(self) / self.steps_per_unit

    def set(self, dial: float) -> None:
        self.controller.set_encoder(self, dial * self.steps_per_unit)

    def __repr__(self) -> str:
        return f"<Encoder {self.name} tolerance={self.tolerance}>"
