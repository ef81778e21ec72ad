"""The regulation hardware interface: what a temperature controller (a Cryo-con, a
Lakeshore, a Eurotherm, the simulated furnace) implements so that its inputs, outputs and
loops work as Input, Output and Loop objects, Tango devices and scannable axes.

The method names are BLISS's (bliss.controllers.regulator.Controller), so a BLISS
controller ports method by method. Every method gets the Input/Output/Loop object it acts
on (`.name`, `.channel`, `.config`). The reads are mandatory; the rest is optional:
a method left raising NotImplementedError tells the framework the hardware cannot do it,

- a controller without `start_ramp` gets a software ramp (the framework sends the
  working setpoint with `set_setpoint` as it moves);
- a controller without PID methods (a sensor box, a power supply) is used by SoftLoops,
  which run the PID in the server and drive the output with `set_output_value`.

Calls from the framework are serialized per controller by `self.lock` (a gevent RLock):
a request and its reply on a serial line never interleave with another caller's.
"""

from __future__ import annotations

import inspect
from typing import Any

import gevent.lock

from ..config.release import ReleasedByClose


class Controller(ReleasedByClose):
    """Base of regulation controllers. `config` is the controller's YAML mapping."""

    #: names of methods `command()` may call (the Tango `controller_cmd` command)
    custom_commands: tuple[str, ...] = ()

    def __init__(self, name: str, config: dict[str, Any]) -> None:
        self.name = name
        self.config = config
        self.lock = gevent.lock.RLock()
        self.inputs: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.loops: dict[str, Any] = {}

    # -- life cycle ------------------------------------------------------------------------
    def initialize_controller(self) -> None:
        """Open the connection, check the hardware answers (called once, first)."""

    def initialize_input(self, tinput: Any) -> None:
        pass

    def initialize_output(self, toutput: Any) -> None:
        pass

    def initialize_loop(self, tloop: Any) -> None:
        pass

    def close(self) -> None:
        """Release the hardware (the server is going)."""

    # -- mandatory reads -----------------------------------------------------------------
    def read_input(self, tinput: Any) -> float:
        raise NotImplementedError

    def state_input(self, tinput: Any) -> str:
        """READY, RUNNING, ALARM or FAULT."""
        return "READY"

    def read_output(self, toutput: Any) -> float:
        raise NotImplementedError

    def state_output(self, toutput: Any) -> str:
        return "READY"

    # -- output (optional) --------------------------------------------------------------
    def set_output_value(self, toutput: Any, value: float) -> None:
        raise NotImplementedError

    def start_output_ramp(self, toutput: Any, value: float) -> None:
        raise NotImplementedError

    def stop_output_ramp(self, toutput: Any) -> None:
        raise NotImplementedError

    def is_output_ramping(self, toutput: Any) -> bool:
        raise NotImplementedError

    def set_output_ramprate(self, toutput: Any, rate: float) -> None:
        raise NotImplementedError

    def get_output_ramprate(self, toutput: Any) -> float:
        raise NotImplementedError

    # -- hardware regulation (optional) --------------------------------------------------
    def set_kp(self, tloop: Any, kp: float) -> None:
        raise NotImplementedError

    def get_kp(self, tloop: Any) -> float:
        raise NotImplementedError

    def set_ki(self, tloop: Any, ki: float) -> None:
        raise NotImplementedError

    def get_ki(self, tloop: Any) -> float:
        raise NotImplementedError

    def set_kd(self, tloop: Any, kd: float) -> None:
        raise NotImplementedError

    def get_kd(self, tloop: Any) -> float:
        raise NotImplementedError

    def set_sampling_frequency(self, tloop: Any, value: float) -> None:
        raise NotImplementedError

    def get_sampling_frequency(self, tloop: Any) -> float:
        raise NotImplementedError

    def set_pid_range(self, tloop: Any, pid_range: tuple[float, float]) -> None:
        raise NotImplementedError

    def get_pid_range(self, tloop: Any) -> tuple[float, float]:
        raise NotImplementedError

    def start_regulation(self, tloop: Any) -> None:
        """Start the PID (not the ramp)."""
        raise NotImplementedError

    def stop_regulation(self, tloop: Any) -> None:
        """Stop the PID (not the ramp); the framework then sets the output safe."""
        raise NotImplementedError

    def is_regulating(self, tloop: Any) -> bool:
        """Is the controller's PID running now? (a `restart_safe: false` loop is taken up
        where the controller is when its server starts)"""
        raise NotImplementedError

    def set_setpoint(self, tloop: Any, sp: float) -> None:
        """The setpoint the PID works to now (does not start the PID)."""
        raise NotImplementedError

    def get_setpoint(self, tloop: Any) -> float:
        raise NotImplementedError

    def get_working_setpoint(self, tloop: Any) -> float:
        raise NotImplementedError

    def start_ramp(self, tloop: Any, sp: float) -> None:
        """Ramp the hardware setpoint to sp at the ramp rate (not the PID)."""
        raise NotImplementedError

    def stop_ramp(self, tloop: Any) -> None:
        raise NotImplementedError

    def is_ramping(self, tloop: Any) -> bool:
        raise NotImplementedError

    def set_ramprate(self, tloop: Any, rate: float) -> None:
        raise NotImplementedError

    def get_ramprate(self, tloop: Any) -> float:
        raise NotImplementedError

    # -- custom commands -----------------------------------------------------------------
    def command(self, line: str) -> str:
        """Run one of `custom_commands`: "name arg1 arg2" (the Tango controller_cmd)."""
        name, *args = line.split() or [""]
        if name not in self.custom_commands:
            known = ", ".join(self.custom_commands) or "none"
            raise ValueError(f"{self.name}: unknown command {name!r} (known: {known})")
        method = getattr(self, name)
        try:
            inspect.signature(method).bind(*args)
        except TypeError as exc:
            raise ValueError(f"{self.name}: {name} {' '.join(args)}: {exc}") from None
        with self.lock:
            result = method(*args)
        return "" if result is None else str(result)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
