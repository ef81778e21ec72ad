"""A Wago server's devices used from another process (a ScanServer, the shell).

WagoClient is the Wago as a counter controller: its channels are counters (`ct wago1`,
`ct wago1:tc1`), read at each point with one read_attributes of the Wago device (the
device reads the coupler once for all of them); get/set by logical name as BLISS's Wago.
ActuatorClient is a valve or shutter: open()/close() wait until its device confirms the
position, and raise ActuatorTimeout naming it when the device reports the switch late.
"""

from __future__ import annotations

import time
from typing import Any

import tango

from ..comm.reach import reading_error
from ..counters.sampling import SamplingCounter, SamplingCounterController, SamplingMode
from .actuator import CLOSED, FAULT, MOVING, OPEN, UNKNOWN, ActuatorTimeout
from .mapping import WagoMapping


class WagoCounter(SamplingCounter):
    """One logical name of a Wago, counted (a spectrum for a multi-channel name)."""


class WagoClient(SamplingCounterController):
    """WagoClient("wago1", "demo/wago/wago1", config): counters, get(), set()."""

    def __init__(self, name: str, device: str, config: dict | None = None, green_mode: Any = None) -> None:
        super().__init__(name)
        cfg = dict(config or {})
        self.device_name = device
        self.proxy = tango.DeviceProxy(device, green_mode=green_mode)
        self.mapping = WagoMapping.from_config(cfg, name=name) if cfg.get("mapping") else None
        self.max_sampling_frequency = float(cfg.get("max_sampling_frequency", 1.0))
        units = dict(cfg.get("units") or {})
        for counter in self._counter_names(cfg):
            info = self.mapping.name_info(counter, units) if self.mapping else None
            shape = (info.size,) if info and info.size > 1 else ()
            # one read per point unless the YAML asks otherwise (`counter_mode: MEAN` samples
            # during the count time, for scalar channels only)
            mode = SamplingMode.SINGLE if shape else SamplingMode(cfg.get("counter_mode", "SINGLE"))
            WagoCounter(counter, self, mode=mode, unit=(info.unit if info else units.get(counter)) or None,
                        shape=shape)

    def _counter_names(self, cfg: dict) -> list[str]:
        names = cfg.get("counter_names")
        if names is not None:
            items = names if isinstance(names, list | tuple) else str(names).split(",")
            return [str(n).strip() for n in items if str(n).strip()]
        if self.mapping is None:
            return []
        return [n for n in self.mapping.names if not any(c.output for c in self.mapping.channels_of(n))]

    def __getattr__(self, name: str) -> Any:
        counters = self.__dict__.get("_counters", {})
        if name in counters:  # wago1.tc1, as in BLISS
            return counters[name]
        raise AttributeError(f"{type(self).__name__} {self.__dict__.get('name')!r} has no attribute {name!r}")

    # ---- counting -----------------------------------------------------------------------
    def read_all(self, *counters: SamplingCounter) -> list:
        return self._read([c.name for c in counters])

    def _read(self, names: list[str]) -> list:
        try:
            replies = self.proxy.read_attributes(names)
        except tango.DevFailed as exc:
            raise reading_error(exc, self.name, self.device_name, f"read {', '.join(names)}") from None
        out = []
        for name, reply in zip(names, replies):
            if reply.has_failed:
                err = reply.get_err_stack()
                raise RuntimeError(f"{self.name}: reading {name} from {self.device_name} failed: "
                                   f"{err[0].desc.strip() if err else 'no reason given'}")
            out.append(reply.value)
        return out

    # ---- BLISS's Wago API -------------------------------------------------------------------
    def get(self, *names: str) -> Any:
        """Values of logical names: one value for one name, else a list."""
        values = self._read(list(names))
        return values[0] if len(values) == 1 else values

    def set(self, name: str, *values: Any) -> None:
        """set("valve_cmd", 1), set("dac", 1.5, 2.5)."""
        self.proxy.write_attribute(name, values[0] if len(values) == 1 else list(values))

    @property
    def logical_keys(self) -> list[str]:
        if self.mapping is not None:
            return self.mapping.names
        return [a for a in self.proxy.get_attribute_list() if a not in ("State", "Status")]

    @property
    def state(self) -> str:
        return str(self.proxy.state())

    def status(self) -> str:
        return self.proxy.status()

    def __info__(self) -> str:
        lines = [f"Wago {self.name} ({self.device_name}): {self.proxy.state()}", self.proxy.status()]
        return "\n".join(lines)


_STATES = {tango.DevState.OPEN: OPEN, tango.DevState.CLOSE: CLOSED, tango.DevState.MOVING: MOVING,
           tango.DevState.FAULT: FAULT}


class ActuatorClient:
    """A valve or shutter served by a Wago server: open(), close(), state."""

    def __init__(self, name: str, device: str, kind: str = "valve", green_mode: Any = None,
                 period: float = 0.02) -> None:
        self.name, self.device_name, self.kind = name, device, kind
        self.proxy = tango.DeviceProxy(device, green_mode=green_mode)
        self.period = period

    @property
    def state(self) -> str:
        return _STATES.get(self.proxy.state(), UNKNOWN)

    def status(self) -> str:
        return self.proxy.status()

    def open(self) -> None:
        self.proxy.Open()
        self._wait(OPEN)

    def close(self) -> None:
        self.proxy.Close()
        self._wait(CLOSED)

    def _wait(self, wanted: str) -> None:
        """Until the device leaves MOVING: the position, or FAULT (its Status says why)."""
        deadline = time.monotonic() + float(self.proxy.Timeout()) + 5.0  # the device times out first
        while True:
            state = self.state
            if state == wanted:
                return
            if state == FAULT:
                raise ActuatorTimeout(self.proxy.status())
            if state != MOVING and state != UNKNOWN:
                raise ActuatorTimeout(f"{self.name}: {state.lower()} instead of {wanted.lower()}: "
                                      f"{self.proxy.status()}")
            if time.monotonic() > deadline:
                raise ActuatorTimeout(f"{self.name}: still {state.lower()} (device {self.device_name} "
                                      "did not end the command)")
            time.sleep(self.period)

    def __repr__(self) -> str:
        return f"<{self.kind.capitalize()} {self.name} ({self.device_name})>"

    def __info__(self) -> str:
        return f"{self.kind} {self.name}: {self.state}\n{self.status()}"


def wago_client(entry) -> WagoClient:
    """core.session client factory for a Wago device."""
    return WagoClient(entry.name, entry.device, entry.config, getattr(entry.session, "green_mode", None))


def actuator_client(entry) -> ActuatorClient:
    """core.session client factory for a WagoValve / WagoShutter device."""
    kind = "shutter" if entry.klass == "WagoShutter" else "valve"
    return ActuatorClient(entry.name, entry.device, kind, getattr(entry.session, "green_mode", None))
