"""The scans of a ScanServer, followed from its change events and handed to the Qt thread.

RecordData messages (clients.scan_events: start, data chunks placed at their index, end)
rebuild each scan; ScanInfo events give what a plot needs besides the points (the
scanned axes, a mesh's shape, the file). Tango calls back in its own thread: the feed
only stores there and emits a Qt signal, which Qt queues to the GUI thread. A feed made
while a scan runs (or after it ended) reads what was already taken from the device's
channel attributes, so a window opened late shows the current or last scan whole.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import numpy as np
import tango
from taurus.external.qt import Qt

from blisstango.clients.scan_events import RecordFollower, ScanRecord

log = logging.getLogger(__name__)


class ScanView:
    """What the GUI shows of one scan: a consistent copy taken in the GUI thread."""

    def __init__(self, number: int, key: str, title: str, channels: list[str], data: dict[str, np.ndarray],
                 expected: int, info: dict, end_reason: str | None, error: str | None,
                 stamp: float) -> None:
        self.number = number
        self.key = key
        self.title = title
        self.channels = channels
        self.data = data
        self.expected = expected
        self.info = info
        self.end_reason = end_reason
        self.error = error
        self.stamp = stamp          # server time of the newest message taken into account

    @property
    def npoints(self) -> int:
        return min((len(v) for v in self.data.values()), default=0)

    @property
    def ended(self) -> bool:
        return self.end_reason is not None

    @property
    def mesh(self) -> tuple[int, int] | None:
        """(fast points, slow points) of a mesh scan, else None."""
        info = self.info
        if int(info.get("data_dim") or 1) == 2 and info.get("npoints1") and info.get("npoints2"):
            return int(info["npoints1"]), int(info["npoints2"])
        return None

    def axis_channels(self) -> list[str]:
        """Channels of the scanned axes, in the scan's order (fast first for a mesh)."""
        axes = list(self.info.get("axes") or [])
        out = []
        for axis in axes:
            for c in self.channels:
                if c == f"axis:{axis}" or c.rsplit(":", 1)[-1] == axis and c.startswith("axis"):
                    out.append(c)
                    break
        return out

    def time_channel(self) -> str | None:
        for c in self.channels:
            if c.rsplit(":", 1)[-1] == "elapsed_time":
                return c
        return None

    def counter_channels(self) -> list[str]:
        """Channels a person plots: everything but the axes and the timer's clocks."""
        skip = set(self.axis_channels())
        return [c for c in self.channels
                if c not in skip and c.rsplit(":", 1)[-1] not in ("elapsed_time", "epoch")
                and not c.startswith("axis:")]


