"""A 2D detector in a scan: LimaAcquisitionMaster drives a LimaBridge device, its ROI and
BPM counters are slaves under it.

Trigger modes (BLISS's defaults): under a step master, INTERNAL_TRIGGER_MULTI, one frame
per point (each trigger starts one exposure and returns once the frame is read out, so
the axes move between frames, never during one); under a top timer (ct, loopscan,
timescan), nothing moves between points: INTERNAL_TRIGGER, the camera takes the N frames
by itself with latency = the timer's sleep time, and point i is over when frame i is
read out. Progress comes from the bridge's Progress change events (tagged with the
acquisition, so a late event of another acquisition never counts); when they stop for
LIVENESS s the bridge is asked directly, which also tells a dead bridge from a long
exposure.

Channels: `<det>:image` (kind "ref": {file, index, path, frame, acq, server, tagged} per
frame, file None when images are not saved), `<det>:roi_counters:<roi>_<stat>`,
`<det>:bpm:<value>`. Images are saved (HDF5, Lima layout) when the image counter is in the
scan and the scan is saved: <dataset folder>/scan<NNNN>/<det>_<NNNN>.h5.
"""

from __future__ import annotations

import json
import logging
import os

import gevent
import gevent.event
import numpy as np

from ..comm.reach import device_server
from ..scanning.acquisition import AcquisitionMaster, AcquisitionSlave, TriggerMode
from .client import LimaCameraError
from .detector import frame_ref
from .remote import LimaConnectionError, RemoteLima

log = logging.getLogger(__name__)

LIVENESS = 1.0  # s without a Progress event before the bridge is asked


