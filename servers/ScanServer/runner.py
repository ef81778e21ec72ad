"""Runs one scan at a time for the device: checks, Beacon locks, greenlet, end report.

The command that starts a scan returns as soon as the scan has its number; the scan
goes on in its own greenlet. Before starting, every position the chain will visit is
checked against the axis limits and every axis against foreign Beacon locks, so bad
arguments are refused before anything moves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import gevent

from blisstango.core.beacon.locks import Lock, LockError, who_locked
from blisstango.core.motion.axis_proxy import AxisProxy
from blisstango.core.motion.errors import MotionError
from blisstango.core.scanning import Scan, ScanPreset, SoftwarePositionTriggerMaster, StepMaster
from blisstango.core.scanning.scan import ScanState

from .arguments import ScanArgumentError

log = logging.getLogger(__name__)


def scan_axes(scan: Scan) -> list:
    """Axes the scan moves (step masters, continuous masters, presets moving axes)."""
    out: list = []
    for node in scan.chain.nodes:
        for ax in [*getattr(node, "axes", []), getattr(node, "axis", None)]:
            if ax is not None and ax not in out:
                out.append(ax)
    for p in scan.presets:
        for ax in getattr(p, "axes", []):  # ReturnToStart, MovePreset
            if hasattr(ax, "move") and ax not in out:
                out.append(ax)
    return out


def check_limits(scan: Scan) -> None:
    """Every position the chain's masters will visit is inside its axis' limits."""
    try:
        for node in scan.chain.nodes:
            if isinstance(node, StepMaster):
                for ax, pos in zip(node.axes, node.positions):
                    if hasattr(ax, "check_limits"):
                        ax.check_limits(float(min(pos)))
                        ax.check_limits(float(max(pos)))
            elif isinstance(node, SoftwarePositionTriggerMaster) and hasattr(node.axis, "check_limits"):
                margin = node._margin()
                sign = 1.0 if node.stop_pos >= node.start_pos else -1.0
                node.axis.check_limits(node.start_pos - sign * margin)
                node.axis.check_limits(node.stop_pos + sign * margin)
    except MotionError as exc:
        raise ScanArgumentError(f"{scan.scan_info.get('title', scan.name)}: {exc}") from None


def lock_names(axes: list) -> list[str]:
    """The axes and, for calc axes, their reals."""
    return list(dict.fromkeys(n for ax in axes for n in [ax.name, *getattr(ax, "reals", [])]))


class LockPreset(ScanPreset):
    """Holds the Beacon locks of the scanned axes from before prepare to after the scan,
    naming the scan as owner; remote axes move through the holder token meanwhile."""

    def __init__(self, session: str, axes: list) -> None:
        self.session = session
        self.axes = axes
        self.lock: Lock | None = None
        self.owner = ""

    def before_scan(self, scan: Scan) -> None:
        if not self.axes:
            return
        self.owner = f"ScanServer {self.session}: scan {scan.scan_number} ({scan.scan_info.get('title', scan.name)})"
        self.lock = Lock(*lock_names(self.axes), owner=self.owner, timeout=0)
        self.lock.acquire()
        for ax in self.axes:
            if isinstance(ax, AxisProxy):
                ax.owner = self.owner

    def after_scan(self, scan: Scan) -> None:
        for ax in self.axes:
            if isinstance(ax, AxisProxy):
                ax.owner = None
        if self.lock is not None:
            try:
                self.lock.release()
            finally:
                self.lock = None


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
        scan.add_preset(LockPreset(self.session, axes))
        self.scan = scan
        task = scan.start()
        while scan.state is ScanState.IDLE and not task.ready():  # created, locks taken
            gevent.sleep(0.001)
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

    def stop(self) -> None:
        if self.running:
            self.scan.stop()

    def abort(self) -> None:
        if self.running:
            self.scan.abort()

    def wait(self, timeout: float | None = None) -> None:
        if self._watcher is not None:
            self._watcher.join(timeout)


__all__ = ["ScanRunner", "LockPreset", "check_limits", "scan_axes", "LockError"]
