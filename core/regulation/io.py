"""Input and Output: a sensor and an actuator of a regulation, on a controller's channel
or outside any controller (ExternalInput over a counter or an axis, ExternalOutput over
an axis). Each is also a counter (in-process scans count it like any other).

Output settings (`settings:<output>`, YAML values as defaults): low_limit, high_limit,
ramprate, safe_value. A value sent to an output is clamped to its limits; with a
ramprate the output gets there at that rate. The safe value (YAML `safe_value`, default
0 clamped to the limits: heater off) is where the output goes when regulation stops or
fails, and when a server starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import gevent
import gevent.lock

from blisstango.core.beacon.settings import object_settings
from blisstango.core.counters.sampling import (
    SamplingCounter,
    SamplingCounterController,
    SamplingMode,
)

from .errors import RegulationValueError, check_number
from .ramp import SoftRamp

log = logging.getLogger("blisstango.regulation")

SettingsFactory = Callable[[str, dict[str, Any]], Any]


class ObjectCounterController(SamplingCounterController):
    """One counter, named like the object, read with the object's read()."""

    max_sampling_frequency = 100.0

    def __init__(self, obj: Any, unit: str | None) -> None:
        super().__init__(obj.name)
        self.obj = obj
        SamplingCounter(obj.name, self, mode=SamplingMode.SINGLE, unit=unit)

    def read_all(self, *counters: SamplingCounter) -> list:
        value = self.obj.read()
        return [value for _ in counters]


class _Channel:
    """What Input and Output share: name, controller, channel, unit, settings, counter."""

    def __init__(self, controller: Any, config: dict[str, Any],
                 settings_factory: SettingsFactory | None, defaults: dict[str, Any]) -> None:
        self.name: str = str(config["name"])
        self.controller = controller
        self.config = config
        self.channel = config.get("channel")
        self.unit: str = str(config.get("unit", "") or "")
        factory = settings_factory or object_settings
        self._defaults = dict(defaults)
        self.settings = factory(self.name, defaults)
        self._values: dict[str, Any] = {**defaults, **self.settings.get_all()}
        self._counter_controller = ObjectCounterController(self, self.unit or None)

    @property
    def counters(self) -> list[SamplingCounter]:
        return self._counter_controller.counters

    @property
    def counter_controller(self) -> ObjectCounterController:
        return self._counter_controller

    #: the configuration tree the object came from (settings_to_config writes there)
    config_root: str | None = None

    def _store(self, **values: Any) -> None:
        for key, value in values.items():
            self.settings[key] = value
            self._values[key] = value

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class Input(_Channel):
    """A sensor read through its controller (`read_input`)."""

    def __init__(self, controller: Any, config: dict[str, Any],
                 settings_factory: SettingsFactory | None = None) -> None:
        super().__init__(controller, config, settings_factory, {})

    def read(self) -> float:
        with self.controller.lock:
            return float(self.controller.read_input(self))

    def state(self) -> str:
        with self.controller.lock:
            return str(self.controller.state_input(self))

    def allow_regulation(self) -> bool:
        """False pauses a SoftLoop's PID (the read must still answer)."""
        return True


class _NoController:
    """The controller of external inputs/outputs: no hardware, nothing to serialize."""

    name = "external"
    lock = gevent.lock.DummySemaphore()


class ExternalInput(Input):
    """An Input over a counter (one read of its controller) or an axis (its position)."""

    def __init__(self, config: dict[str, Any], device: Any,
                 settings_factory: SettingsFactory | None = None) -> None:
        self.device = device
        super().__init__(_NoController(), config, settings_factory)

    def read(self) -> float:
        d = self.device
        if hasattr(d, "controller") and hasattr(d.controller, "read_all"):
            return float(d.controller.read_all(d)[0])
        if hasattr(d, "position"):
            return float(d.position)
        counters = list(getattr(d, "counters", None) or [])
        if len(counters) == 1 and hasattr(d, "read_all"):  # a one-counter controller (an Input of another server)
            return float(d.read_all(counters[0])[0])
        raise TypeError(f"{self.name}: {d!r} is neither a counter nor an axis")

    def state(self) -> str:
        st = getattr(self.device, "state", "READY")
        return str(st() if callable(st) else st)


