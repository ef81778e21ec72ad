"""Valve and shutter devices (Tango classes WagoValve and WagoShutter, `<domain>/valve/<name>`,
`<domain>/shutter/<name>`): State OPEN / CLOSE from the position switches, MOVING while a
command is under way, FAULT when a switch did not come within the timeout (Status names
the actuator and the switch) or the Wago cannot be reached. Open and Close return at
once; State and Status push change events."""

from __future__ import annotations

import logging
import threading

import tango
from tango import DevState, GreenMode
from tango.server import Device, command, device_property

from blisstango.core.config.root import process_object
from blisstango.core.wago.actuator import CLOSED, FAULT, MOVING, OPEN, WagoActuator

from ..config_object import object_name
from ..errors import devfailed, init_failed
from ..request_thread import no_hardware_read, request_hook

log = logging.getLogger(__name__)

STATES = {OPEN: DevState.OPEN, CLOSED: DevState.CLOSE, MOVING: DevState.MOVING, FAULT: DevState.FAULT}
MOVING_PERIOD = 0.02  # s between switch reads while a command is under way


class _ActuatorDevice(Device):
    green_mode = GreenMode.Synchronous
    always_executed_hook = request_hook
    read_attr_hardware = no_hardware_read
    init_error_reason = "WagoInitError"

    ObjectName = device_property(dtype=str, default_value="", doc="configuration object name (default: alias)")

    def _object_name(self) -> str:
        return object_name(self, self.ObjectName)

    def init_device(self) -> None:
        super().init_device()
        self.init_error = ""
        self.actuator: WagoActuator | None = None
        self._watcher: threading.Thread | None = None
        self._wake = threading.Event()
        self._stop = False
        self._lock = threading.Lock()
        try:
            self.actuator = process_object(self._object_name(), WagoActuator, "WagoActuator (plugin wago)")
        except Exception as exc:  # the device stays up and says why it cannot work
            init_failed(self, f"{self._object_name()}: cannot build the {type(self).__name__}: {exc}", exc)
            return
        for name in ("State", "Status"):
            self.set_change_event(name, True, False)
        self.set_state(DevState.UNKNOWN)
        self.set_status(f"{self.actuator.name}: reading its switches")
        self._watcher = threading.Thread(target=self._watch, name=f"watch {self.actuator.name}", daemon=True)
        self._watcher.start()

    def delete_device(self) -> None:
        self._stop = True
        self._wake.set()
        if self._watcher is not None:
            self._watcher.join(5)

    def _update(self) -> str:
        """Read the switches, set State/Status, push them if they changed (the watcher
        thread and Open/Close both call it)."""
        act = self.actuator
        with self._lock:
            try:
                state = act.read_state()
                state_, status = STATES.get(state, DevState.UNKNOWN), act.status_of(state)
            except Exception as exc:  # noqa: BLE001 - the Wago is unreachable: say so
                state, state_, status = FAULT, DevState.FAULT, f"{act.name}: {exc}"
            changed = state_ != self.get_state() or status != self.get_status()
            self.set_state(state_)
            self.set_status(status)
        if changed:
            for name, value in (("State", state_), ("Status", status)):
                self.push_change_event(name, value)
        return state

    def _watch(self) -> None:
        while not self._stop:
            try:
                state = self._update()
            except tango.DevFailed as exc:  # an event not pushed (the device busy in a long call):
                state = None                # the next change is; the watcher must go on
                log.warning("%s: change event not pushed: %s", self.get_name(), exc.args[0].desc.strip())
            self._wake.wait(MOVING_PERIOD if state == MOVING else self.actuator.wago.polling_time)
            self._wake.clear()

    @command(doc_in="open; returns at once, State follows (MOVING, then OPEN or FAULT)")
    @devfailed
    def Open(self) -> None:
        with self._lock:
            self.actuator.start_open()
        self._update()
        self._wake.set()

    @command(doc_in="close; returns at once, State follows (MOVING, then CLOSE or FAULT)")
    @devfailed
    def Close(self) -> None:
        with self._lock:
            self.actuator.start_close()
        self._update()
        self._wake.set()

    @command(dtype_out=float, doc_out="seconds the switches may take after a command")
    def Timeout(self) -> float:
        return self.actuator.timeout if self.actuator else 0.0


class WagoValve(_ActuatorDevice):
    """A valve driven by a Wago output."""


class WagoShutter(_ActuatorDevice):
    """A shutter driven by a Wago output."""
