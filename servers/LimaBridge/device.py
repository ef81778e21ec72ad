"""Tango class `LimaBridge`: the BLISS-level detector of the YAML (core.lima.detector) as a
device `<domain>/lima/<name>`, over any LimaCCDs device named by `tango_url`.

A scan prepares it with `Prepare(json)` (every parameter checked before the camera is
touched), starts it (`Start`, once per frame in INTERNAL_TRIGGER_MULTI), follows the
change events of `Progress` (JSON tagged with the acquisition) and reads the ROI/BPM rows
with `ReadCounters(first)`. ROIs: `roi_counters` (JSON), `SetRoi`, `RemoveRoi`,
`ClearRois`, persisted in settings:<name>. `image`: the last frame for GUIs, change
events at most ImageEventRate per second while someone listens. `ReadImage(index)`: the
camera's DATA_ARRAY bytes (header v4 + pixels) as an unsigned char array.
"""

from __future__ import annotations

import json
import logging

import gevent
import gevent.event
import numpy as np
import tango
from tango import AttrWriteType, DevState
from tango.server import Device, attribute, command, device_property

from blisstango.core.beacon.settings import object_settings
from blisstango.core.lima.client import LimaConfigError
from blisstango.core.lima.detector import LimaDetector, Progress
from blisstango.core.lima.plugin import beacon_config, where

from ..config_object import object_name
from ..errors import devfailed, init_failed
from ..pusher import PushedUnderMonitor, listened
from ..request_thread import no_hardware_read, request_hook

log = logging.getLogger(__name__)

RW = AttrWriteType.READ_WRITE
MIRRORED = {"acq_status": "status", "last_image_acquired": "acquired", "last_image_ready": "ready",
            "last_image_saved": "saved", "last_counter_ready": "counters"}


