"""The parameters of a regulation loop: BLISS's names and YAML keys, each refused with
the loop, the value and the allowed range when out of range (nothing changes then),
persisted as settings (`settings:<loop>`, the YAML values as defaults), sent to the
controller when it regulates by itself, written back into the YAML on request."""

from __future__ import annotations

import enum
import logging
import math
from typing import Any

from .errors import RegulationValueError, SetpointLimitError, check_number

log = logging.getLogger("blisstango.regulation")

MAX_SAMPLING_FREQUENCY = 1000.0


class WaitMode(enum.IntEnum):
    """What a move of the loop axis waits for (BLISS's values)."""

    RAMP = 1       # the end of the ramp
    DEADBAND = 2   # the input inside the deadband for deadband_time


def wait_mode_of(value: Any, owner: str = "loop") -> WaitMode:
    if isinstance(value, WaitMode):
        return value
    text = str(value).strip().upper()
    for mode in WaitMode:
        if text in (mode.name, str(mode.value)):
            return mode
    raise RegulationValueError(f"{owner}: wait_mode must be RAMP (1) or DEADBAND (2), got {value!r}")


#: parameter -> YAML key (BLISS's names)
YAML_KEYS = {
    "kp": "P", "ki": "I", "kd": "D",
    "sampling_frequency": "frequency",
    "pid_range_low": "low_limit", "pid_range_high": "high_limit",
    "ramprate": "ramprate",
    "deadband": "deadband", "deadband_time": "deadband_time",
    "deadband_idle_factor": "deadband_idle_factor",
    "wait_mode": "wait_mode",
    "setpoint_low_limit": "setpoint_low_limit", "setpoint_high_limit": "setpoint_high_limit",
}


def _opt_float(value: Any, default: float) -> float:
    return default if value is None else float(value)




