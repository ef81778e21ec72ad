"""A LimaBridge device as other processes use it (a ScanServer, the shell): a counter
controller named after the detector, with BLISS's vocabulary.

    cam1.image                          # the image counter (frames referenced, never copied)
    cam1.roi_counters["r1"] = (x, y, w, h)   # checked and persisted by the bridge
    del cam1.roi_counters["r1"]; cam1.roi_counters.keys()
    cam1.bpm.x, cam1.bpm.intensity      # BPM counters
    ascan(m0, 0, 4, 20, 0.1, cam1)      # image + every ROI counter + BPM counters

In a chain the detector is a master (LimaAcquisitionMaster, core/lima/acquisition.py)
under the scan's timer; its ROI and BPM counter controllers name it as their
`master_controller`, so their slaves hang under it (core/scanning/toolbox.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import tango

from ..comm.backoff import Backoff, retry
from ..comm.reach import lost_contact
from ..config.release import ReleasedByClose
from ..counters.counter import Counter, CounterController
from ..green import in_hub
from .client import LimaConfigError, connection_lost
from .detector import BPM_VALUES, ROI_STATS

log = logging.getLogger(__name__)

BPM_UNITS = {"acq_time": "s", "intensity": "counts", "x": "px", "y": "px", "fwhm_x": "px", "fwhm_y": "px"}


def _desc(exc: tango.DevFailed) -> str:
    return exc.args[0].desc.strip() if exc.args else str(exc)


class LimaCounter(Counter):
    """A scalar a detector computes per frame (a ROI statistic, a BPM value); `column` is
    its name in the bridge's ReadCounters rows."""

    def __init__(self, name: str, controller: CounterController, column: str, unit: str | None = None) -> None:
        super().__init__(name, controller, dtype=float, unit=unit)
        self.column = column


class ImageCounter(Counter):
    """The detector's frames: a reference channel (file, dataset, frame, acquisition)."""

    def __init__(self, controller: RemoteLima) -> None:
        super().__init__("image", controller, dtype=np.uint16, shape=(-1, -1))


class RoiCounters(CounterController):
    """ROI counters of a detector: <roi>_sum/_avg/_std/_min/_max, dict-like over the ROIs."""

    def __init__(self, detector: RemoteLima) -> None:
        super().__init__(f"{detector.name}:roi_counters", master_controller=detector)
        self.detector = detector

    def _rois(self) -> dict[str, list[int]]:
        return json.loads(self.detector.read("roi_counters"))

    @property
    def counters(self) -> list[Counter]:
        wanted = [f"{r}_{s}" for r in self._rois() for s in ROI_STATS]
        for name in wanted:
            if name not in self._counters:
                LimaCounter(name, self, name)
        for name in [n for n in self._counters if n not in wanted]:
            del self._counters[name]
        return [self._counters[n] for n in wanted]

    def __getattr__(self, name: str) -> Counter:
        """A ROI counter by name: cam1.roi_counters.beam_sum (for peak(), cen(), ...)."""
        if name.startswith("_") or "_" not in name:
            raise AttributeError(name)
        for c in self.counters:
            if c.name == name:
                return c
        raise AttributeError(f"{self.name} has no counter {name!r}")

    def rois_now(self) -> dict[str, list[int]]:
        """{name: [x, y, w, h]} as the bridge has them now."""
        return self._rois()

    def __setitem__(self, name: str, roi) -> None:
        values = [int(v) for v in roi]
        self.detector.call("SetRoi", (values, [str(name)]))

    def __getitem__(self, name: str) -> tuple[int, int, int, int]:
        rois = self._rois()
        if name not in rois:
            raise KeyError(f"{self.detector.name}: no ROI named {name!r} (ROIs: {', '.join(rois) or 'none'})")
        return tuple(rois[name])

    def __delitem__(self, name: str) -> None:
        self.detector.call("RemoveRoi", str(name))

    def __contains__(self, name: str) -> bool:
        return name in self._rois()

    def __len__(self) -> int:
        return len(self._rois())

    def keys(self) -> list[str]:
        return list(self._rois())

    def items(self) -> list[tuple[str, tuple]]:
        return [(k, tuple(v)) for k, v in self._rois().items()]

    def clear(self) -> None:
        self.detector.call("ClearRois")

    def get_acquisition_object(self, counters, acq_params: dict):
        from .acquisition import LimaCountersSlave

        return LimaCountersSlave(self, counters, **acq_params)

    def __repr__(self) -> str:
        return f"<RoiCounters {self.detector.name}: {self.items()}>"


