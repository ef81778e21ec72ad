"""Loop devices: a regulation loop with BLISS's attribute and command names, State ON
(regulating, settled), MOVING (ramping or outside the deadband), OFF (not regulating),
FAULT (stopped by a failure, the reason in Status), trend events for input, output,
setpoint and working setpoint, and the loop's axis (`axis_position`, `axis_move`,
`axis_wait`, `axis_state`, `axis_stop`) honouring Beacon locks.

A setpoint change is a motion of the loop's axis: refused while anybody else holds the
Beacon lock of the loop or of `<loop>_axis`; a lock holder moves through
`axis_move(["@<owner description>", "<position>"])`.
"""

from __future__ import annotations

import json
import math
from typing import Any

import tango
from tango import AttrWriteType, DevState
from tango.server import attribute, command

from blisstango.core import regulation as reg
from blisstango.core.beacon.locks import who_locked

from ..errors import devfailed
from ..pusher import run_under_monitor
from .base import RegulationObject

RW = AttrWriteType.READ_WRITE
TANGO_STATES = {"READY": DevState.ON, "MOVING": DevState.MOVING, "OFF": DevState.OFF,
                "FAULT": DevState.FAULT}


class LoopLockedError(RuntimeError):
    pass


class Loop(RegulationObject):
    """A regulation loop (SoftLoop: PID in this server; Loop: PID in the controller)."""

    expected = reg.Loop
    trend_attributes = ("input_value", "output_value", "setpoint", "working_setpoint")
    #: attributes that change only when a parameter is set: pushed after every change
    parameter_attributes = ("kp", "ki", "kd", "ramprate", "deadband", "deadband_time", "deadband_idle_factor",
                            "setpoint_low_limit", "setpoint_high_limit", "sampling_frequency", "pid_range_low",
                            "pid_range_high", "wait_mode")

    def setup(self) -> None:
        self.axis_name = reg.axis_name(self.obj.name)
        for name in self.parameter_attributes:
            self.set_change_event(name, True, False)
        self.obj.listeners.append(self._on_loop)
        self._sync_state()
        self._show_written({"setpoint": float(self.obj.setpoint), **self._parameter_values()})

    def delete_device(self) -> None:
        super().delete_device()
        loop = getattr(self, "obj", None)
        if loop is not None and self._on_loop in loop.listeners:
            loop.listeners.remove(self._on_loop)

    # -- state -------------------------------------------------------------------------------
    def _on_loop(self, kind: str, *args: Any) -> None:
        if kind == "state":
            self._sync_state()
        elif kind == "setpoint":
            self._show_written({"setpoint": float(args[0])})
            self.push("setpoint", float(args[0]))
        elif kind == "param":
            self._push_parameters()

    def _show_written(self, values: dict[str, Any]) -> None:
        """Each attribute's write value = the loop's own value, whoever set it (a write
        here, a scan, apply_config): clients read it, its events carry it, a panel's
        write field shows it (never Tango's initial 0). A NaN (no setpoint yet) is no
        value Tango accepts as written: the last one stays. Set under the monitor (a
        client's read copies the write value)."""
        def show() -> None:
            attrs = self.get_device_attr()
            for name, value in values.items():
                if not isinstance(value, float) or math.isfinite(value):
                    attrs.get_w_attr_by_name(name).set_write_value(value)

        run_under_monitor(self, show)

    def _parameter_values(self) -> dict[str, Any]:
        loop = self.obj
        return {"kp": loop.kp, "ki": loop.ki, "kd": loop.kd, "ramprate": loop.ramprate,
                "deadband": loop.deadband, "deadband_time": loop.deadband_time,
                "deadband_idle_factor": loop.deadband_idle_factor, "setpoint_low_limit": loop.limits[0],
                "setpoint_high_limit": loop.limits[1], "sampling_frequency": loop.sampling_frequency,
                "pid_range_low": loop.pid_range[0], "pid_range_high": loop.pid_range[1],
                "wait_mode": str(int(loop.wait_mode))}

    def _push_parameters(self) -> None:
        """Every parameter pushed (one change can move others: apply_config, limits)."""
        values = self._parameter_values()
        self._show_written(values)
        for attr, value in values.items():
            self.push(attr, value)

    def _status_text(self) -> str:
        loop = self.obj
        u = f" {loop.unit}" if loop.unit else ""
        state = loop.state
        if state == "FAULT":
            return loop.fault
        if state == "OFF":
            return f"{loop.name}: not regulating (output {loop.output.name} at its safe value {loop.output.safe_value:g})"
        if state == "MOVING":
            if loop.is_ramping():
                return f"{loop.name}: ramping to {loop.setpoint:g}{u} at {loop.ramprate:g}{u}/s"
            return (f"{loop.name}: waiting for {loop.input.name} to stay within {loop.deadband:g}{u} "
                    f"of {loop.setpoint:g}{u} for {loop.deadband_time:g} s")
        return f"{loop.name}: regulating at {loop.setpoint:g}{u}"

    def _sync_state(self) -> None:
        self.set_state_status(TANGO_STATES.get(self.obj.state, DevState.UNKNOWN), self._status_text())

    def dev_state(self) -> DevState:
        if self.obj is None:
            return DevState.FAULT
        return TANGO_STATES.get(self.obj.state, DevState.UNKNOWN)

    def dev_status(self) -> str:
        if self.obj is None:
            return self.init_error
        return self._status_text()

    def trend_values(self) -> dict[str, Any]:
        loop = self.obj
        return {"input_value": self._input_now(), "output_value": self._output_now(),
                "setpoint": loop.setpoint, "working_setpoint": loop.working_setpoint}

    def _sampled(self) -> bool:
        """Regulating, with a sample taken: its values are the loop's own."""
        return self.obj.is_regulating() and self.obj.last_input is not None

    def _input_now(self) -> float:
        """The last regulation sample while regulating, else read (one request: on a
        Cryo-con paced at 0.1 s, reading the output too made each read take 0.2 s)."""
        return self.obj.last_input if self._sampled() else self.obj.input.read()

    def _output_now(self) -> float:
        last = self.obj.last_output
        return last if last is not None and self._sampled() else self.obj.output.read()

    # -- locks ---------------------------------------------------------------------------------
    def _check_lock(self, owner: str | None = None, what: str = "setpoint") -> None:
        for name, holder in who_locked([self.obj.name, self.axis_name]).items():
            if holder != owner:
                raise LoopLockedError(f"{name}: locked by {holder!r}, {what} refused")

    def _move(self, target: float, owner: str | None = None) -> None:
        self._check_lock(owner)
        self.obj.setpoint = target

    # -- setpoint ---------------------------------------------------------------------------------
    @attribute(dtype=float, access=RW, doc="target; writing starts the regulation and the ramp")
    @devfailed
    def setpoint(self) -> float:
        return self.obj.setpoint

    @setpoint.write
    @devfailed
    def setpoint(self, value: float) -> None:
        self._move(value)

    @attribute(dtype=float, doc="the setpoint on its way (ramp)")
    @devfailed
    def working_setpoint(self) -> float:
        return self.obj.working_setpoint

    @attribute(dtype=float, doc="the input's value (last regulation sample while regulating)")
    @devfailed
    def input_value(self) -> float:
        return self._input_now()

    @attribute(dtype=float, doc="the output's value (last sent while regulating)")
    @devfailed
    def output_value(self) -> float:
        return self._output_now()

    @attribute(dtype=float, access=RW, doc="setpoint limits (the loop axis' limits)")
    @devfailed
    def setpoint_low_limit(self) -> float:
        return self.obj.limits[0]

    @setpoint_low_limit.write
    @devfailed
    def setpoint_low_limit(self, value: float) -> None:
        self.obj.limits = (value, self.obj.limits[1])

    @attribute(dtype=float, access=RW)
    @devfailed
    def setpoint_high_limit(self) -> float:
        return self.obj.limits[1]

    @setpoint_high_limit.write
    @devfailed
    def setpoint_high_limit(self, value: float) -> None:
        self.obj.limits = (self.obj.limits[0], value)

    @attribute(dtype=float, access=RW, doc="input units per second; 0: the setpoint at once")
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

    @attribute(dtype=bool)
    @devfailed
    def is_regulating(self) -> bool:
        return self.obj.is_regulating()

    @attribute(dtype=bool, doc="the working setpoint starts from the input's value")
    @devfailed
    def ramp_from_pv(self) -> bool:
        return True

    # -- deadband ----------------------------------------------------------------------------------
    @attribute(dtype=float, access=RW, doc="settled: input within setpoint +/- deadband for deadband_time")
    @devfailed
    def deadband(self) -> float:
        return self.obj.deadband

    @deadband.write
    @devfailed
    def deadband(self, value: float) -> None:
        self.obj.deadband = value

    @attribute(dtype=float, access=RW)
    @devfailed
    def deadband_time(self) -> float:
        return self.obj.deadband_time

    @deadband_time.write
    @devfailed
    def deadband_time(self, value: float) -> None:
        self.obj.deadband_time = value

    @attribute(dtype=float, access=RW, doc="output left alone within deadband x this factor (0..1)")
    @devfailed
    def deadband_idle_factor(self) -> float:
        return self.obj.deadband_idle_factor

    @deadband_idle_factor.write
    @devfailed
    def deadband_idle_factor(self, value: float) -> None:
        self.obj.deadband_idle_factor = value

    @attribute(dtype=bool)
    @devfailed
    def is_in_deadband(self) -> bool:
        return self.obj.is_in_deadband()

    @attribute(dtype=bool)
    @devfailed
    def is_in_idleband(self) -> bool:
        return self.obj.is_in_idleband()

    @attribute(dtype=str, access=RW, doc="what a move of the axis waits for: 1 RAMP, 2 DEADBAND")
    @devfailed
    def wait_mode(self) -> str:
        return str(int(self.obj.wait_mode))

    @wait_mode.write
    @devfailed
    def wait_mode(self, value: str) -> None:
        self.obj.wait_mode = value

    # -- PID ---------------------------------------------------------------------------------------
    @attribute(dtype=float, access=RW)
    @devfailed
    def kp(self) -> float:
        return self.obj.kp

    @kp.write
    @devfailed
    def kp(self, value: float) -> None:
        self.obj.kp = value

    @attribute(dtype=float, access=RW)
    @devfailed
    def ki(self) -> float:
        return self.obj.ki

    @ki.write
    @devfailed
    def ki(self, value: float) -> None:
        self.obj.ki = value

    @attribute(dtype=float, access=RW)
    @devfailed
    def kd(self) -> float:
        return self.obj.kd

    @kd.write
    @devfailed
    def kd(self, value: float) -> None:
        self.obj.kd = value

    @attribute(dtype=float, access=RW, doc="PID samples per second")
    @devfailed
    def sampling_frequency(self) -> float:
        return self.obj.sampling_frequency

    @sampling_frequency.write
    @devfailed
    def sampling_frequency(self, value: float) -> None:
        self.obj.sampling_frequency = value

    @attribute(dtype=float, access=RW, doc="PID output range, mapped onto the output's limits")
    @devfailed
    def pid_range_low(self) -> float:
        return self.obj.pid_range[0]

    @pid_range_low.write
    @devfailed
    def pid_range_low(self, value: float) -> None:
        self.obj.pid_range = (value, self.obj.pid_range[1])

    @attribute(dtype=float, access=RW)
    @devfailed
    def pid_range_high(self) -> float:
        return self.obj.pid_range[1]

    @pid_range_high.write
    @devfailed
    def pid_range_high(self, value: float) -> None:
        self.obj.pid_range = (self.obj.pid_range[0], value)

    # -- what the loop is made of ------------------------------------------------------------------
    @attribute(dtype=str)
    @devfailed
    def target_input_name(self) -> str:
        return self.obj.input.name

    @attribute(dtype=str)
    @devfailed
    def target_output_name(self) -> str:
        return self.obj.output.name

    def _device_of(self, alias: str) -> str:
        try:
            return tango.Database().get_device_from_alias(alias)
        except tango.DevFailed:
            return ""

    @attribute(dtype=str)
    @devfailed
    def target_input_device_name(self) -> str:
        return self._device_of(self.obj.input.name)

    @attribute(dtype=str)
    @devfailed
    def target_output_device_name(self) -> str:
        return self._device_of(self.obj.output.name)

    @attribute(dtype=str, doc="JSON: the last setpoint change (start, target, overshoot, settling_time)")
    @devfailed
    def last_step(self) -> str:
        return json.dumps(self.obj.last_step())

    @attribute(dtype=str, doc="JSON: sampling period error statistics of the software PID (ms)")
    @devfailed
    def timing(self) -> str:
        return json.dumps(self.obj.timing() if hasattr(self.obj, "timing") else {})

    # -- the loop as an axis -------------------------------------------------------------------------
    @attribute(dtype=float, access=RW, doc="the input's value; writing moves the axis (setpoint)")
    @devfailed
    def axis_position(self) -> float:
        return self.trend_values()["input_value"]

    @axis_position.write
    @devfailed
    def axis_position(self, value: float) -> None:
        self._move(value)

    @attribute(dtype=str, doc="READY, MOVING (not there yet, as wait_mode says) or FAULT")
    @devfailed
    def axis_state(self) -> str:
        if self.obj.fault:
            return "FAULT"
        return "READY" if self.obj.axis_ready() else "MOVING"

    @command(dtype_in=(str,), doc_in="['@<lock owner>'?, position]: move the loop axis (set the setpoint)")
    @devfailed
    def axis_move(self, args: list[str]) -> None:
        args = list(args)
        owner = args.pop(0)[1:] if args and args[0].startswith("@") else None
        if len(args) != 1:
            raise ValueError(f"{self.obj.name}: axis_move takes ['@owner'?, position], got {args}")
        try:
            target = float(args[0])
        except ValueError:
            raise ValueError(f"{self.obj.name}: axis_move position must be a number, got {args[0]!r}") from None
        self._move(target, owner)

    @command(dtype_in=float, dtype_out=bool,
             doc_in="seconds at most (<= 0: no limit)", doc_out="True: reached; False: still moving")
    @devfailed
    def axis_wait(self, timeout: float) -> bool:
        """Return when the last setpoint is reached as wait_mode says; the fault if the
        loop fails meanwhile."""
        return self.obj.wait(None if timeout <= 0 or math.isnan(timeout) else timeout)

    @command
    @devfailed
    def axis_stop(self) -> None:
        self.obj.stop()

    # -- commands ----------------------------------------------------------------------------------
    @command
    @devfailed
    def stop(self) -> None:
        """Stop the ramp where it is (regulation goes on there)."""
        self.obj.stop()

    @command
    @devfailed
    def abort(self) -> None:
        """As stop (the heater stays regulated; stop_regulation switches it off)."""
        self.obj.abort()

    @command
    @devfailed
    def start_regulation(self) -> None:
        """Regulate again towards the setpoint (after stop_regulation or a fault)."""
        self._check_lock(what="start_regulation")
        self.obj.start_regulation()

    @command
    @devfailed
    def stop_regulation(self) -> None:
        """Stop regulating; the output goes to its safe value."""
        self.obj.stop_regulation()

    @command(dtype_in=float, doc_in="setpoint")
    @devfailed
    def start_ramping(self, value: float) -> None:
        self._move(value)

    @command
    @devfailed
    def stop_ramping(self) -> None:
        self.obj.stop()

    @command
    @devfailed
    def reset_timing(self) -> None:
        if hasattr(self.obj, "reset_timing"):
            self.obj.reset_timing()

    @command
    @devfailed
    def ApplyConfig(self) -> None:
        """Back to the YAML values (persisted parameters forgotten; the setpoint is kept)."""
        self.obj.apply_config()

    @command
    @devfailed
    def SettingsToConfig(self) -> None:
        """Write the current parameters into the YAML file, comments kept."""
        self.obj.settings_to_config()
