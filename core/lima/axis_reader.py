"""Positions of beamline axes as a simulated detector sees them: through Tango, by name
(the device alias), from the Position change events their server pushes, or read at once
when a frame must see where the axes are now (a step scan's trigger comes right after
the motion ended: its last event may still be on its way)."""

from __future__ import annotations

import logging
import threading
import time

import tango

log = logging.getLogger(__name__)

RETRY = 2.0  # s between attempts to reach an axis that did not answer


class _Axis:
    def __init__(self, name: str) -> None:
        self.name = name
        self.proxy: tango.DeviceProxy | None = None
        self.event_id: int | None = None
        self.value: float | None = None
        self.tried = 0.0


class AxisReader:
    """{axis: position} for the named axes; an axis that cannot be reached is left out
    (the beam keeps that parameter at its base value) and tried again later."""

    def __init__(self, names: list[str], timeout: float = 1.0) -> None:
        self._axes = {n: _Axis(n) for n in names}
        self._lock = threading.Lock()
        self.timeout_ms = int(timeout * 1000)

    def _connect(self, ax: _Axis) -> bool:
        now = time.monotonic()
        if ax.proxy is not None and ax.event_id is not None:
            return True
        if now - ax.tried < RETRY:
            return ax.proxy is not None
        ax.tried = now
        try:
            if ax.proxy is None:
                proxy = tango.DeviceProxy(ax.name)
                proxy.set_timeout_millis(self.timeout_ms)
                ax.proxy = proxy
            if ax.event_id is None:
                ax.event_id = ax.proxy.subscribe_event("Position", tango.EventType.CHANGE_EVENT,
                                                       lambda ev, a=ax: self._on_event(a, ev))
        except tango.DevFailed as exc:
            log.info("axis %s not reachable yet: %s", ax.name, exc.args[0].desc.strip())
        return ax.proxy is not None

    def _on_event(self, ax: _Axis, ev) -> None:
        if not ev.err and ev.attr_value is not None and ev.attr_value.value is not None:
            ax.value = float(ev.attr_value.value)

    def positions(self, fresh: bool) -> dict[str, float]:
        """Last known positions; fresh: read every axis now."""
        with self._lock:
            axes = [a for a in self._axes.values() if self._connect(a)]
            if fresh:
                # one plain read each (~0.3 ms): PyTango's asynchronous reply with a timeout
                # polls at ~20 ms, which a frame would wait for
                for ax in axes:
                    try:
                        ax.value = float(ax.proxy.read_attribute("Position").value)
                    except tango.DevFailed:
                        ax.proxy, ax.event_id = None, None  # reconnected at a later frame
                    except (TypeError, ValueError):
                        pass  # keep the last value seen
            return {a.name: a.value for a in self._axes.values() if a.value is not None}

    def close(self) -> None:
        with self._lock:
            for ax in self._axes.values():
                if ax.proxy is not None and ax.event_id is not None:
                    try:
                        ax.proxy.unsubscribe_event(ax.event_id)
                    except tango.DevFailed:
                        pass
                ax.proxy, ax.event_id = None, None
