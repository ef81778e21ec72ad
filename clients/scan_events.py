"""Follow a ScanServer's scans from Tango change events alone (RecordData).

Each RecordData event is JSON: {"event": "start", scan, key, title, npoints, channels,
attributes} when a scan starts, then {"event": "data" | "end", scan, npoints,
data: {channel: {first, values}}} (+ end_reason, error at the end). Values are placed at
their index, so a repeated message (the one a new subscription receives first) changes
nothing. Works in any Tango client process; callbacks run in Tango's event thread.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

import tango


class ScanRecord:
    """One scan rebuilt from RecordData messages."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.key = ""
        self.title = ""
        self.expected = 0
        self.channels: list[str] = []
        self.data: dict[str, list[float]] = {}
        self.ended = threading.Event()
        self.end_reason: str | None = None
        self.error: str | None = None
        #: server time (s since the epoch) of the last RecordData event applied
        self.stamp = 0.0

    def apply(self, msg: dict) -> None:
        kind = msg.get("event")
        if kind == "start":
            if msg.get("key") != self.key:  # unsaved scans (ct) all have number 0: a new one
                self.data = {}
                self.ended.clear()
                self.end_reason = self.error = None
            self.key, self.title = msg.get("key", ""), msg.get("title", "")
            self.expected = int(msg.get("npoints") or 0)
            self.channels = list(msg.get("channels", []))
            for c in self.channels:
                self.data.setdefault(c, [])
            return
        for channel, chunk in (msg.get("data") or {}).items():
            values = self.data.setdefault(channel, [])
            first = int(chunk["first"])
            if len(values) < first:
                values.extend([float("nan")] * (first - len(values)))
            values[first:first + len(chunk["values"])] = chunk["values"]
        if kind == "end":
            self.end_reason, self.error = msg.get("end_reason"), msg.get("error")
            self.ended.set()

    @property
    def npoints(self) -> int:
        """Complete points (every channel has them)."""
        return min((len(v) for v in self.data.values()), default=0)

    def row(self, i: int) -> dict[str, float]:
        return {c: v[i] for c, v in self.data.items()}


class RecordFollower:
    """Subscribes to RecordData of a ScanServer device; records[scan number] -> ScanRecord.
    Returns once the subscription is live (live_timeout s at most): a scan started right
    after is followed from its first message.

    on_message(record, msg) is called after each message is applied."""

    def __init__(self, device: Any, on_message: Callable[[ScanRecord, dict], None] | None = None,
                 live_timeout: float = 10.0) -> None:
        self.device = device
        self.on_message = on_message
        self.records: dict[int, ScanRecord] = {}
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._applied = threading.Condition(self._lock)  # notified after each message
        self._probe = f"{uuid.uuid4()}"
        self._probed = threading.Event()
        self._id = device.subscribe_event("RecordData", tango.EventType.CHANGE_EVENT, self._event)
        self._wait_live(live_timeout)

    def _wait_live(self, timeout: float) -> None:
        """Ask the server to push our probe until it comes back: cppTango drops the events
        pushed while a new subscription's ZMQ connection is being made (cppTango #524;
        measured: a whole short scan lost, 3 subscriptions in 40 at load 5)."""
        import time

        deadline = time.monotonic() + timeout
        while not self.live and time.monotonic() < deadline:
            try:
                self.device.command_inout("ProbeRecordData", self._probe)
            except tango.DevFailed as exc:
                self.errors.append(f"RecordData subscription not confirmed: {exc.args[0].desc}")
                return
            asked = time.monotonic()
            while not self.live and time.monotonic() - asked < 0.05:
                time.sleep(0.005)  # polled: the event arrives in Tango's thread

    @property
    def live(self) -> bool:
        """The server's events reach this follower (its probe came back)."""
        return self._probed.is_set()

    def _event(self, ev) -> None:
        if ev.err:
            self.errors.append(ev.errors[0].desc if ev.errors else "event error")
            return
        fmt, raw = ev.attr_value.value
        if fmt != "json" or not raw:
            return
        msg = json.loads(raw)
        if msg.get("probe") == self._probe:
            self._probed.set()
        if "scan" not in msg:
            return
        with self._lock:
            rec = self.records.setdefault(int(msg["scan"]), ScanRecord(int(msg["scan"])))
            rec.apply(msg)
            rec.stamp = ev.attr_value.time.totime()
            self._applied.notify_all()
        if self.on_message is not None:
            self.on_message(rec, msg)

    def record(self, number: int, timeout: float = 10.0) -> ScanRecord:
        """The record of scan `number`, waiting for its first message."""
        with self._applied:
            if not self._applied.wait_for(lambda: number in self.records, timeout):
                raise TimeoutError(f"no RecordData event of scan {number} within {timeout} s")
            return self.records[number]

    def wait_end(self, number: int, timeout: float = 60.0, key: str | None = None) -> ScanRecord:
        """The record of scan `number` once it has ended. Scan numbers repeat (every `ct`
        is 0, a new dataset starts again at 1), so the scan is told by its data key:
        `key`, else the server's ScanKey while its ScanNumber is `number` (the scan just
        started): a record that ended under another key is an earlier scan's."""
        if key is None:
            key = self._current_key(number)
        with self._applied:
            def done() -> bool:
                rec = self.records.get(number)
                return rec is not None and rec.ended.is_set() and (key is None or rec.key == key)

            if not self._applied.wait_for(done, timeout):
                raise TimeoutError(f"scan {number}{f' ({key})' if key else ''}: no end event within {timeout} s")
            return self.records[number]

    def _current_key(self, number: int) -> str | None:
        try:
            scan_nb, key = (a.value for a in self.device.read_attributes(["ScanNumber", "ScanKey"]))
        except tango.DevFailed:
            return None
        return key if int(scan_nb) == number and key else None

    def close(self) -> None:
        if self._id is None:
            return
        event_id, self._id = self._id, None
        try:
            self.device.unsubscribe_event(event_id)
        except (tango.DevFailed, KeyError):
            pass
