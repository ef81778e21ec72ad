"""The simulated detector behind a LimaCCDs device: Lima's parameters with their checks,
and its commands (prepare, start, stop, reset, read a frame); the acquisition itself
runs in the threads of engine.py.

Frames count from 0 in each acquisition; every prepare gives the acquisition a new tag,
carried by the frames' DATA_ARRAY headers. The status stays Running until every acquired
frame is processed and saved, as Lima's does.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import numpy as np

from .camera import CameraConfig, FrameMaker, Geometry
from .engine import (
    FAULT,
    MULTI_MODES,
    PROGRESS,
    READY,
    RUNNING,
    Acquisition,
    AcquisitionEngine,
    LimaError,
)
from .frames import IMAGE_TYPES, image_sizes
from .processing import Bpm, RoiCounters
from .saving import SavingParams, check_saving

ACQ_MODES = ("SINGLE", "ACCUMULATION")
TRIGGER_MODES = ("INTERNAL_TRIGGER", "INTERNAL_TRIGGER_MULTI", "EXTERNAL_TRIGGER",
                 "EXTERNAL_TRIGGER_MULTI", "EXTERNAL_GATE")
ROTATIONS = ("NONE", "90", "180", "270")
VIDEO_SOURCES = ("BASE_IMAGE", "LAST_IMAGE")

__all__ = ["LimaControl", "LimaError", "CameraConfig", "ACQ_MODES", "TRIGGER_MODES", "ROTATIONS",
           "VIDEO_SOURCES", "IMAGE_TYPES", "READY", "RUNNING", "FAULT", "MULTI_MODES", "PROGRESS"]


def _values(name: str, v, shape: str) -> list:
    """The elements of an array parameter, as many as `shape` names (else a LimaError)."""
    values = list(v)
    if len(values) != shape.count(",") + 1:
        raise LimaError(f"{name} takes {shape}, not {len(values)} value(s) {values[:8]}")
    return values


def _choice(param: str, value: str, allowed: tuple) -> str:
    value = str(value)
    if value not in allowed:
        raise LimaError(f"{param} {value!r} is not one of {', '.join(allowed)}")
    return value


class LimaControl(AcquisitionEngine):
    """A LimaCCDs detector without Tango: parameters, acquisition, buffer, saving,
    processing. `notify(names)` tells the server which values changed (its events);
    `positions(fresh)` returns {axis: position} for the beam (fresh: read now, else
    what the axes' events said last)."""

    lima_type = "Simulator"
    camera_type = "Simulator"
    lima_version = "1.10.0"

    def __init__(self, camera: CameraConfig, positions: Callable[[bool], dict] | None = None,
                 notify: Callable[[set[str]], None] | None = None, seed: int | None = None) -> None:
        self.camera = camera
        self.positions = positions or (lambda fresh: {})
        self.notify = notify or (lambda names: None)
        self.maker = FrameMaker(camera.width, camera.height, camera.beam, seed=seed)
        self.roi_counters = RoiCounters()
        self.bpm = Bpm()
        self._lock = threading.RLock()
        self._tag = 0
        # identity
        self.user_instrument_name = "instrument"
        self.user_detector_name = "simulator"
        # image
        self.image_type = camera.image_type
        self.image_bin = (1, 1)
        self.image_flip = (False, False)
        self.image_rotation = "NONE"
        self.image_roi = (0, 0, 0, 0)
        # acquisition
        self.acq_mode = "SINGLE"
        self.acq_nb_frames = 1
        self.acq_expo_time = 1.0
        self.acq_trigger_mode = "INTERNAL_TRIGGER"
        self.latency_time = 0.0
        self.acc_max_expo_time = 1.0
        # saving
        self.saving = SavingParams()
        # video
        self.video_live = False
        self.video_source = "LAST_IMAGE"
        self.video_active = False
        self.video_exposure = 0.1
        self.video_last_image_counter = 0
        # state
        self.acq_status = READY
        self.acq_status_fault_error = ""
        self.last_image_acquired = -1
        self.last_image_ready = -1
        self.last_counter_ready = -1
        self.last_image_saved = -1
        self._acq: Acquisition | None = None
        self._prepared = False
        self._thread: threading.Thread | None = None
        self._buffer: list[np.ndarray] = []
        self._buffer_touched = 0  # frames of the buffer whose pages were written once
        self._slot_frame: list[int] = []
        self._slot_time: list[float] = []
        self._saver = None  # HdfSaver of the running acquisition
        self.saved_files: list[str] = []

    # ------------------------------------------------------------------ parameters
    def _check_idle(self, what: str) -> None:
        if self.acq_status == RUNNING:
            raise LimaError(f"{what} cannot change while an acquisition is running (stopAcq first)")

    def set(self, name: str, value) -> None:
        """Write one parameter, checked; LimaError names it and the allowed values."""
        with self._lock:
            self._check_idle(name)
            setter = getattr(self, f"_set_{name}", None)
            if setter is not None:
                setter(value)
            else:
                setattr(self, name, value)
            if name.startswith(("acq_", "latency", "saving", "image_", "acc_")):
                self._prepared = False  # a parameter changed after prepareAcq: prepare again

    def _set_acq_mode(self, v) -> None:
        self.acq_mode = _choice("acq_mode", v, ACQ_MODES)

    def _set_acq_trigger_mode(self, v) -> None:
        self.acq_trigger_mode = _choice("acq_trigger_mode", v, TRIGGER_MODES)

    def _set_acq_nb_frames(self, v) -> None:
        if int(v) < 0:
            raise LimaError(f"acq_nb_frames {v} must be >= 0 (0 = until stopAcq)")
        self.acq_nb_frames = int(v)

    def _set_acq_expo_time(self, v) -> None:
        v = float(v)
        if not math.isfinite(v) or v < self.camera.min_expo_time:
            raise LimaError(f"acq_expo_time {v} s is below the camera's minimum {self.camera.min_expo_time} s")
        self.acq_expo_time = v

    def _set_latency_time(self, v) -> None:
        v = float(v)
        if not math.isfinite(v) or v < 0:
            raise LimaError(f"latency_time {v} s must be >= 0")
        self.latency_time = v

    def _set_acc_max_expo_time(self, v) -> None:
        v = float(v)
        if not math.isfinite(v) or v <= 0:
            raise LimaError(f"acc_max_expo_time {v} s must be > 0")
        self.acc_max_expo_time = v

    def _set_image_type(self, v) -> None:
        self.image_type = _choice("image_type", v, tuple(IMAGE_TYPES))

    def _set_image_bin(self, v) -> None:
        bx, by = (int(x) for x in _values("image_bin", v, "[x, y]"))
        if bx < 1 or by < 1 or bx > self.camera.width or by > self.camera.height:
            raise LimaError(f"image_bin [{bx}, {by}] must be in [1, {self.camera.width}] x [1, {self.camera.height}]")
        self.image_bin = (bx, by)
        self.image_roi = (0, 0, 0, 0)  # Lima resets the roi when the binning changes

    def _set_image_flip(self, v) -> None:
        lr, ud = (bool(x) for x in _values("image_flip", v, "[left-right, up-down]"))
        self.image_flip = (lr, ud)

    def _set_image_rotation(self, v) -> None:
        v = "NONE" if str(v) in ("0", "NONE") else str(v)
        self.image_rotation = _choice("image_rotation", v, ROTATIONS)
        self.image_roi = (0, 0, 0, 0)

    def _set_image_roi(self, v) -> None:
        x, y, w, h = (int(a) for a in _values("image_roi", v, "[x, y, w, h]"))
        fw, fh = Geometry(self.image_bin, self.image_flip, self.image_rotation).full_size(
            self.camera.width, self.camera.height)
        if (w, h) == (0, 0) and (x, y) == (0, 0):
            self.image_roi = (0, 0, 0, 0)
            return
        if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > fw or y + h > fh:
            raise LimaError(f"image_roi [{x}, {y}, {w}, {h}] is outside the image {fw}x{fh} "
                            f"(x + w <= {fw}, y + h <= {fh}, w and h > 0)")
        self.image_roi = (x, y, w, h)

    def _set_video_source(self, v) -> None:
        self.video_source = _choice("video_source", v, VIDEO_SOURCES)

    def _set_video_exposure(self, v) -> None:
        v = float(v)
        if not math.isfinite(v) or v < self.camera.min_expo_time:
            raise LimaError(f"video_exposure {v} s is below the camera's minimum {self.camera.min_expo_time} s")
        self.video_exposure = v

    def _set_video_active(self, v) -> None:
        self.video_active = bool(v)

    def set_saving(self, name: str, value) -> None:
        """saving_<name> parameters."""
        with self._lock:
            self._check_idle(f"saving_{name}")
            p = self.saving
            if name == "format":
                p.format = _choice("saving_format", str(value).upper(), ("HDF5",))
                p.suffix = ".h5"
            elif name == "mode":
                p.mode = _choice("saving_mode", value, ("MANUAL", "AUTO_FRAME"))
            elif name == "managed_mode":
                p.managed_mode = _choice("saving_managed_mode", value, ("SOFTWARE",))
            elif name == "overwrite_policy":
                p.overwrite_policy = _choice("saving_overwrite_policy", value, ("ABORT", "OVERWRITE"))
            elif name == "frame_per_file":
                if int(value) < 1:
                    raise LimaError(f"saving_frame_per_file {value} must be >= 1")
                p.frame_per_file = int(value)
            elif name == "next_number":
                if int(value) < 0:
                    raise LimaError(f"saving_next_number {value} must be >= 0")
                p.next_number = int(value)
            elif name in ("directory", "prefix", "suffix", "index_format"):
                setattr(p, name, str(value))
            else:
                raise LimaError(f"saving_{name} is not a saving parameter")
            self._prepared = False

    # ------------------------------------------------------------------ derived
    def geometry(self) -> Geometry:
        return Geometry(self.image_bin, self.image_flip, self.image_rotation, self.image_roi)

    def frame_dtype(self) -> np.dtype:
        if self.acq_mode == "ACCUMULATION":
            return np.dtype(np.uint32)
        return np.dtype(IMAGE_TYPES[self.image_type])

    def image_sizes(self) -> list[int]:
        w, h = self.geometry().size(self.camera.width, self.camera.height)
        return image_sizes(self.frame_dtype(), w, h)

    def saving_enabled(self) -> bool:
        return self.saving.mode == "AUTO_FRAME"

    @property
    def buffer_max_number(self) -> int:
        w, h = self.geometry().size(self.camera.width, self.camera.height)
        frame = max(1, w * h * self.frame_dtype().itemsize)
        return max(4, int(self.camera.buffer_max_memory * 1024 * 1024 // frame))

    @property
    def acq_tag(self) -> int:
        return self._acq.tag if self._acq is not None else 0

    @property
    def paced_by_client(self) -> bool:
        """The acquisition takes one frame per startAcq: its frames come no faster than
        the client asks for them (a step scan's points)."""
        acq = self._acq
        return acq is not None and acq.trigger_mode == "INTERNAL_TRIGGER_MULTI"

    @property
    def ready_for_next_image(self) -> bool:
        acq = self._acq
        if self.acq_status != RUNNING or acq is None:
            return self.acq_status == READY
        if acq.trigger_mode in MULTI_MODES:
            return acq.triggers <= self.last_image_acquired + 1
        return False

    @property
    def ready_for_next_acq(self) -> bool:
        return self.acq_status != RUNNING

    def _new_tag(self) -> int:
        # unique across restarts of the server: a reference to an older acquisition's
        # frame never matches a new one's
        self._tag = max(self._tag + 1, time.time_ns() // 1000)
        return self._tag

    # ------------------------------------------------------------------ commands
    def prepare(self, live: bool = False) -> None:
        """prepareAcq: check everything, allocate the buffer, reset the counters; nothing
        starts. Refused (LimaError / SavingError) with the parameter that is wrong."""
        with self._lock:
            self._check_idle("prepareAcq")
            acq = Acquisition(self, live)
            if acq.saving:
                check_saving(self.saving, acq.nb_frames)
            self._allocate(acq)
            self._acq = acq
            self.last_image_acquired = self.last_image_ready = -1
            self.last_counter_ready = self.last_image_saved = -1
            self.acq_status_fault_error = ""
            if self.acq_status == FAULT:
                self.acq_status = READY
            self.roi_counters.history.clear()
            self.bpm.history.clear()
            self._prepared = True
        self.notify({*PROGRESS, "acq_status"})

    def _allocate(self, acq: Acquisition) -> None:
        """The frame buffer, kept from one acquisition to the next when it fits. The slots
        a timed acquisition will fill are written once here (every page touched): a first
        write into fresh memory costs the page faults, which would otherwise slow the
        first frames down to a crawl."""
        limit = self.buffer_max_number
        need = limit if acq.nb_frames == 0 else min(limit, max(acq.nb_frames, 1))
        shape = (acq.height, acq.width)
        buf = self._buffer
        if not (buf and buf[0].shape == shape and buf[0].dtype == acq.dtype and need <= len(buf) <= limit):
            self._buffer = []  # the old one is freed before the new one is made
            self._buffer = [np.empty(shape, dtype=acq.dtype) for _ in range(need)]
            self._buffer_touched = 0
        burst = min(acq.nb_frames, len(self._buffer))
        if burst > self._buffer_touched:
            # a burst at the camera's rate: no page fault in its frames (slots 0..burst-1).
            # An open-ended acquisition (one frame per trigger of a step scan) takes the
            # whole buffer and has time for the faults: touching hundreds of MB would make
            # its prepareAcq take seconds
            for b in self._buffer[self._buffer_touched:burst]:
                b.fill(0)
            self._buffer_touched = burst
        n = len(self._buffer)
        self._slot_frame = [-1] * n
        self._slot_time = [0.0] * n  # epoch time each frame was read out

    def start(self) -> None:
        """startAcq: begin the prepared acquisition, or one more frame in
        INTERNAL_TRIGGER_MULTI."""
        with self._lock:
            acq = self._acq
            if self.acq_status == RUNNING and acq is not None:
                if acq.trigger_mode == "INTERNAL_TRIGGER_MULTI":
                    self._trigger(acq, "startAcq")
                    return
                raise LimaError(f"startAcq: an acquisition is running ({acq.trigger_mode}): stopAcq first")
            if not self._prepared or acq is None:
                raise LimaError("startAcq: call prepareAcq first (each acquisition is prepared once)")
            self._prepared = False
            self.acq_status = RUNNING
            acq.armed = True
            if acq.trigger_mode in ("INTERNAL_TRIGGER", "INTERNAL_TRIGGER_MULTI"):
                acq.triggers = 1
                acq.started.set()
            self._thread = threading.Thread(target=self._run, args=(acq,), name="lima-acquisition", daemon=True)
            self._thread.start()
        self.notify({"acq_status", "ready_for_next_image"})

    def external_trigger(self) -> None:
        """A trigger pulse on the camera's input (external modes), sent by software."""
        with self._lock:
            acq = self._acq
            if acq is None or self.acq_status != RUNNING or not acq.armed:
                raise LimaError("externalTrigger: the camera is not armed (prepareAcq and startAcq first)")
            if acq.trigger_mode not in ("EXTERNAL_TRIGGER", "EXTERNAL_TRIGGER_MULTI", "EXTERNAL_GATE"):
                raise LimaError(f"externalTrigger: acq_trigger_mode is {acq.trigger_mode}, not an external mode")
            if acq.trigger_mode == "EXTERNAL_TRIGGER":
                if acq.started.is_set():
                    raise LimaError("externalTrigger: EXTERNAL_TRIGGER takes one trigger per acquisition")
                acq.triggers = 1
                acq.started.set()
                with acq.cond:
                    acq.cond.notify_all()
                return
            self._trigger(acq, "externalTrigger")

    def _trigger(self, acq: Acquisition, what: str) -> None:
        if acq.nb_frames and acq.triggers >= acq.nb_frames:
            raise LimaError(f"{what}: the {acq.nb_frames} frames of this acquisition were all triggered")
        with acq.cond:
            acq.triggers += 1
            acq.started.set()
            acq.cond.notify_all()
        self.notify({"ready_for_next_image"})

    def stop(self, wait: bool = True) -> None:
        """stopAcq / abortAcq: no new exposure; the frames acquired are still processed and
        saved before the status is Ready again."""
        acq, thread = self._acq, self._thread
        if acq is not None:
            acq.stop.set()
            with acq.cond:
                acq.cond.notify_all()
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join(30)

    def reset(self) -> None:
        self.stop()
        with self._lock:
            self.acq_status = READY
            self.acq_status_fault_error = ""
            self._prepared = False
        self.notify({"acq_status"})

    def set_live(self, on: bool) -> None:
        """video_live: continuous frames at video_exposure, unsaved, until switched off."""
        if on == self.video_live:
            return
        if on:
            with self._lock:
                self._check_idle("video_live")
                self.video_live = True
            try:
                self.prepare(live=True)
                self.start()
            except Exception:
                self.video_live = False
                raise
        else:
            self.video_live = False
            self.stop()

    # ------------------------------------------------------------------ frames
    def read_image(self, index: int) -> tuple[np.ndarray, int, int]:
        """(copy of frame, frame number, acquisition tag); index -1 = the last ready.
        LimaError when that frame is not (or no longer) in the buffer."""
        acq = self._acq
        last = self.last_image_ready
        if acq is None or last < 0:
            raise LimaError("readImage: no image acquired yet")
        i = last if index < 0 else int(index)
        n = len(self._buffer)
        if i > last:
            raise LimaError(f"readImage: frame {i} is not acquired yet (last ready {last})")
        if i <= last - n:
            raise LimaError(f"readImage: frame {i} is no longer in the buffer (it holds frames "
                            f"{max(0, last - n + 1)}..{last}, buffer_max_number {n})")
        slot = i % n
        out = self._buffer[slot].copy()
        if self._slot_frame[slot] != i:  # overwritten while copied
            raise LimaError(f"readImage: frame {i} was overwritten while it was read")
        return out, i, acq.tag

    def last_frame(self) -> tuple[np.ndarray | None, int]:
        """The last ready frame for the video (None, -1 when there is none)."""
        try:
            frame, number, _tag = self.read_image(-1)
        except LimaError:
            return None, -1
        return frame, number