class ScanFeed(Qt.QObject):
    """Follows one ScanServer device; `changed(number)` is emitted (queued to the GUI
    thread) whenever a scan's data, end or info changed."""

    changed = Qt.pyqtSignal(int)

    def __init__(self, device: str, parent: Qt.QObject | None = None) -> None:
        super().__init__(parent)
        self.device_name = device
        self.proxy = tango.DeviceProxy(device)
        self._lock = threading.Lock()
        self._infos: dict[str, dict] = {}       # scan key -> ScanInfo
        self._received: dict[int, float] = {}   # scan number -> local time it was received
        #: server times of the RecordData messages not yet taken by a view (taken_stamps())
        self._stamps: list[float] = []
        self.follower: RecordFollower | None = None
        self._info_id: int | None = None
        self.closed = False

    def start(self) -> ScanFeed:
        """Subscribe (the first events carry the current values) and fill in the scan that
        was already running or done."""
        self._info_id = self.proxy.subscribe_event("ScanInfo", tango.EventType.CHANGE_EVENT, self._on_info)
        self.follower = RecordFollower(self.proxy, on_message=self._on_message)
        self._backfill()
        return self

    # ---- Tango's event thread ---------------------------------------------------------
    def _on_info(self, ev) -> None:
        if ev.err or ev.attr_value is None:
            return
        try:
            info = json.loads(ev.attr_value.value or "{}")
        except ValueError:
            return
        key = info.get("key")
        if not key:
            return
        with self._lock:
            self._infos[key] = info
        number = int(info.get("scan_nb") or 0)
        self.changed.emit(number)

    def _on_message(self, rec: ScanRecord, msg: dict) -> None:
        now = time.time()
        with self._lock:
            self._received[rec.number] = now
            self._stamps.append(rec.stamp)
        self.changed.emit(rec.number)

    def _backfill(self) -> None:
        """The current (or last) scan as the device holds it: its info and the points of
        every channel attribute, placed at index 0 (a repeat of what events bring)."""
        try:
            info = json.loads(self.proxy.read_attribute("ScanInfo").value or "{}")
        except (tango.DevFailed, ValueError) as exc:
            log.info("%s: no scan to show yet (%s)", self.device_name, exc)
            return
        key, number = info.get("key"), int(info.get("scan_nb") or 0)
        attrs: dict[str, str] = info.get("attributes") or {}
        if not key or not attrs:
            return
        try:
            values = self.proxy.read_attributes(list(attrs.values()))
        except tango.DevFailed as exc:
            log.info("%s: channel attributes of scan %s unreadable: %s", self.device_name, number, exc)
            return
        data = {c: {"first": 0, "values": [] if v.value is None else np.asarray(v.value, float).tolist()}
                for c, v in zip(attrs, values) if not v.has_failed}
        with self._lock:
            self._infos.setdefault(key, info)
        with self.follower._lock:
            rec = self.follower.records.get(number)
            if rec is None or rec.key in ("", key):
                rec = self.follower.records.setdefault(number, ScanRecord(number))
                if not rec.key:
                    rec.apply({"event": "start", "scan": number, "key": key, "title": info.get("title", ""),
                               "npoints": info.get("npoints") or 0, "channels": list(attrs)})
                done = info.get("state") == "DONE" or info.get("end_reason")
                rec.apply({"event": "end" if done and not rec.ended.is_set() else "data", "data": data,
                           "end_reason": info.get("end_reason"), "error": info.get("error")})
        self.changed.emit(number)

    # ---- GUI thread ----------------------------------------------------------------------
    def latest(self) -> int | None:
        """Number of the newest scan seen (the one started last)."""
        if self.follower is None:
            return None
        with self.follower._lock:
            if not self.follower.records:
                return None
            return max(self.follower.records, key=lambda n: self._received.get(n, 0.0))

    def taken_stamps(self) -> list[float]:
        """Server times of the messages received since the last call: a view made after
        this call holds their data (what the plot's latency figures count)."""
        with self._lock:
            stamps, self._stamps = self._stamps, []
        return stamps

    def view(self, number: int) -> ScanView | None:
        """A copy of scan `number` as known now (None if unknown)."""
        if self.follower is None:
            return None
        with self.follower._lock:
            rec = self.follower.records.get(number)
            if rec is None:
                return None
            data = {c: np.asarray(v, dtype=float) for c, v in rec.data.items()}
            view = ScanView(rec.number, rec.key, rec.title, list(rec.channels or data), data, rec.expected,
                            {}, rec.end_reason, rec.error, rec.stamp)
        with self._lock:
            view.info = dict(self._infos.get(view.key, {}))
        if not view.title:
            view.title = view.info.get("title", "")
        return view

    def stop_scan(self) -> None:
        self.proxy.command_inout("StopScan")

    def abort_scan(self) -> None:
        self.proxy.command_inout("AbortScan")

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.follower is not None:
            self.follower.close()
        if self._info_id is not None:
            try:
                self.proxy.unsubscribe_event(self._info_id)
            except (tango.DevFailed, KeyError):
                pass
            self._info_id = None


def channel_units(proxy: Any, attributes: dict[str, str]) -> dict[str, str]:
    """Unit of each channel (its ScanServer attribute's unit property; '' when none)."""
    out: dict[str, str] = {}
    try:
        configs = proxy.get_attribute_config(list(attributes.values()))
    except tango.DevFailed:
        return out
    for channel, cfg in zip(attributes, configs):
        unit = cfg.unit if cfg.unit not in ("No unit", "") else ""
        out[channel] = unit
    return out
