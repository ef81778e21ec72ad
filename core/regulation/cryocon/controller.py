"""Cryo-con 24C temperature controller over its SCPI-like command set, on TCP or a serial
line (core.comm), as a regulation hardware controller.

YAML (plugin regulation)::

    - name: cryo1
      class: CryoCon
      tcp: {url: cryocon1:5000}          # or serial: {url: /dev/ttyS0, baudrate: 9600}
      min_interval: 0.1                  # s between two requests (the instrument's pace)
      inputs:
        - {name: cryo_a, channel: A, unit: K}        # unit: K, C, F or S, sent to the input
      outputs:
        - {name: cryo_heater, channel: 1, unit: "%", range: MID}   # channel = loop; HI/MID/LOW
      ctrl_loops:
        - {name: cryo_loop, input: $cryo_a, output: $cryo_heater, P: 5, I: 1, D: 0,
           ramprate: 0.5, deadband: 0.2, deadband_time: 2, wait_mode: deadband}

What each framework call sends (channel n = the output's loop number, X = input):
inputs `INPUT? X` (a reading of `.......` is out of the sensor's range: ALARM; `-------`
a sensor open or shorted: FAULT), loop source `LOOP n:SOURCE X`, setpoint `LOOP
n:SETPT`, ramp rate `LOOP n:RATE` (per minute on the instrument, per second here), ramp
`LOOP n:TYPE RAMPP` then the setpoint (the instrument ramps), `LOOP n:RAMP?`,
regulation `LOOP n:TYPE PID|RAMPP` + `CONTROL` / `LOOP n:TYPE OFF`, PID `LOOP
n:PGAIN|IGAIN|DGAIN`, heater `LOOP n:OUTPWR?`, `LOOP n:RANGE`, manual power `LOOP
n:TYPE MAN` + `LOOP n:PMANUAL` (0: `TYPE OFF`, the heater off). Every setting is sent
with its query in the same line and read back. A command the unit refuses (`NACK`) is
an error naming it; PID gains refused mean this unit (or simulator) has no PID access:
the framework then leaves them alone.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import gevent

from blisstango.core.comm import CommunicationError, link_from_config
from blisstango.core.comm.config import CommConfigError

from ..controller import Controller
from ..errors import RegulationError

log = logging.getLogger("blisstango.regulation.cryocon")

CHANNELS = ("A", "B", "C", "D")
LOOPS = (1, 2, 3, 4)
UNITS = ("K", "C", "F", "S")
RANGES = ("HI", "MID", "LOW")
OUT_OF_RANGE, SENSOR_FAULT = ".......", "-------"


class CryoCon(Controller):
    """A Cryo-con 24C; see the module docstring for the YAML and the commands."""

    custom_commands = ("heater_range", "identification")

    def __init__(self, name: str, config: dict[str, Any]) -> None:
        super().__init__(name, config)
        try:
            self.link = link_from_config(config, name, eol=b"\n", write_eol=b"\n", timeout=1.0)
        except CommConfigError as exc:
            raise RegulationError(str(exc)) from None
        self.min_interval = float(config.get("min_interval", 0.1))
        self.identity = ""
        self._last = 0.0
        self._no_pid: set[int] = set()  # loops whose PID gains the unit refuses
        self._no_ramp_query: set[int] = set()  # loops whose RAMP? the unit refuses
        self._last_reading: dict[str, float] = {}  # channel -> last good temperature
        for item in config.get("inputs", []) or []:
            if str(item.get("channel", "")).upper() not in CHANNELS:
                raise RegulationError(f"{item.get('name')}: Cryo-con {name} input channel "
                                      f"{item.get('channel')!r} is not one of {', '.join(CHANNELS)}")
        for item in config.get("outputs", []) or []:
            self._loop_number(item.get("name"), item.get("channel"))

    def _loop_number(self, owner: Any, channel: Any) -> int:
        try:
            n = int(channel)
        except (TypeError, ValueError):
            n = 0
        if n not in LOOPS:
            raise RegulationError(f"{owner}: Cryo-con {self.name} output channel {channel!r} is not a "
                                  f"loop number ({', '.join(map(str, LOOPS))})")
        return n

    # -- the protocol --------------------------------------------------------------------------
    def ask(self, line: str, owner: Any = None) -> str:
        """One request line (several commands joined by `;`), its reply; paced at
        min_interval; a NACK is an error naming the command."""
        wait = self._last + self.min_interval - time.monotonic()
        if wait > 0:
            gevent.sleep(wait)
        try:
            reply = self.link.query(line)
        except CommunicationError as exc:
            raise RegulationError(f"{self._who(owner)}: {exc}") from None
        finally:
            self._last = time.monotonic()
        if "NACK" in reply.split(";"):
            raise RegulationError(f"{self._who(owner)}: the Cryo-con refused {line!r} (NACK)")
        return reply

    def _who(self, owner: Any) -> str:
        where = f"Cryo-con {self.name} ({self.link.kind} {self.link.address})"
        name = getattr(owner, "name", owner)
        return f"{name}: {where}" if name else where

    def _set(self, owner: Any, command: str, value: Any) -> str:
        """`command value;command?` -> the value read back."""
        return self.ask(f"{command} {value};{command}?", owner)

    @staticmethod
    def _number(text: str) -> float:
        """A reading, with or without its unit letter ("300.000K", "12.5")."""
        return float(text.strip().rstrip("KCFSW%").strip())

    def _value(self, owner: Any, line: str) -> float:
        text = self.ask(line, owner)
        try:
            return self._number(text)
        except ValueError:
            raise RegulationError(f"{self._who(owner)}: {line!r} answered {text!r}, not a number") from None

    def _n(self, obj: Any) -> int:
        """The loop number of an output or a loop (its output's channel)."""
        out = getattr(obj, "output", obj)
        return self._loop_number(out.name, out.channel)

    # -- life cycle ------------------------------------------------------------------------------
    def initialize_controller(self) -> None:
        self.identity = self.ask("*IDN?")
        if not self.identity.lower().startswith("cryo-con"):
            raise RegulationError(f"{self._who(None)}: *IDN? answered {self.identity!r}: not a Cryo-con")

    def initialize_input(self, tinput: Any) -> None:
        unit = str(tinput.config.get("unit", "") or "").upper()
        if unit in UNITS:
            got = self._set(tinput, f"INPUT {tinput.channel.upper()}:UNITS", unit)
            if got.upper() != unit:
                raise RegulationError(f"{self._who(tinput)}: input {tinput.channel} unit {unit} not taken "
                                      f"(reads {got})")

    def initialize_output(self, toutput: Any) -> None:
        heater = toutput.config.get("range")
        if heater is not None:
            self.heater_range(self._n(toutput), heater)

    def initialize_loop(self, tloop: Any) -> None:
        source = tloop.input.channel.upper()
        got = self._set(tloop, f"LOOP {self._n(tloop)}:SOURCE", source)
        if got.upper() != source:
            raise RegulationError(f"{self._who(tloop)}: loop {self._n(tloop)} source {source} not taken "
                                  f"(reads {got})")

    def close(self) -> None:
        self.link.close()

    # -- inputs and outputs ----------------------------------------------------------------------
    def _reading(self, tinput: Any) -> str:
        return self.ask(f"INPUT? {tinput.channel.upper()}", tinput)

    def read_input(self, tinput: Any) -> float:
        text = self._reading(tinput)
        if text.startswith(SENSOR_FAULT[:3]) or text.startswith(OUT_OF_RANGE[:3]):
            why = "sensor open or shorted" if text.startswith("-") else "outside the sensor's calibration"
            raise RegulationError(f"{self._who(tinput)}: input {tinput.channel} reads {text!r}: {why}")
        try:
            value = self._number(text)
        except ValueError:
            raise RegulationError(f"{self._who(tinput)}: input {tinput.channel} reads {text!r}") from None
        self._last_reading[tinput.channel.upper()] = value
        return value

    def state_input(self, tinput: Any) -> str:
        text = self._reading(tinput)
        if text.startswith("---"):
            return "FAULT"
        return "ALARM" if text.startswith("...") else "READY"

    def read_output(self, toutput: Any) -> float:
        return self._value(toutput, f"LOOP {self._n(toutput)}:OUTPWR?")

    def set_output_value(self, toutput: Any, value: float) -> None:
        """Manual heater power (%): the loop in MAN at that power; 0 switches it OFF."""
        n = self._n(toutput)
        if value <= 0:
            self._set(toutput, f"LOOP {n}:TYPE", "OFF")
            return
        self.ask(f"LOOP {n}:TYPE MAN;LOOP {n}:PMANUAL {value:g};LOOP {n}:PMANUAL?;CONTROL;CONTROL?", toutput)

    # -- regulation ------------------------------------------------------------------------------
    def _gain(self, tloop: Any, command: str, value: float | None = None) -> float:
        n = self._n(tloop)
        if n in self._no_pid:
            raise NotImplementedError
        try:
            if value is None:
                return self._value(tloop, f"LOOP {n}:{command}?")
            return self._number(self._set(tloop, f"LOOP {n}:{command}", f"{value:g}"))
        except RegulationError as exc:
            if "NACK" not in str(exc):
                raise
            log.warning("%s: Cryo-con %s takes no %s: PID gains left as they are", tloop.name, self.name, command)
            self._no_pid.add(n)
            raise NotImplementedError from None

    def set_kp(self, tloop: Any, kp: float) -> None:
        self._gain(tloop, "PGAIN", kp)

    def get_kp(self, tloop: Any) -> float:
        return self._gain(tloop, "PGAIN")

    def set_ki(self, tloop: Any, ki: float) -> None:
        self._gain(tloop, "IGAIN", ki)

    def get_ki(self, tloop: Any) -> float:
        return self._gain(tloop, "IGAIN")

    def set_kd(self, tloop: Any, kd: float) -> None:
        self._gain(tloop, "DGAIN", kd)

    def get_kd(self, tloop: Any) -> float:
        return self._gain(tloop, "DGAIN")

    def start_regulation(self, tloop: Any) -> None:
        n = self._n(tloop)
        kind = "RAMPP" if tloop.ramprate > 0 else "PID"
        reply = self.ask(f"LOOP {n}:TYPE {kind};LOOP {n}:TYPE?;CONTROL;CONTROL?", tloop)
        if reply.upper().split(";") != [kind, "ON"]:
            raise RegulationError(f"{self._who(tloop)}: regulation of loop {n} not started (reads {reply})")

    def stop_regulation(self, tloop: Any) -> None:
        self._set(tloop, f"LOOP {self._n(tloop)}:TYPE", "OFF")

    def is_regulating(self, tloop: Any) -> bool:
        """Control on with the loop in PID or RAMPP (MAN is a fixed output, not regulation)."""
        n = self._n(tloop)
        kind, _, control = self.ask(f"LOOP {n}:TYPE?;CONTROL?", tloop).upper().partition(";")
        return control == "ON" and kind in ("PID", "RAMPP")

    def set_setpoint(self, tloop: Any, sp: float) -> None:
        self._set(tloop, f"LOOP {self._n(tloop)}:SETPT", f"{sp:g}")

    def get_setpoint(self, tloop: Any) -> float:
        return self._value(tloop, f"LOOP {self._n(tloop)}:SETPT?")

    def start_ramp(self, tloop: Any, sp: float) -> None:
        """The instrument ramps (TYPE RAMPP) from where it is to sp at its RATE; with
        no ramp rate it regulates to sp at once (TYPE PID)."""
        n = self._n(tloop)
        kind = "RAMPP" if tloop.ramprate > 0 else "PID"
        self.ask(f"LOOP {n}:TYPE {kind};LOOP {n}:SETPT {sp:g};LOOP {n}:SETPT?", tloop)

    def stop_ramp(self, tloop: Any) -> None:
        """PID at the present temperature (the Cryo-con has no 'hold the ramp here'): the
        input's last good reading if it has none now (this must not fail a stop)."""
        n = self._n(tloop)
        try:
            here = self.read_input(tloop.input)
        except RegulationError:
            here = self._last_reading.get(tloop.input.channel.upper())
        if here is None:
            self.ask(f"LOOP {n}:TYPE PID;LOOP {n}:TYPE?", tloop)
        else:
            self.ask(f"LOOP {n}:TYPE PID;LOOP {n}:SETPT {here:g};LOOP {n}:SETPT?", tloop)

    def is_ramping(self, tloop: Any) -> bool:
        n = self._n(tloop)
        if n in self._no_ramp_query:
            return False
        try:
            return self.ask(f"LOOP {n}:RAMP?", tloop).upper() == "ON"
        except RegulationError as exc:
            if "NACK" not in str(exc):
                raise
            log.warning("%s: Cryo-con %s does not answer RAMP?: its ramps are taken as over", tloop.name, self.name)
            self._no_ramp_query.add(n)
            return False

    def set_ramprate(self, tloop: Any, rate: float) -> None:
        self._set(tloop, f"LOOP {self._n(tloop)}:RATE", f"{rate * 60.0:g}")

    def get_ramprate(self, tloop: Any) -> float:
        return self._value(tloop, f"LOOP {self._n(tloop)}:RATE?") / 60.0

    # -- custom commands ---------------------------------------------------------------------------
    def heater_range(self, loop: Any, value: Any = None) -> str:
        """`heater_range <loop> [HI|MID|LOW]`: the heater's full scale."""
        n = self._loop_number(f"{self.name} heater_range", loop)
        if value is None:
            return self.ask(f"LOOP {n}:RANGE?")
        wanted = str(value).upper()
        if wanted not in RANGES:
            raise RegulationError(f"{self.name}: heater range {value!r} is not one of {', '.join(RANGES)}")
        got = self._set(None, f"LOOP {n}:RANGE", wanted)
        if got.upper() != wanted:
            raise RegulationError(f"{self._who(None)}: loop {n} heater range {wanted} not taken (reads {got})")
        return got

    def identification(self) -> str:
        return self.ask("*IDN?")
