"""Positions of beamline axes as a simulated instrument sees them (a camera's beam that
follows motors, an MCA's sample under the beam): through TANGO_HOST, by name (the device
alias), kept current by the Position change events their server pushes, so a frame or a
pixel costs no Tango call. An axis with no event yet is read directly; `fresh` reads
every axis at once (a step scan's trigger comes right after the motion ended: its last
event may still be on its way). An axis that cannot be reached is left out (the
simulation keeps that parameter at its base value) and tried again RETRY s later.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Iterable

import tango

log = logging.getLogger(__name__)

RETRY = 2.0  # s between attempts to reach an axis that did not answer


class _Axis:
    def __init__(self, name: str) -> None:
        self.name = name
        self.proxy: tango.DeviceProxy | None = None
        self.event_id: int | None = None
        self.value: float | None = None
        self.stale = False  # an error event came after value: read it directly for get()
        self.tried = -RETRY


class AxisPositions:
    """{axis: position} of the named axes (Position, or `attribute`)."""

    def __init__(self, names: Iterable[str], timeout: float = 1.0, attribute: str = "Position") -> None:
        self._axes = {n: _Axis(n) for n in dict.fromkeys(names) if n}
        self._lock = threading.Lock()
        self.timeout_ms = int(timeout * 1000)
        self.attribute = attribute
        atexit.register(self.close)  # Tango must not call back into a finalizing interpreter

    @property
    def names(self) -> list[str]:
        return list(self._axes)

    def _connect(self, ax: _Axis) -> bool:
        """Proxy and event subscription of one axis (under the lock); False: unreachable."""
        if ax.proxy is not None and ax.event_id is not None:
            return True
        now = time.monotonic()
        if now - ax.tried < RETRY:
            return ax.proxy is not None
        ax.tried = now
        try:
            if ax.proxy is None:
                proxy = tango.DeviceProxy(ax.name)
                proxy.set_timeout_millis(self.timeout_ms)
                ax.proxy = proxy
            if ax.event_id is None:
                ax.event_id = ax.proxy.subscribe_event(self.attribute, tango.EventType.CHANGE_EVENT,
                                                       lambda ev, a=ax: self._on_event(a, ev))
        except tango.DevFailed as exc:
            log.info("axis %s not followed by events (yet): %s", ax.name, exc.args[0].desc.strip())
        return ax.proxy is not None

    def _on_event(self, ax: _Axis, ev) -> None:
        if ev.err or ev.attr_value is None or ev.attr_value.value is None:
            ax.stale = True  # get() reads directly until events come back
            return
        ax.value, ax.stale = float(ev.attr_value.value), False

    def positions(self, fresh: bool = False) -> dict[str, float]:
        """Last known positions; fresh: read every axis now (in parallel)."""
        with self._lock:
            axes = [a for a in self._axes.values() if self._connect(a)]
            if fresh:
                pending = []
                for ax in axes:
                    try:
                        pending.append((ax, ax.proxy.read_attribute_asynch(self.attribute)))
                    except tango.DevFailed:
                        ax.proxy, ax.event_id = None, None
                for ax, rid in pending:
                    try:
                        # 0: wait for the reply itself (the proxy's own timeout still holds);
                        # cppTango waits for a reply with a timeout by polling it every 20 ms
                        ax.value = float(ax.proxy.read_attribute_reply(rid, 0).value)
                    except (tango.DevFailed, TypeError, ValueError):
                        pass  # keep the last value seen
            return {a.name: a.value for a in self._axes.values() if a.value is not None}

    def get(self, name: str) -> float | None:
        """Position of one axis: its last event's, read now while no event has brought
        one or after an error event (None: not one of the names, or unreachable)."""
        ax = self._axes.get(name)
        if ax is None:
            return None
        with self._lock:
            if not self._connect(ax):
                return None
            if ax.value is not None and not ax.stale:
                return ax.value
            try:
                value = float(ax.proxy.read_attribute(self.attribute).value)
            except (tango.DevFailed, TypeError, ValueError) as exc:
                log.warning("position of %s unknown: %s", name, exc)
                return None
            if ax.event_id is not None and ax.value is None:
                ax.value = value  # events follow from here
            return value

    def close(self) -> None:
        with self._lock:
            for ax in self._axes.values():
                if ax.proxy is not None and ax.event_id is not None:
                    try:
                        ax.proxy.unsubscribe_event(ax.event_id)
                    except Exception:  # noqa: BLE001 - the axis server may be gone already
                        pass
                ax.proxy, ax.event_id = None, None