class Output(_Channel):
    """An actuator set through its controller (`set_output_value`)."""

    def __init__(self, controller: Any, config: dict[str, Any],
                 settings_factory: SettingsFactory | None = None) -> None:
        low, high = config.get("low_limit"), config.get("high_limit")
        defaults = {
            "low_limit": None if low is None else float(low),
            "high_limit": None if high is None else float(high),
            "ramprate": float(config.get("ramprate", 0.0) or 0.0),
            "safe_value": None if config.get("safe_value") is None else float(config["safe_value"]),
        }
        super().__init__(controller, config, settings_factory, defaults)
        self._ramp = SoftRamp()
        self._ramp_task: gevent.Greenlet | None = None
        self._hw_ramp: bool | None = None
        self.ramp_poll_time = 0.02

    # -- hardware access -----------------------------------------------------------------
    def read(self) -> float:
        with self.controller.lock:
            return float(self.controller.read_output(self))

    def state(self) -> str:
        with self.controller.lock:
            return str(self.controller.state_output(self))

    def _set_value(self, value: float) -> None:
        with self.controller.lock:
            self.controller.set_output_value(self, value)

    # -- parameters ------------------------------------------------------------------------
    @property
    def limits(self) -> tuple[float | None, float | None]:
        return self._values["low_limit"], self._values["high_limit"]

    @limits.setter
    def limits(self, value: tuple[float | None, float | None]) -> None:
        low, high = value
        low = None if low is None else check_number(self.name, "low limit", low, unit=self.unit)
        high = None if high is None else check_number(self.name, "high limit", high, unit=self.unit)
        if low is not None and high is not None and low >= high:
            raise RegulationValueError(f"{self.name}: low limit {low:g} must be below high limit {high:g}")
        self._store(low_limit=low, high_limit=high)

    @property
    def ramprate(self) -> float:
        return float(self._values["ramprate"])

    @ramprate.setter
    def ramprate(self, value: float) -> None:
        rate = check_number(self.name, "ramprate", value, 0.0, unit=f"{self.unit}/s")
        try:
            with self.controller.lock:
                self.controller.set_output_ramprate(self, rate)
        except NotImplementedError:
            pass
        self._ramp.rate = rate
        self._store(ramprate=rate)

    def clamp(self, value: float) -> float:
        low, high = self.limits
        if low is not None:
            value = max(value, low)
        if high is not None:
            value = min(value, high)
        return value

    @property
    def safe_value(self) -> float:
        """Where the output goes when regulation stops or fails (heater off)."""
        stored = self._values["safe_value"]
        return self.clamp(0.0 if stored is None else float(stored))

    @safe_value.setter
    def safe_value(self, value: float) -> None:
        low, high = self.limits
        v = check_number(self.name, "safe value", value, low, high, unit=self.unit)
        self._store(safe_value=v)

    # -- setting the output ---------------------------------------------------------------
    def set_value(self, value: float) -> float:
        """Send value (clamped to the limits), at the ramprate if there is one; returns
        what was sent."""
        value = self.clamp(float(value))
        if self.ramprate > 0:
            self._start_ramping(value)
        else:
            self._set_value(value)
        return value

    def set_safe(self) -> float:
        """Go to the safe value now, whatever the ramprate."""
        self._stop_ramping()
        value = self.safe_value
        self._set_value(value)
        return value

    def is_ramping(self) -> bool:
        if self._hw_ramp:
            with self.controller.lock:
                return bool(self.controller.is_output_ramping(self))
        return bool(self._ramp_task)

    def _start_ramping(self, value: float) -> None:
        if self._hw_ramp is not False:
            try:
                with self.controller.lock:
                    self.controller.start_output_ramp(self, value)
                self._hw_ramp = True
                return
            except NotImplementedError:
                self._hw_ramp = False
        if self._ramp_task:  # already ramping: on to the new target from where it is
            current = self._ramp.value()
            self._ramp.start(self.read() if current is None else current, value)
            return
        self._ramp.rate = self.ramprate
        self._ramp.start(self.read(), value)
        self._ramp_task = gevent.spawn(self._drive_ramp)

    def _drive_ramp(self) -> None:
        """Software output ramp: send the ramp's value until it reaches its target."""
        try:
            while True:
                v = self._ramp.value()
                self._set_value(v)
                if not self._ramp.is_ramping():
                    return
                gevent.sleep(self.ramp_poll_time)
        except Exception as exc:  # noqa: BLE001 - reported, the next set_value tries again
            log.error("%s: output ramp stopped: %s", self.name, exc)
        finally:
            self._ramp_task = None

    def _stop_ramping(self) -> None:
        if self._hw_ramp:
            with self.controller.lock:
                self.controller.stop_output_ramp(self)
        task, self._ramp_task = self._ramp_task, None
        if task is not None and task is not gevent.getcurrent():
            task.kill()

    # -- settings <-> YAML -------------------------------------------------------------------
    def parameters(self) -> dict[str, Any]:
        return {"low_limit": self.limits[0], "high_limit": self.limits[1],
                "ramprate": self.ramprate, "safe_value": self._values["safe_value"]}

    def apply_config(self) -> None:
        """Forget the persisted parameters: YAML values again."""
        self.settings.clear()
        self._values = dict(self._defaults)
        self._ramp.rate = self.ramprate

    def settings_to_config(self) -> dict[str, Any]:
        """Write limits, ramprate and safe value into the output's YAML (comments kept)."""
        from .yaml_write import write_keys

        written = write_keys(self.config_root, self.name, self.config, self.parameters())
        self.settings.clear()
        return written

    # -- PID output <-> output units -----------------------------------------------------
    def from_pid(self, pid_range: tuple[float, float], pid_output: float) -> float:
        """The PID range maps linearly onto the output limits (BLISS's rule)."""
        (xmin, xmax), (ymin, ymax) = pid_range, self.limits
        if ymin is None or ymax is None or ymin == ymax or xmin == xmax:
            return pid_output
        return ymin + (pid_output - xmin) * (ymax - ymin) / (xmax - xmin)

    def to_pid(self, pid_range: tuple[float, float], value: float) -> float:
        (xmin, xmax), (ymin, ymax) = pid_range, self.limits
        if ymin is None or ymax is None or ymin == ymax or xmin == xmax:
            return value
        return xmin + (value - ymin) * (xmax - xmin) / (ymax - ymin)


class ExternalOutput(Output):
    """An Output over an axis: absolute (the PID output is a position in the limits) or
    relative (the PID output is a step from where the axis is)."""

    def __init__(self, config: dict[str, Any], device: Any,
                 settings_factory: SettingsFactory | None = None) -> None:
        self.device = device
        self.mode = str(config.get("mode", "absolute"))
        if self.mode not in ("absolute", "relative"):
            raise RegulationValueError(f"{config.get('name')}: mode must be absolute or relative, "
                                       f"got {self.mode!r}")
        super().__init__(_NoController(), config, settings_factory)
        self._hw_ramp = False

    def read(self) -> float:
        return float(self.device.position)

    def state(self) -> str:
        st = self.device.state
        return str(st() if callable(st) else st)

    def _set_value(self, value: float) -> None:
        self.device.move(value, wait=True)

    def from_pid(self, pid_range: tuple[float, float], pid_output: float) -> float:
        if self.mode == "relative":
            return self.read() + pid_output
        return super().from_pid(pid_range, pid_output)

    def to_pid(self, pid_range: tuple[float, float], value: float) -> float:
        if self.mode == "relative":
            return 0.0
        return super().to_pid(pid_range, value)