class BpmCounters(CounterController):
    """BPM counters of a detector: acq_time, intensity, x, y, fwhm_x, fwhm_y."""

    def __init__(self, detector: RemoteLima) -> None:
        super().__init__(f"{detector.name}:bpm", master_controller=detector)
        self.detector = detector
        for v in BPM_VALUES:
            LimaCounter(v, self, f"bpm:{v}", BPM_UNITS[v])

    def __getattr__(self, name: str) -> Counter:
        counters = self.__dict__.get("_counters", {})
        if name in counters:
            return counters[name]
        raise AttributeError(name)

    def get_acquisition_object(self, counters, acq_params: dict):
        from .acquisition import LimaCountersSlave

        return LimaCountersSlave(self, counters, **acq_params)


RECONNECT = 1.5  # s a call before an acquisition waits for a restarted bridge
ACQUISITION_COMMANDS = frozenset({"Start", "Stop", "ReadCounters", "ReadImage"})


class _NotReached(Exception):
    """A call that never reached the bridge (args[0]: its DevFailed)."""


class RemoteLima(ReleasedByClose, CounterController):
    """The LimaBridge device `device` (green proxy): a counter controller whose counters
    are the image, the ROI counters and the BPM counters."""

    def __init__(self, name: str, device: str, green_mode=tango.GreenMode.Gevent, timeout: float = 10.0) -> None:
        super().__init__(name)
        self.device = device
        self.proxy = tango.DeviceProxy(device, green_mode=green_mode)
        self.proxy.set_timeout_millis(int(timeout * 1000))
        # events through a synchronous proxy, handed to the hub (core.green.in_hub)
        self._events_proxy = tango.DeviceProxy(device, green_mode=tango.GreenMode.Synchronous)
        self._events_proxy.set_timeout_millis(int(timeout * 1000))
        green = green_mode == tango.GreenMode.Gevent
        self._event_callback = in_hub(self._on_event) if green else self._on_event
        self.image = ImageCounter(self)
        self.roi_counters = RoiCounters(self)
        self.bpm = BpmCounters(self)
        self._listeners: list[Callable[[dict], None]] = []
        self._event_id: int | None = None
        self._event_broken = False

    @classmethod
    def from_entry(cls, entry: Any) -> RemoteLima:
        """Client factory for the session resolver (ServerKind.clients)."""
        green = getattr(entry.session, "green_mode", None) or tango.GreenMode.Gevent
        return cls(entry.name, entry.device, green_mode=green)

    @property
    def counters(self) -> list[Counter]:
        return [self.image, *self.roi_counters.counters, *self.bpm.counters]

    # ------------------------------------------------------------------ Tango
    def _reaching(self, fn, *args):
        """fn(*args) on the bridge, which may have been restarted: a call that never reached
        it is tried again for up to RECONNECT s (a proxy finds a restarted server on a later
        call, and Tango refuses a new connection within 1 s of a failed one)."""
        def attempt():
            try:
                return fn(*args)
            except tango.DevFailed as exc:
                if connection_lost(exc):
                    raise _NotReached(exc) from None
                raise
        try:
            return retry(attempt, _NotReached, timeout=RECONNECT, backoff=Backoff(0.1, 0.5))
        except _NotReached as exc:
            raise exc.args[0] from None

    def read(self, attr: str):
        try:
            return self._reaching(self.proxy.read_attribute, attr).value
        except tango.DevFailed as exc:
            raise LimaConfigError(f"{self.name}: reading {attr} of {self.device}: {_desc(exc)}") from None

    def call(self, command: str, *args):
        """A command of the bridge; its refusal (DevFailed) becomes LimaConfigError with the
        bridge's own sentence (it names the detector and the parameter)."""
        try:
            if command in ACQUISITION_COMMANDS:  # a scan running: a lost bridge ends it now
                return self.proxy.command_inout(command, *args)
            return self._reaching(self.proxy.command_inout, command, *args)
        except tango.DevFailed as exc:
            reason = exc.args[0].reason if exc.args else ""
            if reason.startswith("API_"):  # Tango's own: the device is not reachable
                raise self._lost(exc, command) from None
            raise LimaConfigError(_desc(exc)) from None

    def _lost(self, exc: tango.DevFailed, what: str) -> LimaConnectionError:
        """The bridge did not answer: which detector, which server, what happened."""
        return LimaConnectionError(lost_contact(exc, self.name, self.device, what)
                                   or f"{self.name}: LimaBridge {self.device} does not answer ({what}): {_desc(exc)}")

    def progress(self) -> dict:
        """The bridge's Progress, read now (a liveness check as well)."""
        try:
            return json.loads(self.proxy.read_attribute("Progress").value)
        except tango.DevFailed as exc:
            raise self._lost(exc, "read Progress") from None

    def follow(self, listener: Callable[[dict], None]) -> None:
        """listener(progress dict) on every Progress change event (in the gevent hub)."""
        self._listeners.append(listener)
        if self._event_id is None or self._event_broken:
            self._subscribe()

    def unfollow(self, listener: Callable[[dict], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _subscribe(self) -> None:
        if self._event_id is not None:
            try:
                self._events_proxy.unsubscribe_event(self._event_id)
            except Exception:  # noqa: BLE001 - the old subscription may be gone with its server
                pass
            self._event_id = None
        self._event_broken = False
        try:
            self._event_id = self._events_proxy.subscribe_event("Progress", tango.EventType.CHANGE_EVENT,
                                                                self._event_callback)
        except tango.DevFailed as exc:
            raise LimaConnectionError(f"{self.name}: LimaBridge {self.device} does not answer: "
                                      f"{_desc(exc)}") from None

    def _on_event(self, ev) -> None:
        if ev.err:
            self._event_broken = True
            return
        try:
            p = json.loads(ev.attr_value.value)
        except (TypeError, ValueError):
            return
        for fn in list(self._listeners):
            fn(p)

    def close(self) -> None:
        if self._event_id is not None:
            try:
                self._events_proxy.unsubscribe_event(self._event_id)
            except Exception:  # noqa: BLE001
                pass
            self._event_id = None

    # ------------------------------------------------------------------ scans
    def image_info(self) -> tuple[np.dtype, tuple[int, int]]:
        """(dtype, (height, width)) of the frames the next acquisition gives."""
        signed, depth, _w, _h = (int(v) for v in self.read("image_sizes"))
        w, h = (int(v) for v in self.read("image_size"))
        return np.dtype(f"{'i' if signed else 'u'}{depth}"), (h, w)

    def get_default_acq_params(self, scan_params: dict) -> dict:
        return {"npoints": int(scan_params.get("npoints", 1)),
                "count_time": float(scan_params.get("count_time", 0.0)),
                "timed": bool(scan_params.get("timed", False)),
                "sleep_time": float(scan_params.get("sleep_time", 0.0))}

    def get_acquisition_master(self, acq_params: dict):
        from .acquisition import LimaAcquisitionMaster

        return LimaAcquisitionMaster(self, **acq_params)

    def get_acquisition_object(self, counters, acq_params: dict):
        master = self.get_acquisition_master(acq_params)
        master.add_counters(counters)
        return master

    def __repr__(self) -> str:
        return f"<RemoteLima {self.name} on {self.device}>"


class LimaConnectionError(RuntimeError):
    """The LimaBridge device does not answer."""