class LimaAcquisitionMaster(AcquisitionMaster):
    def __init__(self, detector: RemoteLima, npoints: int = 1, count_time: float = 0.0, timed: bool = False,
                 sleep_time: float = 0.0, trigger_mode: str | None = None, nb_frames: int | None = None,
                 latency_time: float | None = None, expo_time: float | None = None,
                 acq_mode: str = "SINGLE", save_images: bool | None = None) -> None:
        super().__init__(detector, name=detector.name, npoints=npoints)
        self.detector = detector
        self.expo_time = float(expo_time if expo_time is not None else count_time)
        self.lima_trigger = trigger_mode or ("INTERNAL_TRIGGER" if timed else "INTERNAL_TRIGGER_MULTI")
        # timed: the camera takes the points itself; one frame per trigger otherwise, as many
        # as the chain above triggers (0: until stopAcq, which wait_reading sends once the
        # last triggered frame is complete)
        self.nb_frames = int(nb_frames if nb_frames is not None else (npoints if timed or trigger_mode else 0))
        self.latency_time = float(latency_time if latency_time is not None else (sleep_time if timed else 0.0))
        self.acq_mode = acq_mode
        self.save_images = save_images
        self._image_channel = None
        self._image_dtype, self._image_shape = None, None
        self._saving_dir: str | None = None
        self._reply: dict = {}
        self._progress: dict = {}
        self._changed = gevent.event.Event()
        self._woken = gevent.event.Event()
        self._error: BaseException | None = None
        self._points = 0
        self._started = False
        self._refs_done = 0
        self._rows_done = 0
        self._final = False
        self._follower: gevent.Greenlet | None = None
        self._check()  # a wrong parameter or a detector that cannot work refuses the scan now

    def _request(self, rois=(), bpm: bool = False, saving_dir: str | None = None) -> dict:
        return {"nb_frames": self.nb_frames, "expo_time": self.expo_time, "trigger_mode": self.lima_trigger,
                "latency_time": self.latency_time, "acq_mode": self.acq_mode, "rois": list(rois), "bpm": bpm,
                "saving": {"directory": saving_dir, "prefix": f"{self.name}_"} if saving_dir else None}

    def _check(self, saving_dir: str | None = None) -> None:
        """The bridge checks the request (nothing touched): LimaConfigError naming the
        detector, the parameter and what is allowed."""
        self.detector.call("Check", json.dumps(self._request(saving_dir=saving_dir)))

    @property
    def multi(self) -> bool:
        return self.lima_trigger.endswith("_MULTI") or self.lima_trigger == "EXTERNAL_GATE"

    def iterations(self) -> int:
        return self.nb_frames if self.multi else 1

    def _triggered_complete(self) -> bool:
        """Every frame triggered so far is acquired, saved (or ready) and counted."""
        p, last = self._progress, self._points - 1
        done = p["saved"] if self._saving_dir else p["ready"]
        rows = not self._counter_slaves() or p["counters"] >= last
        refs = self._image_channel is None or self._refs_done >= self._points
        return p["acquired"] >= last and done >= last and rows and refs

    # ------------------------------------------------------------------ building
    def add_counters(self, counters) -> None:
        if any(c is self.detector.image for c in counters) and self._image_channel is None:
            dtype, shape = self.detector.image_info()
            self._image_dtype, self._image_shape = dtype, shape
            self._image_channel = self.add_channel(f"{self.name}:image", dtype, shape, kind="ref")

    def bind_scan(self, scan) -> None:
        """Images are saved next to the scan's dataset file when the scan is saved."""
        save = scan.save if self.save_images is None else self.save_images
        filename = scan.scan_info.get("filename")
        if self._image_channel is not None and save and filename and scan.scan_number is not None:
            self._saving_dir = os.path.join(os.path.dirname(filename), f"scan{scan.scan_number:04d}")
            self._check(self._saving_dir)  # a folder that cannot be written refuses the scan now
        else:
            self._saving_dir = None

    # ------------------------------------------------------------------ life cycle
    def prepare(self) -> None:
        self._error, self._final, self._started = None, False, False
        self._points = self._refs_done = self._rows_done = 0
        slaves = self._counter_slaves()
        rois = sorted({c.name.rsplit("_", 1)[0] for s in slaves for c in s.counters
                       if s.device is self.detector.roi_counters})
        bpm = any(s.device is self.detector.bpm for s in slaves)
        request = self._request(rois, bpm, self._saving_dir)
        self.detector.follow(self._on_progress)
        self._reply = json.loads(self.detector.call("Prepare", json.dumps(request)))
        self._progress = {"acq": self._reply["acq"], "status": "Prepared", "acquired": -1, "ready": -1,
                          "saved": -1, "counters": -1, "error": ""}
        columns = self._reply["columns"]
        for s in slaves:
            s.bind(columns)
        if self._image_channel is not None:
            shape = tuple(self._reply["shape"])
            if shape != self._image_shape or np.dtype(self._reply["dtype"]) != self._image_dtype:
                raise LimaCameraError(f"{self.name}: frames are {self._reply['dtype']} {shape}, the scan was "
                                      f"built for {self._image_dtype} {self._image_shape}: build it again")

    def start(self) -> None:
        self._follower = gevent.spawn(self._follow)

    def trigger(self) -> None:
        i = self._points
        if self.multi or not self._started:
            self.detector.call("Start")
            self._started = True
        self.trigger_slaves()
        self._wait(lambda: self._progress["acquired"] >= i, f"frame {i}")
        self._points = i + 1

    def wait_reading(self) -> None:
        if self.multi and self.nb_frames == 0 and self._started and not self._final:
            # an open-ended MULTI acquisition: once the last triggered frame is complete,
            # stopAcq ends it (the camera then says Ready)
            self._wait(lambda: self._final or self._triggered_complete(), "the last frame")
            if not self._final:
                self._finish_by_stop()
        self._wait(lambda: self._final, "the end of the acquisition")

    def _finish_by_stop(self) -> None:
        final = json.loads(self.detector.call("Stop"))
        if final.get("acq") == self._progress.get("acq"):
            self._progress = final
        self._emit(final_pass=True)

    def stop(self) -> None:
        try:
            if self._started and not self._final and self._error is None:
                self._finish_by_stop()
        finally:
            if self._follower is not None and not self._follower.ready():
                self._follower.kill()
            self.detector.unfollow(self._on_progress)
            for s in self._counter_slaves():
                s.finish()

    # ------------------------------------------------------------------ progress
    def _on_progress(self, p: dict) -> None:
        if p.get("acq") != self._progress.get("acq"):
            return  # another acquisition's event
        self._progress = p
        self._changed.set()
        self._woken.set()  # a trigger waiting for its frame goes on at once

    def _wait(self, done, what: str) -> None:
        while not done():
            if self._error is not None:
                raise self._error
            self._woken.clear()
            if done():
                return
            self._woken.wait(LIVENESS * 2)
            if self._follower is not None and self._follower.dead and self._error is None and not done():
                raise LimaCameraError(f"{self.name}: stopped following the acquisition while waiting for {what}")

    def _follow(self) -> None:
        """Turn progress into channel data; ask the bridge when its events stop."""
        try:
            while not self._final:
                if not self._changed.wait(LIVENESS):
                    p = self.detector.progress()  # liveness: a dead bridge raises here
                    if p.get("acq") != self._progress.get("acq"):
                        # a bridge restarted (or prepared by another client) no longer
                        # knows this acquisition: no frame of it will ever be counted
                        server, _host = device_server(self.detector.device)
                        who = f"{self.name}'s server {server}" if server else \
                            f"{self.name}'s LimaBridge {self.detector.device}"
                        raise LimaCameraError(
                            f"{who} lost acquisition {self._progress.get('acq')}: it was restarted (or "
                            f"prepared by another client) and now reports acquisition {p.get('acq')}")
                    self._progress = p
                self._changed.clear()
                self._emit()
                self._woken.set()
        except BaseException as exc:  # noqa: BLE001 - the scan's waiters raise it
            if isinstance(exc, gevent.GreenletExit):
                raise
            self._error = exc if isinstance(exc, (LimaConnectionError, LimaCameraError)) else \
                LimaCameraError(f"{self.name}: {exc}")
            self._woken.set()

    def _emit(self, final_pass: bool = False) -> None:
        p = self._progress
        if p.get("status") == "Fault" and self._error is None:
            self._error = LimaCameraError(p.get("error") or f"{self.name}: acquisition failed")
        ch = self._image_channel
        if ch is not None:
            last = p["saved"] if self._saving_dir else p["ready"]
            if last + 1 > self._refs_done:
                ch.emit([self._ref(i) for i in range(self._refs_done, last + 1)])
                self._refs_done = last + 1
        if p["counters"] + 1 > self._rows_done and self._counter_slaves():
            raw = np.asarray(self.detector.call("ReadCounters", self._rows_done), dtype=np.float64)
            width = len(self._reply["columns"]) + 1
            rows = raw.reshape(-1, width) if raw.size else np.empty((0, width))
            rows = rows[rows[:, 0] >= self._rows_done]
            if len(rows):
                for s in self._counter_slaves():
                    s.feed(rows)
                self._rows_done = int(rows[-1, 0]) + 1
        started = self._started or final_pass
        if started and p["status"] in ("Ready", "Fault") and self._points_complete(p):
            self._final = True
            for s in self._counter_slaves():
                s.finish()

    def _points_complete(self, p: dict) -> bool:
        refs_ok = self._image_channel is None or self._refs_done >= (p["saved"] if self._saving_dir else p["ready"]) + 1
        rows_ok = not self._counter_slaves() or self._rows_done >= p["counters"] + 1
        return refs_ok and rows_ok

    def _counter_slaves(self) -> list[LimaCountersSlave]:
        return [s for s in self.slaves if isinstance(s, LimaCountersSlave)]

    def _ref(self, i: int) -> dict:
        return frame_ref(self._reply, i)

    def description(self) -> dict:
        d = super().description()
        d.update(trigger_mode=self.lima_trigger, nb_frames=self.nb_frames, expo_time=self.expo_time,
                 images_saved_in=self._saving_dir)
        return d


