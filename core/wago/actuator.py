"""Valves and shutters driven by a Wago output, their position known from limit switches.

    - name: valve1
      plugin: wago
      class: WagoValve                # or WagoShutter (the same object, another family)
      wago: $wago1
      command: valve_cmd              # the digital output that opens it (1 = open)
      open: valve_open                # optional switch, 1 when fully open
      closed: valve_closed            # optional switch, 1 when fully closed
      timeout: 3.0                    # s the switches may take after a command
      inverted: false                 # true: output 0 opens

State from the switches: OPEN, CLOSED, MOVING (between, while a command is under way),
UNKNOWN (between, no command under way), FAULT (both switches on, or a switch that did
not come within the timeout). Without switches the state is the output's.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from .errors import WagoConfigError, WagoError

OPEN, CLOSED, MOVING, UNKNOWN, FAULT = "OPEN", "CLOSED", "MOVING", "UNKNOWN", "FAULT"
CLASSES = {"WagoValve": "valve", "WagoShutter": "shutter"}


class ActuatorTimeout(WagoError):
    """The position switch did not confirm the requested position in time."""


class WagoIO(Protocol):
    """What an actuator needs of its Wago: a WagoController in the Wago server."""

    def read(self, name: str, cached: bool = False) -> list: ...

    def write(self, name: str, *values: Any) -> None: ...


class WagoActuator:
    """open()/close() wait for the switch; start_open()/start_close() do not."""

    def __init__(self, name: str, wago: WagoIO, command: str, *, open_switch: str | None = None,
                 closed_switch: str | None = None, timeout: float = 3.0, inverted: bool = False,
                 kind: str = "valve") -> None:
        self.name, self.wago, self.command = name, wago, command
        self.open_switch, self.closed_switch = open_switch, closed_switch
        self.timeout = float(timeout)
        self.inverted = bool(inverted)
        self.kind = kind
        self._wanted: str | None = None      # OPEN/CLOSED while a command is under way
        self._target: str | None = None      # what the last command asked for
        self._since = 0.0
        self.fault: str | None = None        # why the last command failed

    @classmethod
    def from_config(cls, cfg: dict, wago: WagoIO, *, name: str, file: str | None = None,
                    line: int | None = None) -> WagoActuator:
        if not cfg.get("command"):
            raise WagoConfigError(f"{name}: `command` (the Wago output that opens it) is missing", file, line)
        mapping = getattr(wago, "mapping", None)
        for key in ("command", "open", "closed"):
            value = cfg.get(key)
            if value and mapping is not None and value not in mapping.keys:
                raise WagoConfigError(f"{name}: {key} {value!r} is not a logical name of {mapping.name} "
                                      f"({', '.join(mapping.names)})", file, line)
        if mapping is not None and not all(c.output for c in mapping.channels_of(cfg["command"])):
            raise WagoConfigError(f"{name}: command {cfg['command']!r} is not an output of {mapping.name}",
                                  file, line)
        return cls(name, wago, str(cfg["command"]), open_switch=cfg.get("open"),
                   closed_switch=cfg.get("closed"), timeout=float(cfg.get("timeout", 3.0)),
                   inverted=bool(cfg.get("inverted", False)),
                   kind=CLASSES.get(str(cfg.get("class")), "valve"))

    # ---- state --------------------------------------------------------------------------
    def _switch(self, name: str | None) -> int | None:
        return None if name is None else int(self.wago.read(name)[0])

    def position(self) -> str | None:
        """OPEN, CLOSED, FAULT (both switches on) or None (between two switches)."""
        opened, closed = self._switch(self.open_switch), self._switch(self.closed_switch)
        if opened is None and closed is None:
            out = int(self.wago.read(self.command)[0])
            return OPEN if bool(out) != self.inverted else CLOSED
        if opened and closed:
            return FAULT
        if opened is None:
            return CLOSED if closed else OPEN
        if closed is None:
            return OPEN if opened else CLOSED
        return OPEN if opened else CLOSED if closed else None

    def read_state(self) -> str:
        """The state now: the switches, and the command under way."""
        position = self.position()
        if position == FAULT:
            self.fault = (f"{self.name}: both position switches are on ({self.open_switch}, "
                          f"{self.closed_switch})")
            return FAULT
        if self._wanted is not None:
            if position == self._wanted:
                self._wanted, self.fault = None, None
                return position
            if time.monotonic() - self._since <= self.timeout:
                return MOVING
            self.fault = self._late(self._wanted, position)
            self._wanted = None
        if self.fault and position == self._target:  # the switch came, late
            self.fault = None
        if self.fault:
            return FAULT
        return position or UNKNOWN

    @property
    def state(self) -> str:
        return self.read_state()

    def status(self) -> str:
        return self.status_of(self.read_state())

    def status_of(self, state: str) -> str:
        """The sentence for a state read_state() just returned."""
        if state == FAULT:
            return self.fault or f"{self.name}: fault"
        if state == MOVING:
            return f"{self.name}: {'opening' if self._wanted == OPEN else 'closing'}"
        return f"{self.name} is {state.lower()}"

    def _late(self, wanted: str, position: str | None) -> str:
        switch = self.open_switch if wanted == OPEN else self.closed_switch
        what = f"{switch} still off" if switch else f"{self.closed_switch or self.open_switch} unchanged"
        where = position.lower() if position else "between its switches"
        return (f"{self.name}: timeout: not {wanted.lower()} {self.timeout:g} s after the "
                f"{'open' if wanted == OPEN else 'close'} command ({what}; still {where})")

    # ---- commands -----------------------------------------------------------------------
    def start_open(self) -> None:
        self._start(OPEN)

    def start_close(self) -> None:
        self._start(CLOSED)

    def _start(self, wanted: str) -> None:
        self.fault = None
        self.wago.write(self.command, int((wanted == OPEN) != self.inverted))
        self._target = wanted
        if self.open_switch or self.closed_switch:
            self._wanted, self._since = wanted, time.monotonic()

    def wait(self, period: float = 0.02) -> str:
        """Until the command under way ends; ActuatorTimeout if a switch never comes."""
        while True:
            state = self.read_state()
            if state != MOVING:
                break
            time.sleep(period)  # cooperative in a gevent process (time is patched)
        if state == FAULT:
            raise ActuatorTimeout(self.status())
        return state

    def open(self) -> None:
        self.start_open()
        self.wait()

    def close(self) -> None:
        self.start_close()
        self.wait()

    def __repr__(self) -> str:
        return f"<{self.kind.capitalize()} {self.name} ({self.command})>"
