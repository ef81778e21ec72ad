"""Runs one scan at a time for the device: checks, Beacon locks, greenlet, end report.

The command that starts a scan returns as soon as the scan has its number; the scan
goes on in its own greenlet. Before starting, the core preflight checks every position
the chain will visit against the axis limits and every axis against foreign Beacon
locks, so bad arguments are refused before anything moves. What stays here is the
device's slot: one scan at a time, and concurrent clients refused while one starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import gevent

from blisstango.core.beacon.locks import who_locked
from blisstango.core.scanning import Scan
from blisstango.core.scanning.arguments import ScanArgumentError
from blisstango.core.scanning.preflight import LockPreset, check_limits, lock_names, scan_axes

from ..pusher import pushes_sent
from ..serve import release_freed_memory

log = logging.getLogger(__name__)

#: s: releasing a finished scan's memory slower than this is logged (the hub waits)
SLOW_RELEASE = 0.02


class ScanRunner:
    """The device's scan slot: at most one scan runs; on_start/on_end notify the device."""

    def __init__(self, session: str, on_start: Callable[[Scan], None], on_end: Callable[[Scan], None]) -> None:
        self.session = session
        self.on_start = on_start
        self.on_end = on_end
        self.scan: Scan | None = None
        self._watcher: gevent.Greenlet | None = None
        self._starting = False  # a command is between its checks and the scan's start

    @property
    def running(self) -> bool:
        return self._watcher is not None and not self._watcher.ready()

    def check_free(self) -> None:
        if self._starting:
            raise ScanArgumentError("another scan is being started: wait for it")
        self._check_idle()

    def _check_idle(self) -> None:
        if self.running:
            s = self.scan
            raise ScanArgumentError(f"scan {s.scan_number} ({s.scan_info.get('title')}) is running: "
                                    "stop it or wait for its end")

    def reserve(self) -> None:
        """Claim the slot for one command (greenlets of concurrent clients interleave on I/O)."""
        self.check_free()
        self._starting = True

    def release(self) -> None:
        self._starting = False

    def start(self, scan: Scan) -> int:
        """Check, lock-check, start; returns the scan number once it is known. The caller
        holds the slot (reserve) while it builds the scan."""
        self._check_idle()
        check_limits(scan)
        axes = scan_axes(scan)
        held = who_locked(lock_names(axes))
        if held:
            name, holder = next(iter(held.items()))
            raise ScanArgumentError(f"{scan.scan_info.get('title', scan.name)}: {name} is locked by "
                                    f"{holder!r}: nothing started")
        scan.add_preset(LockPreset(f"ScanServer {self.session}", axes))
        self.scan = scan
        task = scan.start()
        scan.wait_created()  # created, locks taken (or failed: below)
        self.on_start(scan)
        self._watcher = gevent.spawn(self._watch, scan, task)
        if task.ready() and scan.key is None and scan.error is not None:
            raise ScanArgumentError(f"scan could not be created: {type(scan.error).__name__}: {scan.error}")
        return int(scan.scan_number or 0)  # 0: a scan that is not saved (ct) has no number

    def _watch(self, scan: Scan, task: gevent.Greenlet) -> None:
        task.join()
        if scan.error is not None:
            log.error("scan %s (%s) ended with %s: %s", scan.scan_number, scan.scan_info.get("title"),
                      scan.end_reason, scan.error)
        try:
            self.on_end(scan)
        except Exception:  # noqa: BLE001 - a reporting error must not kill the slot
            log.exception("scan %s: end report failed", scan.scan_number)
        # the slot is free as the end is told (a client starting the next scan on State ON
        # must not be refused): the memory is given back by a greenlet of its own
        gevent.spawn(_release_memory, scan.scan_number)

    def stop(self) -> None:
        if self.running:
            self.scan.stop()

    def abort(self) -> None:
        if self.running:
            self.scan.abort()

    def wait(self, timeout: float | None = None) -> None:
        if self._watcher is not None:
            self._watcher.join(timeout)


def _release_memory(number: int | None) -> None:
    """The scans before this one are garbage now: their memory goes back to the system,
    once the end's events are out (a full collection holds the GIL: done first, it held
    the State ON push back ~0.4 ms)."""
    pushes_sent()
    freed, took = release_freed_memory()
    log.log(logging.WARNING if took > SLOW_RELEASE else logging.DEBUG,
            "after scan %s: %d objects collected, memory trimmed in %.1f ms", number, freed, 1e3 * took)


__all__ = ["ScanRunner"]
