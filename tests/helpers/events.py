"""Following one attribute's change events in a test: the values as Tango's event thread
delivers them, and a wait for a condition on them (events come after the command or
the read that caused them)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import tango


class ChangeEvents:
    """`with ChangeEvents(dev, "State") as ev:` ... `ev.wait_for(lambda values: ..., 10)`;
    error events are left out of `values`."""

    def __init__(self, dev: tango.DeviceProxy, attr: str) -> None:
        self.dev, self.attr = dev, attr
        self.values: list = []
        self._cond = threading.Condition()
        self._id: int | None = None

    def _on(self, ev) -> None:
        if not ev.err:
            with self._cond:
                self.values.append(ev.attr_value.value)
                self._cond.notify_all()

    def __enter__(self) -> ChangeEvents:
        self._id = self.dev.subscribe_event(self.attr, tango.EventType.CHANGE_EVENT, self._on)
        return self

    def __exit__(self, *exc) -> None:
        self.dev.unsubscribe_event(self._id)

    def count(self) -> int:
        with self._cond:
            return len(self.values)

    def wait_for(self, predicate: Callable[[list], bool], timeout: float) -> bool:
        """predicate(values) became true within timeout s."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.values), timeout)
