"""Where the simulator learns the sample position and the beam intensity.

`TangoPositions` follows axes served by AxisManager devices through TANGO_HOST: it
subscribes to their Position change events (the server pushes every move's positions
and always the final one), so a pixel costs no Tango call; until the first event of an
axis arrives, its position is read directly. `FixedPositions` is for tests and for
simulators without axes.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Iterable

log = logging.getLogger(__name__)


class FixedPositions:
    """Positions set by hand (tests, a simulator used in a Python session)."""

    def __init__(self, values: dict[str, float] | None = None) -> None:
        self.values = dict(values or {})

    def get(self, name: str) -> float | None:
        return self.values.get(name)

    def close(self) -> None:
        pass


class TangoPositions:
    """Position of named axes (device aliases), kept current by change events."""

    def __init__(self, names: Iterable[str], attribute: str = "Position") -> None:
        self.names = [n for n in dict.fromkeys(names) if n]
        self.attribute = attribute
        self._values: dict[str, float] = {}
        self._evented: set[str] = set()  # axes whose events keep _values current
        self._proxies: dict = {}
        self._subscriptions: list[tuple[object, int]] = []
        self._lock = threading.Lock()
        self._closed = False
        atexit.register(self.close)  # Tango must not call back into a finalizing interpreter

    def _proxy(self, name: str):
        import tango

        proxy = self._proxies.get(name)
        if proxy is None:
            device = tango.Database().get_device_from_alias(name)
            proxy = self._proxies[name] = tango.DeviceProxy(device)
            try:
                eid = proxy.subscribe_event(self.attribute, tango.EventType.CHANGE_EVENT,
                                            lambda ev, n=name: self._on_event(n, ev))
                with self._lock:
                    self._subscriptions.append((proxy, eid))
                self._evented.add(name)
            except tango.DevFailed as exc:
                log.warning("%s: no %s change events (%s): read at each pixel", name, self.attribute,
                            exc.args[0].desc.strip())
        return proxy

    def _on_event(self, name: str, event) -> None:
        if event.err or event.attr_value is None:
            self._values.pop(name, None)  # stale: read directly until events come back
            return
        self._values[name] = float(event.attr_value.value)

    def get(self, name: str) -> float | None:
        """Last known position (None if the axis cannot be reached)."""
        value = self._values.get(name)
        if value is not None:
            return value
        try:
            value = float(self._proxy(name).read_attribute(self.attribute).value)
        except Exception as exc:  # noqa: BLE001 - an unreachable axis: no sample signal, said in the log
            log.warning("position of %s unknown: %s", name, exc)
            return None
        if name in self._evented:
            self._values.setdefault(name, value)
        return value

    def close(self) -> None:
        with self._lock:
            subs, self._subscriptions = self._subscriptions, []
        for proxy, eid in subs:
            try:
                proxy.unsubscribe_event(eid)
            except Exception:  # noqa: BLE001 - the axis server may be gone already
                pass