class LoopParameters:
    """Mixin of Loop: the parameters half (needs name, config, settings, controller,
    input, _ramp, _emit)."""

    # -- configuration and settings --------------------------------------------------------
    def _config_defaults(self) -> dict[str, Any]:
        c = self.config
        return {
            "kp": _opt_float(c.get("P"), 1.0),
            "ki": _opt_float(c.get("I"), 0.0),
            "kd": _opt_float(c.get("D"), 0.0),
            "sampling_frequency": _opt_float(c.get("frequency"), 10.0),
            "pid_range_low": _opt_float(c.get("low_limit"), 0.0),
            "pid_range_high": _opt_float(c.get("high_limit"), 1.0),
            "ramprate": _opt_float(c.get("ramprate"), 0.0),
            "deadband": _opt_float(c.get("deadband"), 0.1),
            "deadband_time": _opt_float(c.get("deadband_time"), 1.0),
            "deadband_idle_factor": _opt_float(c.get("deadband_idle_factor"), 0.5),
            "wait_mode": int(wait_mode_of(c.get("wait_mode", "DEADBAND"), str(c.get("name")))),
            "setpoint_low_limit": _opt_float(c.get("setpoint_low_limit"), -math.inf),
            "setpoint_high_limit": _opt_float(c.get("setpoint_high_limit"), math.inf),
            "setpoint": None,
        }

    def _store(self, **values: Any) -> None:
        for key, value in values.items():
            self.settings[key] = value
            self._values[key] = value if value is not None else self._config_defaults()[key]

    @property
    def unit(self) -> str:
        return str(self.input.unit or self.config.get("unit", "") or "")

    def _apply_pid_parameters(self) -> None:
        for key, method in (("kp", "set_kp"), ("ki", "set_ki"), ("kd", "set_kd"),
                            ("sampling_frequency", "set_sampling_frequency"),
                            ("ramprate", "set_ramprate")):
            try:
                self._hw(method, self._values[key])
            except NotImplementedError:
                pass
        try:
            self._hw("set_pid_range", self.pid_range)
        except NotImplementedError:
            pass

    def _hw(self, method: str, *args: Any) -> Any:
        with self.controller.lock:
            return getattr(self.controller, method)(self, *args)

    # -- PID parameters ------------------------------------------------------------------
    def _set_param(self, key: str, value: float, hw_method: str | None) -> None:
        if hw_method:
            try:
                self._hw(hw_method, value)
            except NotImplementedError:
                pass
        self._store(**{key: value})
        self._emit("param", key, value)

    @property
    def kp(self) -> float:
        return float(self._values["kp"])

    @kp.setter
    def kp(self, value: float) -> None:
        self._set_param("kp", check_number(self.name, "kp", value, 0.0), "set_kp")

    @property
    def ki(self) -> float:
        return float(self._values["ki"])

    @ki.setter
    def ki(self, value: float) -> None:
        self._set_param("ki", check_number(self.name, "ki", value, 0.0), "set_ki")

    @property
    def kd(self) -> float:
        return float(self._values["kd"])

    @kd.setter
    def kd(self, value: float) -> None:
        self._set_param("kd", check_number(self.name, "kd", value, 0.0), "set_kd")

    @property
    def sampling_frequency(self) -> float:
        return float(self._values["sampling_frequency"])

    @sampling_frequency.setter
    def sampling_frequency(self, value: float) -> None:
        f = check_number(self.name, "sampling_frequency", value, 0.0, MAX_SAMPLING_FREQUENCY,
                         low_open=True, unit="Hz")
        self._set_param("sampling_frequency", f, "set_sampling_frequency")

    @property
    def pid_range(self) -> tuple[float, float]:
        return float(self._values["pid_range_low"]), float(self._values["pid_range_high"])

    @pid_range.setter
    def pid_range(self, value: tuple[float, float]) -> None:
        low = check_number(self.name, "pid_range low", value[0])
        high = check_number(self.name, "pid_range high", value[1])
        if low >= high:
            raise RegulationValueError(f"{self.name}: pid_range low {low:g} must be below high {high:g}")
        try:
            self._hw("set_pid_range", (low, high))
        except NotImplementedError:
            pass
        self._store(pid_range_low=low, pid_range_high=high)
        self._emit("param", "pid_range", (low, high))

    # -- setpoint parameters ---------------------------------------------------------------
    @property
    def ramprate(self) -> float:
        """Input units per second; 0: the working setpoint jumps to the setpoint."""
        return float(self._values["ramprate"])

    @ramprate.setter
    def ramprate(self, value: float) -> None:
        rate = check_number(self.name, "ramprate", value, 0.0, unit=f"{self.unit}/s")
        self._set_param("ramprate", rate, "set_ramprate")
        self._ramp.rate = rate

    @property
    def deadband(self) -> float:
        return float(self._values["deadband"])

    @deadband.setter
    def deadband(self, value: float) -> None:
        self._set_param("deadband", check_number(self.name, "deadband", value, 0.0, unit=self.unit), None)

    @property
    def deadband_time(self) -> float:
        return float(self._values["deadband_time"])

    @deadband_time.setter
    def deadband_time(self, value: float) -> None:
        self._set_param("deadband_time", check_number(self.name, "deadband_time", value, 0.0, unit="s"), None)

    @property
    def deadband_idle_factor(self) -> float:
        return float(self._values["deadband_idle_factor"])

    @deadband_idle_factor.setter
    def deadband_idle_factor(self, value: float) -> None:
        self._set_param("deadband_idle_factor",
                        check_number(self.name, "deadband_idle_factor", value, 0.0, 1.0), None)

    @property
    def wait_mode(self) -> WaitMode:
        return WaitMode(int(self._values["wait_mode"]))

    @wait_mode.setter
    def wait_mode(self, value: Any) -> None:
        mode = wait_mode_of(value, self.name)
        self._store(wait_mode=int(mode))
        self._emit("param", "wait_mode", mode)

    @property
    def limits(self) -> tuple[float, float]:
        """Setpoint limits (the loop axis' limits), input units."""
        return float(self._values["setpoint_low_limit"]), float(self._values["setpoint_high_limit"])

    @limits.setter
    def limits(self, value: tuple[float, float]) -> None:
        low, high = float(value[0]), float(value[1])
        if math.isnan(low) or math.isnan(high) or low >= high:
            raise RegulationValueError(f"{self.name}: setpoint limits must be low < high, got ({low}, {high})")
        sp = self._values.get("setpoint")
        self._store(setpoint_low_limit=low, setpoint_high_limit=high)
        if sp is not None and not low <= sp <= high:
            log.warning("%s: setpoint %s is now outside the limits [%s, %s]", self.name, sp, low, high)
        self._emit("param", "limits", (low, high))

    def check_setpoint(self, value: float) -> float:
        """value as a float if the loop may go there; SetpointLimitError otherwise."""
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise RegulationValueError(f"{self.name}: setpoint must be a number, got {value!r}") from None
        low, high = self.limits
        u = f" {self.unit}" if self.unit else ""
        if not math.isfinite(v):
            raise SetpointLimitError(f"{self.name}: setpoint {value!r} is not a finite number "
                                     f"(allowed [{low:g}, {high:g}]{u})")
        if v < low:
            raise SetpointLimitError(f"{self.name}: setpoint {v:g}{u} is below the low limit {low:g}{u} "
                                     f"(allowed [{low:g}, {high:g}]{u})")
        if v > high:
            raise SetpointLimitError(f"{self.name}: setpoint {v:g}{u} is above the high limit {high:g}{u} "
                                     f"(allowed [{low:g}, {high:g}]{u})")
        return v

    # -- settings <-> YAML -------------------------------------------------------------------
    def parameters(self) -> dict[str, Any]:
        """Every persisted parameter with its current value."""
        return {k: self._values[k] for k in YAML_KEYS}

    def apply_config(self) -> None:
        """Forget the persisted parameters: YAML values again (setpoint kept)."""
        sp = self._values.get("setpoint")
        self.settings.clear()
        self._values = {**self._config_defaults(), "setpoint": None}
        if sp is not None:
            self._store(setpoint=sp)
        self._ramp.rate = self.ramprate
        self._apply_pid_parameters()
        self._emit("param", "apply_config", None)

    def settings_to_config(self) -> dict[str, Any]:
        """Write the current parameters into the loop's YAML (comments kept); returns
        what was written."""
        from .yaml_write import write_keys

        values: dict[str, Any] = {}
        for key, yaml_key in YAML_KEYS.items():
            value = self._values[key]
            if key == "wait_mode":
                value = WaitMode(int(value)).name.lower()
            elif isinstance(value, float) and not math.isfinite(value):
                value = None
            values[yaml_key] = value
        written = write_keys(self.config_root, self.name, self.config, values)
        self.settings.clear()
        sp = self._values.get("setpoint")
        if sp is not None:
            self.settings["setpoint"] = sp
        return written

