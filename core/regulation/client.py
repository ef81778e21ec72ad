"""The regulation objects of a Regulation server, used from another process (a ScanServer,
the shell): what the server's ServerKind.clients builds for its devices.

- an Input or Output device is a counter controller with one counter, named like the
  object, reading its `value` (`ct sample_tc heater_power`);
- a Loop device is a counter controller too (`ct sample_temp` counts the loop's input,
  output and working setpoint, as in BLISS) and brings its axis `<loop>_axis`
  (`session_objects()`), which moves by setting the setpoint and waits on the server
  (`axis_wait`) until the loop is there as its wait_mode says: no polling.

Errors come back as the server's own sentences: SetpointLimitError for a setpoint outside
the limits (a LimitError: scans check their points against it before moving), a
RegulationError for anything else, naming the loop.
"""

from __future__ import annotations

import math
from typing import Any

import tango

from blisstango.core.counters.sampling import SamplingMode
from blisstango.core.counters.tango_attr import TangoAttrCounter, TangoAttrCounterController
from blisstango.core.motion.state import AxisState

from .axis import axis_name
from .errors import RegulationError, RegulationValueError, SetpointLimitError

#: axis_wait lasts as long as the regulation takes to get there: its own long timeout
_WAIT_TIMEOUT_MS = 24 * 3600 * 1000
_ERRORS = {"SetpointLimitError": SetpointLimitError, "RegulationValueError": RegulationValueError}


def _proxy(device: str, green_mode: Any, timeout_ms: int | None = None) -> tango.DeviceProxy:
    kw = {"green_mode": green_mode} if green_mode is not None else {}
    proxy = tango.DeviceProxy(device, **kw)
    if timeout_ms:
        proxy.set_timeout_millis(timeout_ms)
    return proxy


def _ref(config: dict, key: str) -> str | None:
    value = config.get(key)
    return value[1:] if isinstance(value, str) and value.startswith("$") else None


class _Counting(TangoAttrCounterController):
    """A counter controller named like its object, one counter on one attribute."""

    def __init__(self, name: str, device: str, attr: str, unit: str | None, green_mode: Any) -> None:
        super().__init__(device, name=name)
        self._green_mode = green_mode
        self.counter = TangoAttrCounter(name, device, attr, unit=unit or None, mode=SamplingMode.SINGLE,
                                        controller=self)

    @property
    def proxy(self) -> tango.DeviceProxy:
        if self._proxy is None:
            self._proxy = _proxy(self.device_name, self._green_mode or tango.GreenMode.Gevent)
        return self._proxy


class RemoteIO(_Counting):
    """An Input or Output device: a counter of its `value`."""

    def __init__(self, name: str, device: str, unit: str | None = None, green_mode: Any = None) -> None:
        super().__init__(name, device, "value", unit, green_mode)

    def read(self) -> float:
        return float(self.read_all(self.counter)[0])


