"""The NexusWriter Tango device: state of the writer, file and scan being written, progress.

State: ON idle, RUNNING while a scan is written, FAULT when the last scan could not be
written (Status names the file and the OS error; the next scan written clears it),
INIT until the data Redis is found. Every attribute pushes change events itself.
"""

from __future__ import annotations

import json
import logging
import os

import gevent
import tango
from tango import AttrWriteType, DevState, GreenMode
from tango.server import Device, attribute, command, device_property

from blisstango.core.beacon import connection
from blisstango.core.comm.backoff import Backoff, retry
from blisstango.core.data.nexus import WriterService

from ..errors import fail
from ..pusher import PushedUnderMonitor
from ..request_thread import no_hardware_read, request_hook

log = logging.getLogger(__name__)

_STATES = {"ON": DevState.ON, "RUNNING": DevState.RUNNING, "FAULT": DevState.FAULT}
_EVENTED = ("CurrentFile", "CurrentScan", "Progress", "ScansWritten")


class NexusWriter(PushedUnderMonitor, Device):
    green_mode = GreenMode.Gevent
    always_executed_hook = request_hook     # in the request thread: no hub handoff
    read_attr_hardware = no_hardware_read

    Sessions = device_property(dtype=(str,), default_value=[],
                               doc="sessions whose scans are written; empty: every session")
    FlushPeriod = device_property(dtype=float, default_value=0.1,
                                  doc="seconds between flushes of a file being written")
    EventPeriod = device_property(dtype=float, default_value=0.2,
                                  doc="seconds between progress events while writing")

    def init_device(self) -> None:
        super().init_device()
        self.service: WriterService | None = None
        self._boot_error: str | None = None
        self._last: dict = {}
        self.set_state(DevState.INIT)
        self.set_status("Looking for the data Redis (through Beacon)")
        for name in ("State", "Status", *_EVENTED):
            self.set_change_event(name, True, False)
        self._tasks = [gevent.spawn(self._boot), gevent.spawn(self._event_loop)]

    def delete_device(self) -> None:
        gevent.killall(getattr(self, "_tasks", []))
        if self.service is not None:
            self.service.stop()
            self.service = None

    # ------------------------------------------------------------------ setup
    def _boot(self) -> None:
        def connect():
            url = connection.get_url("data")
            client = connection.make_client(url)
            client.ping()
            return url, client

        def not_yet(exc: BaseException) -> None:  # Beacon or Redis not there yet: say why
            self._boot_error = f"data Redis not reachable yet: {exc}"
            log.warning("%s", self._boot_error)

        url, client = retry(connect, Exception, backoff=Backoff(first=0.5, longest=5.0), on_retry=not_yet)
        self._boot_error = None
        self.data_url = url
        self.service = WriterService(client, list(self.Sessions) or None, flush_period=self.FlushPeriod).start()
        log.info("writing the scans of %s from %s", list(self.Sessions) or "every session", url)

    def _event_loop(self) -> None:
        while True:
            gevent.sleep(self.EventPeriod)
            try:
                self._push_changes()
            except Exception:
                log.exception("pushing events failed")
            why = self.service.must_restart if self.service is not None else None
            if why:  # the supervisor starts a new one, which resumes from the files
                log.error("restarting: %s", why)
                logging.shutdown()
                os._exit(75)

    def _snapshot(self) -> dict:
        return {"State": self.dev_state(), "Status": self.dev_status(), "CurrentFile": self._file(),
                "CurrentScan": self._scan(), "Progress": self._progress(), "ScansWritten": self._written()}

    def _push_changes(self) -> None:
        now = self._snapshot()
        self.store_state(now["State"], now["Status"])  # what Tango itself sends for State/Status events
        for name, value in now.items():
            if self._last.get(name) != value:
                try:
                    self.push_change_event(name, value)
                except tango.DevFailed:
                    pass
        self._last = now

    # ------------------------------------------------------------------ state
    def dev_state(self) -> DevState:
        if self.service is None:
            return DevState.INIT
        return _STATES[self.service.state]

    def dev_status(self) -> str:
        if self.service is None:
            return self._boot_error or "Looking for the data Redis (through Beacon)"
        return self.service.status

    # ------------------------------------------------------------------ values
    def _file(self) -> str:
        w = self.service.current if self.service else None
        return (w.filename or "") if w else ""

    def _scan(self) -> str:
        w = self.service.current if self.service else None
        return f"{w.key} {w.entry or ''}".strip() if w else ""

    def _progress(self) -> str:
        return json.dumps(self.service.progress() if self.service else {})

    def _written(self) -> int:
        return self.service.scans_written if self.service else 0

    # ------------------------------------------------------------------ attributes
    @attribute(dtype=str, access=AttrWriteType.READ, doc="dataset file of the scan being (or last) written")
    def CurrentFile(self) -> str:
        return self._file()

    @attribute(dtype=str, access=AttrWriteType.READ,
               doc="data Redis key of the scan being (or last) written, with its entry")
    def CurrentScan(self) -> str:
        return self._scan()

    @attribute(dtype=str, access=AttrWriteType.READ,
               doc="JSON: per scan {file, entry, state, error, points per channel}")
    def Progress(self) -> str:
        return self._progress()

    @attribute(dtype=int, access=AttrWriteType.READ, doc="scans completed by this writer since it started")
    def ScansWritten(self) -> int:
        return self._written()

    @attribute(dtype=str, access=AttrWriteType.READ, doc="URL of the data Redis followed")
    def DataRedisUrl(self) -> str:
        return getattr(self, "data_url", "")

    # ------------------------------------------------------------------ commands
    @command(dtype_in=str, doc_in="scan key", dtype_out=str, doc_out="JSON state of that scan's writing")
    def ScanProgress(self, key: str) -> str:
        w = self.service.writers.get(key) if self.service else None
        if w is None:
            fail("NexusWriter_UnknownScan", f"scan {key!r} is not known to this writer (not seen or forgotten)",
                 "NexusWriter.ScanProgress")
        return json.dumps(w.as_dict())
