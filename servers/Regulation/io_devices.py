"""Input and Output devices: a sensor and an actuator of the regulation (`value` is what
trends plot, pushed as change events)."""

from __future__ import annotations

import math
from typing import Any

from tango import AttrWriteType, DevState
from tango.server import attribute, command

from blisstango.core import regulation as reg

from ..errors import devfailed
from .base import RegulationObject

RW = AttrWriteType.READ_WRITE


def _opt(value: float | None) -> float:
    return math.nan if value is None else float(value)


class Input(RegulationObject):
    """A sensor: `value` in its unit; State ON, FAULT when the sensor says so or fails."""

    expected = reg.Input
    trend_attributes = ("value",)

    def trend_values(self) -> dict[str, Any]:
        return {"value": self.obj.read()}

    def dev_state(self) -> DevState:
        if self.obj is None:
            return DevState.FAULT
        try:
            state = self.obj.state()
            self.obj.read()
        except Exception as exc:  # noqa: BLE001 - the reason is the status
            self.set_status(f"{self.obj.name}: {exc}")
            return DevState.FAULT
        self.set_status(f"{self.obj.name}: {state}")
        return DevState.FAULT if state == "FAULT" else DevState.ON

    def dev_status(self) -> str:
        if self.obj is None:
            return self.init_error
        self.dev_state()
        return self.get_status()

    @attribute(dtype=float, doc="the sensor's value now")
    @devfailed
    def value(self) -> float:
        return self.obj.read()

    @attribute(dtype=bool)
    @devfailed
    def allow_regulation(self) -> bool:
        return self.obj.allow_regulation()


class Output(RegulationObject):
    """An actuator: `value` now, `set_value` to send one (clamped to the limits, at the
    ramprate), `safe_value` where it goes when regulation stops or fails."""

    expected = reg.Output
    trend_attributes = ("value",)

    def trend_values(self) -> dict[str, Any]:
        return {"value": self.obj.read()}

    def dev_state(self) -> DevState:
        if self.obj is None:
            return DevState.FAULT
        try:
            state = self.obj.state()
            ramping = self.obj.is_ramping()
        except Exception as exc:  # noqa: BLE001
            self.set_status(f"{self.obj.name}: {exc}")
            return DevState.FAULT
        self.set_status(f"{self.obj.name}: {state}" + (" (ramping)" if ramping else ""))
        if state == "FAULT":
            return DevState.FAULT
        return DevState.MOVING if ramping else DevState.ON

    def dev_status(self) -> str:
        if self.obj is None:
            return self.init_error
        self.dev_state()
        return self.get_status()

    @attribute(dtype=float, doc="the output's value now")
    @devfailed
    def value(self) -> float:
        return self.obj.read()

    @attribute(dtype=float, access=RW, doc="writing sends a value (clamped to the limits)")
    @devfailed
    def set_value(self) -> float:
        return self.obj.read()

    @set_value.write
    @devfailed
    def set_value(self, value: float) -> None:
        self.obj.set_value(value)

    @attribute(dtype=float, access=RW, doc="NaN: no limit")
    @devfailed
    def limit_low(self) -> float:
        return _opt(self.obj.limits[0])

    @limit_low.write
    @devfailed
    def limit_low(self, value: float) -> None:
        self.obj.limits = (None if math.isnan(value) else value, self.obj.limits[1])

    @attribute(dtype=float, access=RW, doc="NaN: no limit")
    @devfailed
    def limit_high(self) -> float:
        return _opt(self.obj.limits[1])

    @limit_high.write
    @devfailed
    def limit_high(self, value: float) -> None:
        self.obj.limits = (self.obj.limits[0], None if math.isnan(value) else value)

    @attribute(dtype=float, access=RW, doc="units per second; 0: at once")
    @devfailed
    def ramprate(self) -> float:
        return self.obj.ramprate

    @ramprate.write
    @devfailed
    def ramprate(self, value: float) -> None:
        self.obj.ramprate = value

    @attribute(dtype=bool)
    @devfailed
    def is_ramping(self) -> bool:
        return self.obj.is_ramping()

    @attribute(dtype=float, access=RW, doc="where the output goes when regulation stops or fails")
    @devfailed
    def safe_value(self) -> float:
        return self.obj.safe_value

    @safe_value.write
    @devfailed
    def safe_value(self, value: float) -> None:
        self.obj.safe_value = value

    @attribute(dtype=str, access=RW, doc="output range of the controller, if it has ranges")
    @devfailed
    def range(self) -> str:
        return str(self.obj.config.get("range", ""))

    @range.write
    @devfailed
    def range(self, value: str) -> None:
        raise ValueError(f"{self.obj.name}: this output has no ranges")

    @command
    @devfailed
    def ApplyConfig(self) -> None:
        """Back to the YAML values (persisted settings forgotten)."""
        self.obj.apply_config()

    @command
    @devfailed
    def SettingsToConfig(self) -> None:
        """Write limits, ramprate and safe value into the YAML file, comments kept."""
        self.obj.settings_to_config()