class LimaCountersSlave(AcquisitionSlave):
    """ROI or BPM counters of a detector: their values come with the master's progress."""

    def __init__(self, controller, counters, npoints: int = 1, count_time: float = 0.0, **_ignored) -> None:
        super().__init__(controller, name=controller.name, npoints=npoints, trigger_mode=TriggerMode.HARDWARE)
        self.counters = list(counters)
        rois = getattr(controller, "rois_now", dict)()
        self._chans = [self.add_channel(c.fullname, float, (), c.unit, info=_roi_info(c, rois))
                       for c in self.counters]
        self._columns: list[int] = []
        self._done = gevent.event.Event()

    def bind(self, columns: list[str]) -> None:
        """Where each counter is in the bridge's rows (column 0 is the frame number)."""
        missing = [c.column for c in self.counters if c.column not in columns]
        if missing:
            raise LimaCameraError(f"{self.name}: the detector computes no {', '.join(missing)}")
        self._columns = [columns.index(c.column) + 1 for c in self.counters]
        self._done.clear()

    def feed(self, rows: np.ndarray) -> None:
        for ch, col in zip(self._chans, self._columns):
            ch.emit(np.ascontiguousarray(rows[:, col]))

    def finish(self) -> None:
        self._done.set()

    def reading(self) -> None:
        self._done.wait()


def _roi_info(counter, rois: dict) -> dict:
    """What a detector counter's channel tells its readers: the detector ("lima"), for a
    ROI counter its region ("roi": [x, y, w, h], NeXus maps of mesh scans use it) and
    statistic ("stat"), for a BPM counter its value ("bpm")."""
    detector = counter.controller.name.split(":", 1)[0]
    if counter.column.startswith("bpm:"):
        return {"lima": detector, "bpm": counter.name}
    roi_name, _, stat = counter.name.rpartition("_")
    roi = rois.get(roi_name)
    return {"lima": detector, "stat": stat, **({"roi": list(roi)} if roi is not None else {})}