class LimaBridge(PushedUnderMonitor, Device):
    green_mode = tango.GreenMode.Gevent
    always_executed_hook = request_hook
    read_attr_hardware = no_hardware_read
    init_error_reason = "LimaConfigError"

    ObjectName = device_property(dtype=str, default_value="", doc="configuration object of the detector")
    ImageEventRate = device_property(dtype=float, default_value=5.0,
                                     doc="most `image` change events per second (live view)")

    def init_device(self) -> None:
        super().init_device()
        self.init_error = ""
        self.det: LimaDetector | None = None
        self._image = np.zeros((0, 0), dtype=np.uint16)
        self._image_wake = gevent.event.Event()
        self._pushed: dict = {}
        self._tasks: list[gevent.Greenlet] = []
        for name in ("State", "Status", "Progress", "image", "roi_counters", *MIRRORED):
            self.set_change_event(name, True, False)
        try:
            name = object_name(self, self.ObjectName)
            cfg = beacon_config(name)
            self.det = LimaDetector(name, cfg, object_settings(name))
        except (LimaConfigError, RuntimeError, ValueError) as exc:
            init_failed(self, f"{exc}{where(cfg) if 'cfg' in locals() else ''}", exc)
            return
        self.det.listeners.append(self._on_progress)
        self.det.run()
        self._tasks.append(gevent.spawn(self._image_loop))

    def delete_device(self) -> None:
        gevent.killall(self._tasks)
        if self.det is not None:
            self.det.close()

    # ------------------------------------------------------------------ state
    def dev_state(self) -> DevState:
        if self.init_error or self.det is None:
            return DevState.FAULT
        if self.det.camera is None:
            return DevState.INIT if not self.det.connect_error else DevState.FAULT
        if self.det.lost:
            return DevState.FAULT
        status = self.det.progress.status
        # a failed acquisition is told by Progress and Status; the device is ON again
        # once the camera answers (the next Prepare starts afresh)
        return DevState.RUNNING if status == "Running" else DevState.ON

    def dev_status(self) -> str:
        if self.init_error or self.det is None:
            return self.init_error
        det = self.det
        if det.camera is None:
            return det.connect_error or f"{det.name}: connecting to {det.url}"
        p = det.progress
        text = f"{det.name} on {det.url}: {p.status}, frame {p.acquired} acquired, {p.saved} saved"
        if det.lost:
            text = f"{det.name}: camera {det.url} does not answer; last acquisition {p.status}"
        return f"{text}; {p.error}" if p.error else text

    def _on_progress(self, p: Progress) -> None:
        """Progress first (what scans wait on); the other values only when someone listens
        and they changed."""
        try:
            self.push_change_event("Progress", p.as_json())
            now = {attr: getattr(p, field) for attr, field in MIRRORED.items()}
            now["State"], now["Status"] = self.dev_state(), self.dev_status()
            self.store_state(now["State"], now["Status"])
            for attr, value in now.items():
                if self._pushed.get(attr) != value and listened(self, attr):
                    self.push_change_event(attr, value)
                    self._pushed[attr] = value
        except tango.DevFailed:
            pass
        self._image_wake.set()

    def _image_loop(self) -> None:
        """The live image: the camera's last frame, read only when someone listens."""
        period = 1.0 / self.ImageEventRate if self.ImageEventRate > 0 else 1.0
        last = -2
        while True:
            self._image_wake.wait()
            self._image_wake.clear()
            det = self.det
            p = det.progress
            if det.camera is None or p.ready < 0 or (p.acq, p.ready) == last:
                continue
            if not listened(self, "image"):
                continue
            try:
                frame, _header = det.camera.read_image(-1)
                self._image = _as_u16(frame)
                self.push_change_event("image", self._image)
                last = (p.acq, p.ready)
            except Exception as exc:  # noqa: BLE001 - the live view must not stop
                log.debug("%s: live image: %s", det.name, exc)
            gevent.sleep(period)

    # ------------------------------------------------------------------ attributes
    @attribute(dtype=str, access=RW, doc="the LimaCCDs device driven (real or simulated)")
    @devfailed
    def tango_url(self):
        return self.det.url

    @tango_url.write
    @devfailed
    def tango_url(self, value):
        self.det.set_tango_url(str(value))

    @attribute(dtype=str, doc="JSON {acq, status, acquired, ready, saved, counters, error} of the "
                              "current acquisition (change events)")
    @devfailed
    def Progress(self):
        return self.det.progress.as_json()

    @attribute(dtype=str, doc="Prepared, Running, Ready (over) or Fault")
    @devfailed
    def acq_status(self):
        return self.det.progress.status

    @attribute(dtype=int)
    @devfailed
    def last_image_acquired(self):
        return self.det.progress.acquired

    @attribute(dtype=int)
    @devfailed
    def last_image_ready(self):
        return self.det.progress.ready

    @attribute(dtype=int)
    @devfailed
    def last_image_saved(self):
        return self.det.progress.saved

    @attribute(dtype=int, doc="last frame whose ROI and BPM values the bridge holds")
    @devfailed
    def last_counter_ready(self):
        return self.det.progress.counters

    @attribute(dtype=str, doc="JSON {name: [x, y, w, h]} of the ROI counters")
    @devfailed
    def roi_counters(self):
        return self._rois_json()

    def _rois_json(self) -> str:
        return json.dumps({k: list(v) for k, v in self.det.rois.items()})

    @attribute(dtype=(int,), max_dim_x=4, doc="[signed, bytes per pixel, width, height] of the frames")
    @devfailed
    def image_sizes(self):
        return self.det.require_camera().read(["image_sizes"])["image_sizes"]

    @attribute(dtype=(int,), max_dim_x=2, doc="[width, height] with the current image parameters")
    @devfailed
    def image_size(self):
        return list(self.det.full_size(self.det.image_params()))

    @attribute(dtype=((np.uint16,),), max_dim_x=65535, max_dim_y=65535,
               doc="last frame (16-bit grey levels) for live views; events while listened to")
    @devfailed
    def image(self):
        return self._image

    # ------------------------------------------------------------------ commands
    @command(dtype_in=str, dtype_out=str, doc_in="JSON: nb_frames, expo_time, trigger_mode, latency_time, "
             "acq_mode, saving {directory, prefix, frame_per_file} | null, rois (true | [names]), bpm",
             doc_out="JSON: acq, server, dtype, shape, columns, saving {...}")
    @devfailed
    def Prepare(self, request):
        return json.dumps(self.det.prepare(self._request(request)))

    @command(dtype_in=str, dtype_out=str, doc_in="the JSON Prepare takes",
             doc_out="JSON: what the acquisition would be; the camera is not touched")
    @devfailed
    def Check(self, request):
        return json.dumps(self.det.check(self._request(request)))

    def _request(self, request: str) -> dict:
        try:
            params = json.loads(request)
        except ValueError as exc:
            raise LimaConfigError(f"{self.det.name}: the request is not JSON: {exc}") from None
        if not isinstance(params, dict):
            raise LimaConfigError(f"{self.det.name}: the request must be a JSON object, not {json.dumps(params)[:80]}")
        return params

    @command
    @devfailed
    def Start(self):
        self.det.start()

    @command(dtype_out=str, doc_out="final Progress (JSON)")
    @devfailed
    def Stop(self):
        return self.det.stop().as_json()

    @command(dtype_in=int, dtype_out=(float,), doc_in="first frame",
             doc_out="rows [frame, columns...] (columns as Prepare returned them)")
    @devfailed
    def ReadCounters(self, first):
        return self.det.read_counters(int(first)).ravel()

    @command(dtype_in=int, dtype_out=tango.DevVarCharArray, doc_in="frame number, -1 = last ready",
             doc_out="the DATA_ARRAY bytes (Lima header v4 + pixels), from the saved file when the "
                     "frame is saved, else from the camera, as an unsigned char array: PyTango hands "
                     "such an array over at memory speed, where a DevEncoded reply costs it far more")
    @devfailed
    def ReadImage(self, index):
        return np.frombuffer(self.det.read_image_raw(int(index)), dtype=np.uint8)

    @command(dtype_in=tango.DevVarLongStringArray, doc_in="([x, y, w, h], [name])")
    @devfailed
    def SetRoi(self, argin):
        values, names = argin
        if len(names) != 1:
            raise LimaConfigError(f"{self.det.name}: SetRoi takes one name, got {list(names)}")
        self.det.set_roi(str(names[0]), list(values))
        self.push_change_event("roi_counters", self._rois_json())

    @command(dtype_in=str)
    @devfailed
    def RemoveRoi(self, name):
        self.det.remove_roi(str(name))
        self.push_change_event("roi_counters", self._rois_json())

    @command
    @devfailed
    def ClearRois(self):
        self.det.clear_rois()
        self.push_change_event("roi_counters", self._rois_json())


def _as_u16(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.uint16:
        return frame
    return np.clip(frame, 0, 65535).astype(np.uint16)


__all__ = ["LimaBridge"]
