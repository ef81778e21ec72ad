"""Change events of an MCA device, pushed by the server: the spectra and statistics at
most every `period` seconds while acquiring (and always the last point of a run), State
and Status on every change, settings after every change. A push nobody listens to is
skipped."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import gevent
import tango

from ..pusher import listened


class EventPusher:
    def __init__(self, device, period: float, names: Iterable[str], value: Callable[[str], object]) -> None:
        self.device = device
        self.period = period
        self.names = list(names)    # attributes pushed at each point
        self.value = value          # attribute -> its value for the last point
        self._last = 0.0
        self._pending: gevent.Greenlet | None = None
        self._state = None

    def point(self, final: bool = False) -> None:
        """A new point: push now, or once the period since the last push is over."""
        now = time.monotonic()
        if final or now - self._last >= self.period:
            if self._pending is not None:
                self._pending.kill(block=False)
                self._pending = None
            self._push(now)
        elif self._pending is None:
            self._pending = gevent.spawn_later(self._last + self.period - now, self._deferred)

    def _deferred(self) -> None:
        self._pending = None
        self._push(time.monotonic())

    def _push(self, now: float) -> None:
        self._last = now
        for name in self.names:
            if listened(self.device, name):
                self._send(name, self.value(name))

    def settings(self, values: dict) -> None:
        """Push each listened setting: {attribute: value now}."""
        for name, value in values.items():
            self._send(name, value)

    def state(self, state: tango.DevState, status: str) -> None:
        if (state, status) != self._state:
            self._state = (state, status)
            self._send("State", state)
            self._send("Status", status)

    def _send(self, name: str, value) -> None:
        try:
            if listened(self.device, name):
                self.device.push_change_event(name, value)
        except tango.DevFailed:
            pass  # the device is being deleted
