"""Change events the way a LimaCCDs device pushes them (its TangoEvent property set), at a
bounded rate: a value that changes after a quiet period is pushed at once, a value that
keeps changing at most `rate` times a second, and the last value always reaches the
clients (it is pushed when its period ends). The pushes run in a thread of their own, so
the acquisition never waits on a client."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import tango

from ..pusher import listened

log = logging.getLogger(__name__)


class ThrottledPusher:
    """mark(names) from any thread; values are read by `read(name)` when pushed."""

    def __init__(self, device: tango.server.Device, read: Callable[[str], object], rate: float,
                 rates: dict[str, float] | None = None) -> None:
        self.device = device
        self.read = read
        self.period = 1.0 / rate if rate > 0 else 0.0
        self.periods = {n: 1.0 / r for n, r in (rates or {}).items() if r > 0}
        self._dirty: set[str] = set()
        self._urgent: set[str] = set()
        self._last: dict[str, float] = {}
        self._cond = threading.Condition()
        self._stop = False
        self.pushed = 0
        self._thread = threading.Thread(target=self._loop, name="lima-events", daemon=True)
        self._thread.start()

    def mark(self, names, at_once: bool = False) -> None:
        """at_once: push these now whatever their rate (values a client waits for, paced
        by that client)."""
        with self._cond:
            self._dirty.update(names)
            if at_once:
                self._urgent.update(names)
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(2)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._dirty and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                now = time.monotonic()
                due, wait = [], None
                for name in self._dirty:
                    at = self._last.get(name, 0.0) + self.periods.get(name, self.period)
                    if at <= now or name in self._urgent:
                        due.append(name)
                    else:
                        wait = at - now if wait is None else min(wait, at - now)
                self._dirty.difference_update(due)
                self._urgent.difference_update(due)
                if not due:
                    self._cond.wait(wait)
                    continue
            for name in sorted(due):
                self._last[name] = time.monotonic()
                self._push(name)

    def _push(self, name: str) -> None:
        try:
            with tango.AutoTangoMonitor(self.device):
                if not listened(self.device, name):
                    return  # a later subscriber reads the current value when it subscribes
                value = self.read(name)
                if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
                    self.device.push_change_event(name, *value)  # DevEncoded (format, data)
                else:
                    self.device.push_change_event(name, value)
                self.pushed += 1
        except Exception as exc:  # noqa: BLE001 - a failed push must not stop the others
            log.debug("push %s failed: %s", name, exc)