class RemoteLoopAxis:
    """`<loop>_axis` of a Loop device: position = the input, move = setpoint + server-side
    wait, limits = setpoint limits, tolerance = deadband, locked with its loop."""

    def __init__(self, loop_name: str, device: str, unit: str | None = None, green_mode: Any = None) -> None:
        self.loop_name = loop_name
        self.name = axis_name(loop_name)
        self.device = device
        self._unit = unit
        #: no other axis moves with it (a scan locks `<loop>_axis`; the server checks the
        #: locks of the axis and of the loop before any setpoint change)
        self.reals: list[Any] = []
        #: Beacon lock owner this process holds the axis with (None: not locked)
        self.owner: str | None = None
        self._proxy = _proxy(device, tango.GreenMode.Synchronous, 3000)
        self._waiter = _proxy(device, tango.GreenMode.Gevent if green_mode is None else green_mode,
                              _WAIT_TIMEOUT_MS)

    def _call(self, fn, *args: Any) -> Any:
        try:
            return fn(*args)
        except tango.DevFailed as exc:
            err = exc.args[0]
            desc = " ".join(err.desc.split())
            cls = _ERRORS.get(err.reason, RegulationError)
            raise cls(desc if desc.startswith(self.loop_name) or desc.startswith(self.name)
                      else f"{self.name}: {self.device}: {desc}") from None

    def _read(self, attr: str) -> Any:
        return self._call(self._proxy.read_attribute, attr).value

    @property
    def unit(self) -> str | None:
        if self._unit is None:
            try:
                self._unit = self._proxy.get_attribute_config("axis_position").unit or ""
            except tango.DevFailed:
                return None
        return self._unit or None

    @property
    def position(self) -> float:
        return float(self._read("axis_position"))

    @property
    def limits(self) -> tuple[float, float]:
        values = self._call(self._proxy.read_attributes, ["setpoint_low_limit", "setpoint_high_limit"])
        return float(values[0].value), float(values[1].value)

    @property
    def tolerance(self) -> float:
        return float(self._read("deadband"))

    @property
    def velocity(self) -> float:
        """The loop's ramprate: how fast the setpoint moves (a continuous scan sets it)."""
        return float(self._read("ramprate"))

    @velocity.setter
    def velocity(self, value: float) -> None:
        self._call(self._proxy.write_attribute, "ramprate", float(value))

    @property
    def acceleration(self) -> float:
        """A ramp starts at its rate at once."""
        return math.inf

    @acceleration.setter
    def acceleration(self, value: float) -> None:
        raise RegulationValueError(f"{self.name}: a setpoint ramp has no acceleration")

    def check_limits(self, user_pos: float) -> None:
        """SetpointLimitError naming the loop, the value and the allowed range."""
        low, high = self.limits
        rng = f"(allowed [{low:g}, {high:g}]{' ' + self.unit if self.unit else ''})"
        u = f" {self.unit}" if self.unit else ""
        if not math.isfinite(user_pos):
            raise SetpointLimitError(f"{self.loop_name}: setpoint {user_pos} is not a finite number {rng}")
        if user_pos < low:
            raise SetpointLimitError(f"{self.loop_name}: setpoint {user_pos:g}{u} is below the low limit "
                                     f"{low:g}{u} {rng}")
        if user_pos > high:
            raise SetpointLimitError(f"{self.loop_name}: setpoint {user_pos:g}{u} is above the high limit "
                                     f"{high:g}{u} {rng}")

    def move(self, target: float, wait: bool = True, relative: bool = False) -> None:
        if relative:
            target = float(self._read("setpoint")) + target if self._read("is_regulating") \
                else self.position + target
        args = [repr(float(target))]
        if self.owner:
            args.insert(0, f"@{self.owner}")
        self._call(self._proxy.command_inout, "axis_move", args)
        if wait:
            self.wait_move()

    def rmove(self, delta: float, wait: bool = True) -> None:
        self.move(delta, wait=wait, relative=True)

    def wait_move(self, timeout: float | None = None) -> None:
        """Until the loop is there (wait_mode); the loop's fault if it fails meanwhile."""
        if not self._call(self._waiter.command_inout, "axis_wait", float(timeout or 0.0)):
            raise RegulationError(f"{self.name}: setpoint not reached within {timeout} s")

    @property
    def state(self) -> AxisState:
        return AxisState(str(self._read("axis_state")))

    @property
    def is_moving(self) -> bool:
        return "MOVING" in self.state

    def stop(self, wait: bool = True) -> None:
        self._call(self._proxy.command_inout, "axis_stop")

    def abort(self, wait: bool = True) -> None:
        self._call(self._proxy.command_inout, "abort")

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<RemoteLoopAxis {self.name} on {self.device}>"


class RemoteLoop(_Counting):
    """A Loop device: a counter controller of its working setpoint whose `counters` are
    the loop's input, output and working setpoint (BLISS's Loop.counters), and its axis."""

    def __init__(self, name: str, device: str, unit: str | None = None, green_mode: Any = None,
                 input: RemoteIO | None = None, output: RemoteIO | None = None) -> None:
        super().__init__(name, device, "working_setpoint", unit, green_mode)
        self.input = input
        self.output = output
        self.axis = RemoteLoopAxis(name, device, unit, green_mode)

    @property
    def counters(self) -> list:
        own = [self.counter]
        return [*(self.input.counters if self.input else []), *(self.output.counters if self.output else []), *own]

    def session_objects(self) -> dict[str, Any]:
        """Objects this one adds to a session's namespace: its axis."""
        return {self.axis.name: self.axis}


# -- ServerKind.clients of the Regulation server ---------------------------------------------
def io_client(entry: Any) -> RemoteIO:
    """The client of an Input or Output device (core.session.SessionEntry)."""
    unit = (entry.config or {}).get("unit")
    return RemoteIO(entry.name, entry.device, unit, getattr(entry.session, "green_mode", None))


def loop_client(entry: Any) -> RemoteLoop:
    """The client of a Loop device: its input's and output's clients are the session's own
    (so `ct sample_temp heater_power` reads the heater once)."""
    config = entry.config or {}
    session = entry.session
    parts: dict[str, RemoteIO | None] = {}
    for key in ("input", "output"):
        ref = _ref(config, key)
        client = session.client(ref) if ref else None
        parts[key] = client if isinstance(client, RemoteIO) else None
    unit = parts["input"].counter.unit if parts["input"] is not None else config.get("unit")
    return RemoteLoop(entry.name, entry.device, unit, getattr(session, "green_mode", None),
                      parts["input"], parts["output"])
