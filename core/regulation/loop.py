"""Loop: the regulation of one Input by one Output towards a setpoint.

Setting the setpoint starts the regulation (if it was off) and the ramp: the working
setpoint moves from the input's value to the setpoint at `ramprate` (at once if 0). The
loop is *settled* when the ramp is over and the input has stayed within `deadband` of
the setpoint for `deadband_time`. Its state is FAULT (regulation stopped by a failure,
reason in `fault`), OFF (not regulating), MOVING (ramping or not settled) or READY.

The Loop class is the hardware loop: the PID runs in the controller, this object sends
it parameters and watches the input (`monitor_period`). SoftLoop (softloop.py) runs the
PID itself. Both persist their parameters as settings (`settings:<loop>`, YAML values as
defaults), refuse bad values without changing anything, stop after 3 consecutive
read/write failures with the output at its safe value, and never start regulating when
built: a restarted server leaves the output safe until somebody sets a setpoint.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event

from blisstango.core.beacon.settings import object_settings

from ..config.release import ReleasedByClose
from .errors import RegulationError
from .io import ObjectCounterController
from .loop_parameters import LoopParameters, WaitMode
from .ramp import SoftRamp

log = logging.getLogger("blisstango.regulation")

#: consecutive read/write failures after which regulation stops
MAX_FAILURES = 3


class Loop(ReleasedByClose, LoopParameters):
    """A regulation loop whose PID runs in the controller (hardware regulation)."""

    WaitMode = WaitMode
    is_soft = False
    #: the configuration tree the loop came from (settings_to_config writes there)
    config_root: str | None = None

    def __init__(self, controller: Any, config: dict[str, Any], input: Any, output: Any,
                 settings_factory: Callable[[str, dict], Any] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name: str = str(config["name"])
        self.controller = controller
        self.config = config
        self.channel = config.get("channel")
        self.input = input
        self.output = output
        self.clock = clock
        self.monitor_period = float(config.get("monitor_period", 0.1))
        self.restart_safe = bool(config.get("restart_safe", True))
        factory = settings_factory or object_settings
        self.settings = factory(self.name, self._config_defaults())
        self._values: dict[str, Any] = {**self._config_defaults(), **self.settings.get_all()}
        self.listeners: list[Callable[..., None]] = []
        self._ramp = SoftRamp(clock)
        self._ramp.rate = self.ramprate
        self._hw_ramp: bool | None = None
        self._regulating = False
        self._state = "OFF"
        self.fault = ""
        self._entered: float | None = None      # when the input entered the deadband
        self._settled = False
        self._last_input: float | None = None
        self._last_output: float | None = None
        self._task: gevent.Greenlet | None = None
        self._tick = gevent.event.Event()
        self._failures = {"input": 0, "output": 0}
        self._step: dict[str, Any] | None = None
        self._counter_controller = ObjectCounterController(self, self.unit or None)
        self._axis = None

    # -- life cycle -------------------------------------------------------------------------
    def initialize(self) -> None:
        """Bring the hardware to the persisted parameters, regulation off and the output
        safe (a restarted server never heats on its own) — unless `restart_safe: false`:
        a controller still regulating (it went on while its server was down) is taken up
        as it is, towards the kept setpoint."""
        self._apply_pid_parameters()
        if self.restart_safe:
            try:
                self._stop_regulation_hw()
            except NotImplementedError:
                pass
            self.output.set_safe()
        else:
            self._take_up()

    def _take_up(self) -> None:
        try:
            regulating = bool(self._hw("is_regulating"))
        except NotImplementedError:
            log.warning("%s: restart_safe is false but controller %s cannot tell whether it regulates: "
                        "shown as not regulating, hardware left as it is", self.name, self.controller.name)
            return
        if not regulating:
            return
        try:
            self._hw("is_ramping")
            self._hw_ramp = True       # the controller ramps itself
        except NotImplementedError:
            self._hw_ramp = False
        self._regulating = True
        self._ensure_task()
        self._update_state()
        log.info("%s: controller %s regulating at %g: taken up (restart_safe false)", self.name,
                 self.controller.name, self.setpoint)

    # -- setpoint and ramp ---------------------------------------------------------------
    @property
    def setpoint(self) -> float:
        """The target; NaN before the first one."""
        sp = self._values.get("setpoint")
        return math.nan if sp is None else float(sp)

    @setpoint.setter
    def setpoint(self, value: float) -> None:
        """Start the regulation (if off) and the ramp from the input to value."""
        sp = self.check_setpoint(value)
        start = self._read_input_for_ramp()
        self._store(setpoint=sp)
        self._reset_settling()
        self._step = {"start": start, "target": sp, "time": self.clock(), "epoch": time.time(),
                      "overshoot": 0.0, "settling_time": None}
        self._emit("setpoint", sp)
        self._start(sp, start)

    def _start(self, sp: float, start: float) -> None:
        self.fault = ""
        self._failures = {"input": 0, "output": 0}
        if not self._regulating:
            self._start_regulation_hw(start, sp)
            self._regulating = True
        self._start_ramping(start, sp)
        self._ensure_task()
        self._update_state()

    def _read_input_for_ramp(self) -> float:
        try:
            return self.input.read()
        except Exception as exc:
            raise RegulationError(f"{self.name}: cannot start: input {self.input.name} does not "
                                  f"answer: {exc}") from None

    def _start_ramping(self, start: float, sp: float) -> None:
        if self._hw_ramp is not False:
            try:
                self._hw("start_ramp", sp)
                self._hw_ramp = True
                return
            except NotImplementedError:
                self._hw_ramp = False
        self._ramp.rate = self.ramprate
        self._ramp.start(start, sp)
        self._send_working_setpoint()

    def _send_working_setpoint(self) -> None:
        """Software ramp on a hardware PID: the controller gets the working setpoint."""
        wsp = self._ramp.value()
        if wsp is not None:
            self._hw("set_setpoint", wsp)

    @property
    def working_setpoint(self) -> float:
        if self._hw_ramp:
            try:
                return float(self._hw("get_working_setpoint"))
            except NotImplementedError:
                return self.setpoint
        value = self._ramp.value()
        return self.setpoint if value is None else value

    def is_ramping(self) -> bool:
        if self._hw_ramp:
            return bool(self._hw("is_ramping"))
        return self._ramp.is_ramping()

    def stop(self) -> None:
        """Stop the ramp where it is: that becomes the setpoint (regulation goes on)."""
        if not self._regulating:
            return
        if self._hw_ramp:
            try:
                self._hw("stop_ramp")
            except NotImplementedError:
                pass
        else:
            self._ramp.stop()
            self._send_working_setpoint()
        wsp = self.working_setpoint
        self._store(setpoint=wsp)
        self._emit("setpoint", wsp)
        self._reset_settling()
        self._update_state()

    def abort(self) -> None:
        """As BLISS: the same as stop (the heater is not switched off; stop_regulation does)."""
        self.stop()

    # -- regulation on/off -----------------------------------------------------------------
    def is_regulating(self) -> bool:
        return self._regulating

    def start_regulation(self) -> None:
        """Regulate again (after stop_regulation or a fault) towards the stored setpoint,
        ramping from where the input is; the current input if no setpoint was ever set."""
        start = self._read_input_for_ramp()
        sp = self._values.get("setpoint")
        if sp is None:
            sp = start
            self._store(setpoint=sp)
            self._emit("setpoint", sp)
        self._reset_settling()
        self._start(float(sp), start)

    def stop_regulation(self) -> None:
        """Stop regulating; the output goes to its safe value."""
        self._halt()
        self.output.set_safe()
        self._update_state()

    def _halt(self) -> None:
        task, self._task = self._task, None
        if task is not None and task is not gevent.getcurrent():
            task.kill()
        was = self._regulating
        self._regulating = False
        if self._hw_ramp:
            try:
                self._hw("stop_ramp")
            except NotImplementedError:
                pass
        else:
            self._ramp.stop()
        if was:
            try:
                self._stop_regulation_hw()
            except NotImplementedError:
                pass

    def _fail(self, reason: str) -> None:
        """Regulation cannot go on: stop it, output safe, state FAULT with the reason."""
        log.error("%s", reason)
        try:
            self._halt()
        except Exception as exc:  # noqa: BLE001 - the output must still be made safe
            reason += f"; stopping the regulation failed: {exc}"
        try:
            value = self.output.set_safe()
            reason += f"; output {self.output.name} set to its safe value {value:g}"
        except Exception as exc:  # noqa: BLE001
            reason += f"; setting output {self.output.name} to its safe value FAILED: {exc}"
        self.fault = reason
        self._update_state()

    # hardware regulation hooks (SoftLoop replaces them)
    def _start_regulation_hw(self, start: float, sp: float) -> None:
        self._hw("start_regulation")

    def _stop_regulation_hw(self) -> None:
        self._hw("stop_regulation")

    # -- watching the input ----------------------------------------------------------------
    def _ensure_task(self) -> None:
        if self._task is None:
            self._task = gevent.spawn(self._run)

    def _run(self) -> None:
        """Hardware loop: read input, output and working setpoint every monitor_period."""
        try:
            while self._regulating:
                if not self._hw_ramp and self._ramp.is_ramping():
                    self._send_working_setpoint()
                self._monitor_sample()
                gevent.sleep(self.monitor_period)
        finally:
            if self._task is gevent.getcurrent():
                self._task = None

    def _monitor_sample(self) -> None:
        now = self.clock()
        x = self._guarded("input", self.input.read)
        if x is None:
            return
        y = self._guarded("output", self.output.read)
        if y is None:
            return
        self._last_input, self._last_output = x, y
        self._observe(x, now)
        self._emit("sample", now, x, y, self.working_setpoint)

    def _guarded(self, which: str, fn: Callable[[], float]) -> float | None:
        """fn(); a failure counts, the MAX_FAILURES-th in a row stops the regulation."""
        try:
            value = fn()
        except Exception as exc:  # noqa: BLE001 - counted, reported at the limit
            self._failures[which] += 1
            obj = self.input if which == "input" else self.output
            log.warning("%s: %s %s failed (%d in a row): %s", self.name, which, obj.name,
                        self._failures[which], exc)
            if self._failures[which] >= MAX_FAILURES:
                self._fail(f"{self.name}: regulation stopped after {MAX_FAILURES} consecutive failures "
                           f"of {which} {obj.name}: {exc}")
            return None
        self._failures[which] = 0
        return value

    def _reset_settling(self) -> None:
        self._entered = None
        self._settled = False

    def _observe(self, x: float, now: float) -> None:
        """One input value: deadband tracking, state, waiters woken."""
        sp = self.setpoint
        inside = abs(x - sp) <= self.deadband
        if inside and not self.is_ramping():
            if self._entered is None:
                self._entered = now
            self._settled = now - self._entered >= self.deadband_time
        else:
            self._entered = None
            self._settled = False
        step = self._step
        if step is not None:
            beyond = (x - step["target"]) if step["target"] >= step["start"] else (step["target"] - x)
            step["overshoot"] = max(step["overshoot"], beyond)
            if self._settled and step["settling_time"] is None:
                step["settling_time"] = now - step["time"]
        self._update_state()
        tick, self._tick = self._tick, gevent.event.Event()
        tick.set()

    def is_in_deadband(self) -> bool:
        x = self._last_input if self._regulating and self._last_input is not None else self.input.read()
        return abs(x - self.setpoint) <= self.deadband

    def is_in_idleband(self) -> bool:
        x = self._last_input if self._regulating and self._last_input is not None else self.input.read()
        return abs(x - self.setpoint) <= self.deadband * self.deadband_idle_factor

    def last_step(self) -> dict[str, Any]:
        """The last setpoint change as the input answered it: start, target, overshoot
        (input units past the target), settling_time (s from the change until settled,
        None while not yet)."""
        return dict(self._step) if self._step else {}

    @property
    def settled(self) -> bool:
        """Ramp over and input within the deadband for deadband_time."""
        return self._regulating and self._settled

    # -- state -------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    def _compute_state(self) -> str:
        if self.fault:
            return "FAULT"
        if not self._regulating:
            return "OFF"
        if self.is_ramping() or not self._settled:
            return "MOVING"
        return "READY"

    def _update_state(self) -> None:
        new = self._compute_state()
        if new != self._state:
            self._state = new
            self._emit("state", new, self.fault)

    def axis_ready(self) -> bool:
        """Has the last setpoint been reached, as wait_mode defines it?"""
        if not self._regulating:
            return True
        if self.wait_mode is WaitMode.RAMP:
            return not self.is_ramping()
        return self._settled and not self.is_ramping()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until axis_ready(); False at timeout. RegulationError if the loop faults."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self.fault:
                raise RegulationError(self.fault)
            if self.axis_ready():
                return True
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            step = 0.5 if remaining is None else min(0.5, remaining)
            if self.wait_mode is WaitMode.RAMP and not self._hw_ramp and self._ramp.is_ramping():
                step = min(step, max(0.0, self._ramp.end_time() - self.clock()) + 1e-3)
            self._tick.wait(step)

    # -- notifications -----------------------------------------------------------------------
    def _emit(self, kind: str, *args: Any) -> None:
        for fn in list(self.listeners):
            try:
                fn(kind, *args)
            except Exception:  # noqa: BLE001 - a listener never breaks the regulation
                log.exception("%s: listener %r failed on %s", self.name, fn, kind)

    # -- counters, axis, reads ----------------------------------------------------------
    def read(self) -> float:
        """The loop as a counter: its working setpoint (BLISS's choice)."""
        return self.working_setpoint

    @property
    def counters(self) -> list:
        """Input, output and working setpoint (what `ct(loop)` counts)."""
        return [*self.input.counters, *self.output.counters, *self._counter_controller.counters]

    @property
    def counter_controller(self) -> ObjectCounterController:
        return self._counter_controller

    @property
    def axis(self) -> Any:
        """The loop as an axis, `<loop>_axis`."""
        if self._axis is None:
            from .axis import LoopAxis

            self._axis = LoopAxis(self)
        return self._axis

    @property
    def last_input(self) -> float | None:
        return self._last_input

    @property
    def last_output(self) -> float | None:
        return self._last_output

    def close(self) -> None:
        """The server is going: stop watching (the hardware keeps what it has)."""
        task, self._task = self._task, None
        if task is not None:
            task.kill()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}: {self.input.name} -> {self.output.name}>"
