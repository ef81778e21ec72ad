"""What the Loop, Input and Output devices share: finding their object, the device staying
up in FAULT when it cannot be built, BLISS's `target_*` attributes and `controller_cmd`,
and trend events pushed by the server at a throttled rate, only while somebody listens and
only values that changed since the last push (an idle loop costs its GUIs nothing)."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import gevent
import tango
from tango import DevState, GreenMode
from tango.server import Device, attribute, command, device_property

from blisstango.core.config.root import process_object

from ..config_object import object_name
from ..errors import devfailed, init_failed
from ..pusher import PushedUnderMonitor, listened
from ..request_thread import no_hardware_read, request_hook

log = logging.getLogger("blisstango.servers.Regulation")


def _same(value: Any, last: Any) -> bool:
    """Equal as a client sees it (NaN, the setpoint never set, equals NaN)."""
    if isinstance(value, float) and isinstance(last, float) and math.isnan(value) and math.isnan(last):
        return True
    return last is not None and value == last


class RegulationObject(PushedUnderMonitor, Device):
    """Base of the Regulation devices (not a Tango class itself). The server runs
    BY_DEVICE: pushes and stored states go through servers.pusher, under the monitor
    a client's read of the same attribute holds."""

    green_mode = GreenMode.Gevent
    always_executed_hook = request_hook
    read_attr_hardware = no_hardware_read
    init_error_reason = "RegulationInitError"

    ObjectName = device_property(dtype=str, default_value="",
                                 doc="configuration object name (default: alias, else last field)")
    EventPeriod = device_property(dtype=float, default_value=0.1,
                                  doc="seconds between two change events of a trend value")

    #: core class(es) of the object this device serves
    expected: Any = object
    #: attributes pushed as change events every EventPeriod while somebody listens, when
    #: their value changed
    trend_attributes: tuple[str, ...] = ()

    # -- life cycle ------------------------------------------------------------------------
    def _object_name(self) -> str:
        return object_name(self, self.ObjectName)

    def init_device(self) -> None:
        super().init_device()
        self.obj: Any = None
        self.init_error = ""
        self._pusher: gevent.Greenlet | None = None
        self._pushed: dict[str, Any] = {}
        self._shown: tuple[DevState, str] | None = None  # the State/Status last stored
        try:
            self.obj = process_object(self._object_name(), self.expected)
            for name in ("State", "Status", *self.trend_attributes):
                self.set_change_event(name, True, False)
            self.setup()
        except Exception as exc:  # the device stays up and says why it cannot work
            init_failed(self, f"{self._object_name()}: cannot build the {type(self).__name__.lower()}: {exc}", exc)
            return
        if self.trend_attributes:
            self._pusher = gevent.spawn(self._push_trends, max(0.01, float(self.EventPeriod)))

    def setup(self) -> None:
        """Subclasses: connect to the object (listeners, first state)."""

    def delete_device(self) -> None:
        pusher, self._pusher = getattr(self, "_pusher", None), None
        if pusher is not None:
            pusher.kill()

    # -- events ----------------------------------------------------------------------------
    def push(self, attr: str, value: Any, stamp: float | None = None,
             quality: tango.AttrQuality = tango.AttrQuality.ATTR_VALID) -> None:
        try:
            if listened(self, attr):
                if attr in ("State", "Status"):
                    self.push_change_event(attr, value)
                else:
                    self.push_change_event(attr, value, time.time() if stamp is None else stamp, quality)
                self._pushed[attr] = value
        except tango.DevFailed:
            pass  # the device is being deleted

    def trend_values(self) -> dict[str, Any]:
        """Subclasses: {attribute: value} of the trend attributes now."""
        return {}

    def _push_trends(self, period: float) -> None:
        while True:
            gevent.sleep(period)
            try:
                if any(listened(self, a) for a in self.trend_attributes):
                    stamp = time.time()  # the values' time: read right after it
                    for attr, value in self.trend_values().items():
                        if not _same(value, self._pushed.get(attr)):
                            self.push(attr, value, stamp)
            except Exception:  # noqa: BLE001 - a failed read is shown by the next one
                log.debug("%s: trend read failed", self.get_name(), exc_info=True)

    def set_state_status(self, state: DevState, status: str) -> None:
        """Stored under the monitor (store_state: a State read copies the stored value),
        pushed when it changed."""
        if (state, status) == self._shown:
            return
        self._shown = (state, status)
        self.store_state(state, status)
        self.push("State", state)
        self.push("Status", status)

    # -- BLISS's target_* view ----------------------------------------------------------------
    @attribute(dtype=str, doc="configuration object name")
    @devfailed
    def target_name(self) -> str:
        return self.obj.name

    @attribute(dtype=str)
    @devfailed
    def target_channel(self) -> str:
        return "" if self.obj.channel is None else str(self.obj.channel)

    @attribute(dtype=str)
    @devfailed
    def target_unit(self) -> str:
        return self.obj.unit or ""

    @attribute(dtype=str)
    @devfailed
    def target_config(self) -> str:
        import json

        return json.dumps(self.obj.config, default=str)

    @attribute(dtype=str)
    @devfailed
    def target_state(self) -> str:
        return str(self.obj.state() if callable(self.obj.state) else self.obj.state)

    @attribute(dtype=str, doc="absolute or relative (an external output over an axis)")
    @devfailed
    def target_mode(self) -> str:
        return str(getattr(self.obj, "mode", ""))

    @attribute(dtype=float)
    @devfailed
    def target_read(self) -> float:
        return float(self.obj.read())

    @command(dtype_in=str, dtype_out=str, doc_in="'<command> [args]' of the controller's custom commands")
    @devfailed
    def controller_cmd(self, line: str) -> str:
        controller = getattr(self.obj, "controller", None)
        if getattr(type(controller), "command", None) is None:  # a SoftLoop's answers every name
            raise ValueError(f"{self.obj.name}: no controller commands (a software loop has no hardware)")
        return controller.command(line)
