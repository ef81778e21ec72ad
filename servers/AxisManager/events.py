"""Change events pushed by the server itself: Position (and the dial position with it) at a
steady rate while moving (and always the final value), State on every change, settings
(velocity, limits, offset, ...) after every change. Clients never need to poll."""

from __future__ import annotations

import time
from typing import Any

import tango

from blisstango.core.motion import AxisState

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
    settings events."""

    def __init__(self, device: Any, period: float) -> None:
        self.device = device
        self.period = period
        self._last = 0.0
        self.pushed = 0

    def position(self, value: float, moving: bool, dial: float | None = None) -> None:
        now = time.monotonic()
        if moving and now - self._last < self.period:
            return
        self._last = now
        quality = tango.AttrQuality.ATTR_CHANGING if moving else tango.AttrQuality.ATTR_VALID
        try:
            stamp = time.time()
            if self._listened("Position"):
                self.device.push_change_event("Position", value, stamp, quality)
                self.pushed += 1
            if dial is not None and self._listened("Dial_position"):
                self.device.push_change_event("Dial_position", dial, stamp, quality)
        except tango.DevFailed:
            pass  # no client yet, or the device is being deleted

    def settings(self, values: dict[str, Any]) -> None:
        """Push each listened setting: {attribute: value read back}."""
        try:
            for attr, value in values.items():
                if self._listened(attr):
                    self.device.push_change_event(attr, value)
        except tango.DevFailed:
            pass

    def state(self, dev_state: tango.DevState, status: str) -> None:
        try:
            if self._listened("State"):
                self.device.push_change_event("State", dev_state)
            if self._listened("Status"):
                self.device.push_change_event("Status", status)
        except tango.DevFailed:
            pass

    def _listened(self, attr: str) -> bool:
        """A push nobody listens to costs as much as one somebody does (a scan step pushes
        five); a later subscriber reads the current value when it subscribes anyway."""
        return self.device.is_there_subscriber(attr, tango.EventType.CHANGE_EVENT)
