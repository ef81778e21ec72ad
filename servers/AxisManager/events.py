"""Change events pushed by the server itself: Position (and the dial position with it) at a
steady rate while moving (and always the final value), State on every change, settings
(velocity, limits, offset, ...) after every change. Clients never need to poll."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import tango

from blisstango.core.motion import AxisState

from ..pusher import listened, run_under_monitor

STATE_MAP = [
    ("MOVING", tango.DevState.MOVING),
    ("FAULT", tango.DevState.FAULT),
    ("OFF", tango.DevState.OFF),
    ("DISABLED", tango.DevState.DISABLE),
    ("LIMPOS", tango.DevState.ALARM),
    ("LIMNEG", tango.DevState.ALARM),
    ("READY", tango.DevState.ON),
]


def tango_state(state: AxisState) -> tango.DevState:
    """BLISS axis-server mapping: READY->ON, MOVING->MOVING, limits->ALARM, ..."""
    for name, dev_state in STATE_MAP:
        if name in state:
            return dev_state
    return tango.DevState.UNKNOWN


def status_text(name: str, state: AxisState) -> str:
    return f"{name}: " + "; ".join(state.describe(n) for n in state.current_states_names)


#: attributes that change only when a setting changes: pushed after every change
SETTINGS = ("Velocity", "Acceleration", "AccTime", "Offset", "Sign", "Backlash", "Limits", "Low_limit",
            "High_limit", "Step_size")


class EventPusher:
    """Rate-limited Position events (period in s), unconditional final ones, State events,
    settings events.

    Each group of pushes is ONE job under the device's monitor (servers.pusher): the hub
    hands the pusher thread one job per change instead of one per attribute, and a job
    for an attribute nobody listens to is not made at all (a scan step with only the
    ScanServer listening to Position: one job, where storing State and the write value
    apart made four). `prepare()` runs first in every job (the device's write value)."""

    def __init__(self, device: Any, period: float, prepare: Callable[[], None] = lambda: None) -> None:
        self.device = device
        self.period = period
        self.prepare = prepare
        self._last = 0.0

    def position(self, value: float, moving: bool, dial: float | None = None) -> None:
        now = time.monotonic()
        if moving and now - self._last < self.period:
            return
        self._last = now
        position, dial_listened = listened(self.device, "Position"), dial is not None and listened(self.device, "Dial_position")
        if not (position or dial_listened):
            return
        quality = tango.AttrQuality.ATTR_CHANGING if moving else tango.AttrQuality.ATTR_VALID
        stamp = time.time()

        def push() -> None:
            self.prepare()
            if position:
                self.device.push_change_event("Position", value, stamp, quality)
            if dial_listened:
                self.device.push_change_event("Dial_position", dial, stamp, quality)

        self._run(push)

    def settings(self, values: dict[str, Any]) -> None:
        """Push each listened setting: {attribute: value read back}."""
        heard = {attr: value for attr, value in values.items() if listened(self.device, attr)}
        if heard:
            self._run(lambda: [self.device.push_change_event(a, v) for a, v in heard.items()])

    def state(self, dev_state: tango.DevState, status: str) -> None:
        """Store State and Status and push them, when somebody listens: cppTango's events
        of those two send the stored values (a read asks dev_state, stored or not)."""
        state, status_listened = listened(self.device, "State"), listened(self.device, "Status")
        if not (state or status_listened):
            return

        def push() -> None:
            self.prepare()
            self.device.set_state(dev_state)
            self.device.set_status(status)
            if state:
                self.device.push_change_event("State", dev_state)
            if status_listened:
                self.device.push_change_event("Status", status)

        self._run(push)

    def _run(self, job: Callable[[], None]) -> None:
        """job() under the device's monitor (from the hub: in the pusher thread, later)."""
        def guarded() -> None:
            try:
                job()
            except tango.DevFailed:
                pass  # the device is being deleted

        run_under_monitor(self.device, guarded)
