"""The BLISS-level 2D detector of the YAML (plugin `lima`): what LimaBridge serves over any
LimaCCDs device, real or simulated, speaking only Lima's protocol (client.py).

    - name: cam1
      plugin: lima
      tango_url: demo/limaccds/cam1_sim    # any LimaCCDs device
      instrument: demo                      # user_instrument_name in the saved files
      saving: {frame_per_file: 100}
      roi_counters: {beam: [230, 230, 50, 50]}   # defaults; run-time changes persisted

It keeps the detector's ROIs (validated against the image size, persisted in
`settings:<name>`), prepares acquisitions (every parameter checked before the camera is
touched; a camera that refuses one gets its previous values back), follows them from the
camera's change events (each event triggers one read of the camera's status, so a stale
event never counts) and collects the ROI and BPM results of every frame. Progress goes
to `listeners` as a Progress, tagged with the acquisition it belongs to.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass

import gevent
import gevent.event
import gevent.lock
import numpy as np
import tango

from ..comm.backoff import Backoff, retry
from ..green import in_hub
from .camera import Geometry
from .checks import check_directory, check_roi, check_roi_name, roi_tuple
from .client import (
    EVENT_ATTRS,
    LimaCameraError,
    LimaCCDsClient,
    LimaConfigError,
    LimaStatus,
    check_number,
)
from .frames import dtype_of_sizes

log = logging.getLogger(__name__)

ROI_STATS = ("sum", "avg", "std", "min", "max")
BPM_VALUES = ("acq_time", "intensity", "x", "y", "fwhm_x", "fwhm_y")
_BPM_INDEX = {"acq_time": 0, "intensity": 1, "x": 2, "y": 3, "fwhm_x": 4, "fwhm_y": 5}
LIVENESS = 1.0  # s without news from the camera during an acquisition before it is asked
IMAGE_PARAMS = ("image_bin", "image_flip", "image_rotation", "image_roi")


@dataclass
class Progress:
    """Where the current acquisition is; -1 = no frame yet."""
    acq: int = 0              # acquisition tag (the camera's, or the bridge's own count)
    status: str = "Ready"     # Prepared (not started yet), Running, Ready (over), Fault
    acquired: int = -1
    ready: int = -1
    saved: int = -1
    counters: int = -1        # last frame whose ROI/BPM values the bridge holds
    error: str = ""

    def as_json(self) -> str:
        return json.dumps(asdict(self))


class LimaDetector:
    """One configured detector; gevent-cooperative (runs in the LimaBridge server)."""

    def __init__(self, name: str, config: dict, settings=None) -> None:
        self.name = name
        self.config = dict(config)
        url = self.config.get("tango_url")
        if not url or not isinstance(url, str):
            raise LimaConfigError(f"{name}: tango_url is missing (the LimaCCDs device to drive)")
        self.settings = settings
        defaults = self.config.get("roi_counters") or {}
        self._yaml_rois = {str(k): roi_tuple(name, str(k), v) for k, v in defaults.items()}
        self.url = str(self.settings.get("tango_url") if self.settings and self.settings.get("tango_url")
                       else url)
        saving = dict(self.config.get("saving") or {})
        self.frame_per_file = int(saving.get("frame_per_file", 100))
        self.instrument = str(self.config.get("instrument") or "instrument")
        self.camera: LimaCCDsClient | None = None
        self.connect_error = ""
        self.lost = False  # the camera stopped answering (until it answers again)
        self.progress = Progress()
        self.listeners: list[Callable[[Progress], None]] = []
        self._active = False      # an acquisition prepared and not over
        self._started = False
        self._columns: list[str] = []
        self._roi_ids: dict[int, str] = {}
        self._bpm = False
        self._partial: dict[int, dict] = {}
        self._rows: dict[int, np.ndarray] = {}
        self._next_counter = 0
        self._own_tag = 0
        self._epoch = 0
        self._wake = gevent.event.Event()
        self._lock = gevent.lock.RLock()  # one status applied at a time
        self._ev: dict = {}               # the camera's last pushed values
        self._tag_seen = -1               # the acq_tag the camera's events last said
        self._nb_frames = 1
        self._reply: dict = {}            # what the last Prepare answered
        self._events: list[int] = []
        self._tasks: list[gevent.Greenlet] = []

    # ------------------------------------------------------------------ connection
    def run(self) -> LimaDetector:
        """Connect (now or, if the camera is not there yet, in the background) and follow
        the camera's events."""
        self._tasks = [gevent.spawn(self._connect_loop), gevent.spawn(self._refresh_loop)]
        return self

    def close(self) -> None:
        gevent.killall(self._tasks)
        self._unsubscribe()

    def _connect_loop(self) -> None:
        def said(exc: BaseException) -> None:
            if str(exc) != self.connect_error:
                log.warning("%s (trying again)", exc)
            self.connect_error = str(exc)

        # a request may have connected meanwhile (require_camera)
        retry(lambda: self.camera or self.connect(), LimaConfigError, backoff=Backoff(0.5, 2.0), on_retry=said)

    def connect(self) -> LimaCCDsClient:
        camera = LimaCCDsClient(self.name, self.url)
        for attr in (*EVENT_ATTRS, *(("acq_tag",) if camera.has_tag else ())):
            try:
                self._events.append(camera.events_proxy.subscribe_event(
                    attr, tango.EventType.CHANGE_EVENT, in_hub(self._on_camera_event),
                    sub_mode=tango.EventSubMode.Stateless))
            except Exception as exc:  # noqa: BLE001 - events are an accelerator, liveness reads remain
                log.warning("%s: no %s events from %s: %s", self.name, attr, self.url, exc)
        self.camera = camera
        self.connect_error = ""
        return camera

    def _on_camera_event(self, ev) -> None:
        """Values a tagging camera pushes are used as they come once its event for the
        current acquisition's tag arrived (its events keep their order: every later one
        carries this acquisition's values); otherwise an event only triggers a read."""
        if not ev.err and ev.attr_value is not None:
            name = ev.attr_value.name.lower()
            if name == "acq_tag":
                self._tag_seen = int(ev.attr_value.value)
            else:
                self._ev[name] = ev.attr_value.value
        self._wake.set()

    def _event_status(self) -> LimaStatus | None:
        """The camera's status from its events, when they can be trusted (see above)."""
        if not self.camera or not self.camera.has_tag or self._tag_seen != self.progress.acq:
            return None
        v = self._ev
        try:
            return LimaStatus(str(v["acq_status"]), int(v["last_image_acquired"]), int(v["last_image_ready"]),
                              int(v["last_counter_ready"]), int(v["last_image_saved"]), False)
        except KeyError:
            return None

    def _unsubscribe(self) -> None:
        cam, ids, self._events = self.camera, self._events, []
        for eid in ids:
            try:
                cam.events_proxy.unsubscribe_event(eid)
            except Exception:  # noqa: BLE001 - the camera may be gone
                pass

    def require_camera(self) -> LimaCCDsClient:
        """The camera; connected now if the background attempts have not succeeded yet
        (a request right after start-up does not wait for the next attempt)."""
        if self.camera is None:
            try:
                self.connect()
            except LimaConfigError as exc:
                self.connect_error = str(exc)
                raise
        return self.camera

    def set_tango_url(self, url: str) -> None:
        """Point the detector at another LimaCCDs device; refused (and nothing changed) if
        it names no LimaCCDs device."""
        if self._active:
            raise LimaConfigError(f"{self.name}: tango_url cannot change during an acquisition")
        camera = LimaCCDsClient(self.name, url)  # raises naming the detector and the url
        self._unsubscribe()
        self.url = url
        self.camera = None
        if self.settings is not None:
            self.settings["tango_url"] = url
        del camera
        self.connect()

    # ------------------------------------------------------------------ image and ROIs
    def image_params(self) -> dict:
        stored = self.settings.get("image", {}) if self.settings is not None else {}
        return {k: stored[k] for k in IMAGE_PARAMS if k in stored}

    def full_size(self, params: dict | None = None) -> tuple[int, int]:
        """(width, height) of the frames with these image parameters (the camera's current
        ones for those not given)."""
        cam = self.require_camera()
        current = cam.read(["image_max_dim", *IMAGE_PARAMS])
        p = {**current, **(params or {})}
        w0, h0 = (int(v) for v in p["image_max_dim"])
        rot = str(p["image_rotation"])
        geo = Geometry(tuple(int(b) for b in p["image_bin"]), tuple(bool(f) for f in p["image_flip"]),
                       "NONE" if rot in ("0", "NONE") else rot, tuple(int(r) for r in p["image_roi"]))
        return geo.size(w0, h0)

    @property
    def rois(self) -> dict[str, tuple[int, int, int, int]]:
        stored = self.settings.get("rois") if self.settings is not None else None
        if stored is None:
            return dict(self._yaml_rois)
        return {k: tuple(v) for k, v in stored.items()}

    def set_roi(self, roi_name: str, values) -> None:
        """Add or replace a ROI [x, y, w, h]; refused when outside the image."""
        roi = roi_tuple(self.name, roi_name, values)
        check_roi_name(self.name, roi_name)
        w, h = self.full_size()
        check_roi(self.name, roi_name, roi, w, h)
        rois = self.rois
        rois[roi_name] = roi
        self._store_rois(rois)

    def remove_roi(self, roi_name: str) -> None:
        rois = self.rois
        if roi_name not in rois:
            raise LimaConfigError(f"{self.name}: no ROI named {roi_name!r} (ROIs: {', '.join(rois) or 'none'})")
        del rois[roi_name]
        self._store_rois(rois)

    def clear_rois(self) -> None:
        self._store_rois({})

    def _store_rois(self, rois: dict) -> None:
        if self.settings is not None:
            self.settings["rois"] = {k: list(v) for k, v in rois.items()}
        else:
            self._yaml_rois = dict(rois)

    # ------------------------------------------------------------------ acquisition
    def check(self, request: dict) -> dict:
        """Every check of prepare(), nothing touched (not even a folder made): what the
        acquisition would be ({nb_frames, expo_time, trigger_mode, rois, bpm, saving})."""
        params, use_rois, bpm = self._checked(request, make_dirs=False)
        return {"nb_frames": params["acq_nb_frames"], "expo_time": params["acq_expo_time"],
                "trigger_mode": params["acq_trigger_mode"], "rois": {k: list(v) for k, v in use_rois.items()},
                "bpm": bpm, "saving": params.get("saving_directory")}

    def _checked(self, request: dict, make_dirs: bool) -> tuple[dict, dict, bool]:
        """(camera parameters, ROIs, bpm) of a request; LimaConfigError naming the
        detector, the parameter and what is allowed for anything wrong."""
        cam = self.require_camera()
        trigger_modes = cam.allowed("acq_trigger_mode") or ["INTERNAL_TRIGGER", "INTERNAL_TRIGGER_MULTI"]
        acq_modes = cam.allowed("acq_mode") or ["SINGLE"]
        nb = request.get("nb_frames", 1)
        if not isinstance(nb, int) or isinstance(nb, bool) or nb < 0:
            raise LimaConfigError(f"{self.name}: nb_frames {nb!r} is outside [0, inf) (0: until stopped)")
        expo = check_number(self.name, "expo_time", request.get("expo_time", 1.0), 0.0, 3600.0, low_open=True)
        latency = check_number(self.name, "latency_time", request.get("latency_time", 0.0), 0.0, 3600.0)
        trigger = str(request.get("trigger_mode", "INTERNAL_TRIGGER"))
        if trigger not in trigger_modes:
            raise LimaConfigError(f"{self.name}: trigger_mode {trigger!r} is not one of {', '.join(trigger_modes)}")
        acq_mode = str(request.get("acq_mode", "SINGLE"))
        if acq_mode not in acq_modes:
            raise LimaConfigError(f"{self.name}: acq_mode {acq_mode!r} is not one of {', '.join(acq_modes)}")
        image = self.image_params()
        width, height = self.full_size(image)
        rois = self.rois
        wanted = request.get("rois", True)
        if wanted is True:
            use_rois = rois
        else:
            unknown = [r for r in (wanted or []) if r not in rois]
            if unknown:
                raise LimaConfigError(f"{self.name}: no ROI named {', '.join(unknown)} (ROIs: "
                                      f"{', '.join(rois) or 'none'})")
            use_rois = {r: rois[r] for r in wanted or []}
        for rname, roi in use_rois.items():
            check_roi(self.name, rname, roi, width, height)
        bpm = bool(request.get("bpm", False))
        params = {"acq_mode": acq_mode, "acq_nb_frames": nb, "acq_expo_time": expo,
                  "acq_trigger_mode": trigger, "latency_time": latency, **image,
                  "user_instrument_name": self.instrument, "user_detector_name": self.name}
        saving = request.get("saving")
        if saving:
            directory = str(saving["directory"])
            check_directory(self.name, directory, make=make_dirs)
            per_file = int(saving.get("frame_per_file") or self.frame_per_file)
            if per_file < 1:
                raise LimaConfigError(f"{self.name}: saving frame_per_file {per_file} is outside [1, inf)")
            params.update(saving_format="HDF5", saving_suffix=".h5", saving_frame_per_file=per_file,
                          saving_mode="AUTO_FRAME", saving_directory=directory, saving_next_number=0,
                          saving_index_format="%04d", saving_prefix=str(saving.get("prefix", f"{self.name}_")))
        else:
            params["saving_mode"] = "MANUAL"
        return params, use_rois, bpm

    def prepare(self, request: dict) -> dict:
        """Check everything, configure the camera and its plugins, prepareAcq. Returns what
        a scan needs to reference the frames. Nothing is changed when a check fails."""
        params, use_rois, bpm = self._checked(request, make_dirs=True)
        cam = self.camera
        nb, trigger, expo = params["acq_nb_frames"], params["acq_trigger_mode"], params["acq_expo_time"]
        acq_mode = params["acq_mode"]
        saving = request.get("saving")
        # every check passed: only now is the camera touched
        self._stop_running(cam)
        previous = cam.write_parameters(params)
        try:
            roi_ids = cam.setup_rois(use_rois)
            cam.plugin("bpm").Stop()
            cam.prepare()
        except Exception:
            cam.restore(previous)
            try:
                cam.setup_rois({})
            except Exception:  # noqa: BLE001 - the first error is the one reported
                pass
            raise
        self._own_tag += 1
        tag = cam.acq_tag() or self._own_tag
        self._roi_ids = {rid: rname for rname, rid in roi_ids.items()}
        self._bpm = bpm
        self._columns = [f"{r}_{s}" for r in use_rois for s in ROI_STATS] + \
                        ([f"bpm:{v}" for v in BPM_VALUES] if bpm else [])
        self._partial, self._rows, self._next_counter = {}, {}, 0
        self._nb_frames = nb
        self._ev = {"acq_status": "Ready", "last_image_acquired": -1, "last_image_ready": -1,
                    "last_counter_ready": -1, "last_image_saved": -1}
        self._active, self._started = True, False
        self._set_progress(Progress(tag, "Prepared"))
        sizes = cam.read(["image_sizes", "image_type", "buffer_max_number"])
        signed, depth, w, h = (int(v) for v in sizes["image_sizes"])
        reply = {"acq": tag, "server": cam.full_url, "tagged": cam.has_tag,
                 "dtype": dtype_of_sizes(signed, depth, sizes["image_type"] if acq_mode == "SINGLE" else None).str,
                 "shape": [h, w], "nb_frames": nb, "trigger_mode": trigger, "expo_time": expo,
                 "columns": self._columns, "rois": {k: list(v) for k, v in use_rois.items()},
                 "buffer_max_number": int(sizes["buffer_max_number"]), "saving": None}
        if saving:
            reply["saving"] = {"directory": params["saving_directory"], "prefix": params["saving_prefix"],
                               "suffix": ".h5", "index_format": "%04d", "first_number": 0,
                               "frame_per_file": params["saving_frame_per_file"],
                               "data_path": f"/entry_0000/{self.instrument}/{self.name}/data"}
        self._reply = reply
        return reply

    def read_image_raw(self, index: int) -> bytes | bytearray:
        """DATA_ARRAY bytes of a frame (-1: the last ready). A frame of the last acquisition
        already saved is read from its file when this host sees it (a file read costs far
        less than Lima's DevEncoded transfer); otherwise the camera's readImage."""
        from ..data.images import FrameSource
        from .frames import encode_data_array

        cam = self.require_camera()
        p, reply = self.progress, self._reply
        frame = p.ready if index < 0 else int(index)
        if reply and reply.get("saving") and reply.get("acq") == p.acq and 0 <= frame <= p.saved:
            data, _why = FrameSource.from_saved(frame_ref(reply, frame))
            if data is not None:
                return encode_data_array(data, frame, p.acq)
        return cam.read_image_raw(index)

    def _stop_running(self, cam: LimaCCDsClient) -> None:
        """The detector owns its camera: an acquisition left running (live view, a scan
        whose bridge died) is stopped before a new one is prepared."""
        st = cam.status()
        if st.acq_status == "Running":
            cam.stop()
            deadline = gevent.get_hub().loop.now() + 10
            while cam.status().acq_status == "Running":
                if gevent.get_hub().loop.now() > deadline:
                    raise LimaCameraError(f"{self.name}: {self.url} still Running 10 s after stopAcq")
                gevent.sleep(0.05)

    def start(self) -> None:
        """startAcq (every point in the MULTI modes, once otherwise)."""
        cam = self.require_camera()
        if not self._active:
            raise LimaConfigError(f"{self.name}: Start without Prepare (or after the acquisition ended)")
        if not self._started:
            if self._bpm:
                cam.plugin("bpm").Start()  # after prepareAcq, as BLISS does (prepare stops it)
            self._started = True
            p = self.progress
            self._set_progress(Progress(p.acq, "Running", p.acquired, p.ready, p.saved, p.counters))
        self._epoch += 1  # odd while starting: a status read meanwhile is stale
        try:
            cam.start()
        finally:
            self._epoch += 1
            self._wake.set()

    def stop(self) -> Progress:
        """stopAcq; returns once the camera is Ready (every acquired frame saved)."""
        cam = self.require_camera()
        cam.stop()
        self._wake.set()
        for _ in range(200):
            st = cam.status()
            with self._lock:
                self._apply(st)
            if st.acq_status != "Running":
                break
            gevent.sleep(0.05)
        self._finish(st)
        return self.progress

    # ------------------------------------------------------------------ progress
    def _refresh_loop(self) -> None:
        while True:
            woke = self._wake.wait(timeout=LIVENESS if self._active or self.lost else None)
            self._wake.clear()
            cam = self.camera
            if cam is not None and self.lost and not self._active:
                self._check_back(cam)
                continue
            if cam is None or not self._active:
                continue
            epoch = self._epoch
            if epoch % 2:
                continue  # a Start is under way: it wakes this loop when done
            st = self._event_status() if woke else None
            read = st is None
            if read:
                try:
                    st = cam.status()
                except LimaCameraError as exc:
                    self._fail(str(exc))
                    continue
                if epoch != self._epoch:  # a Start happened while reading: read again
                    self._wake.set()
                    continue
            try:
                with self._lock:
                    self._apply(st, read)
            except Exception as exc:  # noqa: BLE001 - a result that cannot be read fails the acquisition
                log.exception("%s: following the acquisition failed", self.name)
                self._fail(f"{self.name}: {exc}", lost=False)

    def _apply(self, st: LimaStatus, read: bool = True) -> None:
        """Progress from a camera status: read after the last Start (read), or from its
        pushed values."""
        if not self._active:
            return
        p = self.progress
        counters = self._read_counters(st.last_counter_ready) if st.last_counter_ready > p.counters else p.counters
        status = p.status
        error = p.error
        if st.acq_status == "Fault":
            fault = st.fault_error or self._fault_text()
            status, error = "Fault", f"{self.name}: camera {self.url} in Fault: {fault}"
        elif self._started and st.acq_status == "Ready" and (
                read or (self._nb_frames > 0 and st.last_image_acquired >= self._nb_frames - 1)):
            # a status read after the Start, or pushed values that show every frame (a
            # Ready pushed before the Start shows none)
            status = "Ready"
        elif self._started:
            status = "Running"
        new = Progress(p.acq, status, st.last_image_acquired, st.last_image_ready, st.last_image_saved,
                       counters, error)
        if new != p:
            self._set_progress(new)
        if status in ("Ready", "Fault") and self._started:
            self._finish(st)

    def _fault_text(self) -> str:
        try:
            return str(self.camera.proxy.read_attribute("acq_status_fault_error").value)
        except tango.DevFailed:
            return "(no reason given)"

    def _finish(self, st: LimaStatus) -> None:
        if self._active:
            self._active = False
            try:
                if self._bpm:
                    self.camera.plugin("bpm").Stop()
            except Exception:  # noqa: BLE001
                pass

    def _check_back(self, cam: LimaCCDsClient) -> None:
        """The camera stopped answering during an acquisition: is it back?"""
        try:
            cam.status()
        except LimaCameraError:
            return
        self.lost = False
        log.warning("%s: camera %s answers again", self.name, self.url)
        self._set_progress(self.progress)  # listeners show the state again

    def _fail(self, error: str, lost: bool = True) -> None:
        if not self._active:
            return
        self.lost = lost
        self._active = False
        p = self.progress
        self._set_progress(Progress(p.acq, "Fault", p.acquired, p.ready, p.saved, p.counters, error))

    def _set_progress(self, p: Progress) -> None:
        self.progress = p
        for fn in list(self.listeners):
            try:
                fn(p)
            except Exception:  # noqa: BLE001 - a listener must not stop the others
                log.exception("%s: progress listener failed", self.name)

    def _read_counters(self, last_ready: int) -> int:
        """Collect the ROI and BPM records up to last_ready; returns the last frame whose
        row is complete."""
        if not self._roi_ids and not self._bpm:
            self._next_counter = last_ready + 1
            return last_ready
        cam = self.camera
        first = self._next_counter
        if self._roi_ids:
            for rid, frame, *stats in cam.read_rois(first):
                name = self._roi_ids.get(int(rid))
                if name is not None and int(frame) >= first:
                    self._partial.setdefault(int(frame), {})[name] = stats
        if self._bpm:
            for rec in cam.read_bpm(first):
                frame = int(rec[6])
                if frame >= first:
                    self._partial.setdefault(int(frame), {})["bpm:"] = [rec[_BPM_INDEX[v]] for v in BPM_VALUES]
        need = len(self._roi_ids) + (1 if self._bpm else 0)
        while len(self._partial.get(self._next_counter, ())) == need:
            parts = self._partial.pop(self._next_counter)
            row = [v for rname in self._roi_ids.values() for v in parts[rname]]
            if self._bpm:
                row += parts["bpm:"]
            self._rows[self._next_counter] = np.asarray(row, dtype=np.float64)
            self._next_counter += 1
        if self._partial and min(self._partial) > self._next_counter:
            raise LimaCameraError(f"results of frame {self._next_counter} were lost (plugin BufferSize too small "
                                  "for this frame rate)")
        return self._next_counter - 1

    def read_counters(self, first: int) -> np.ndarray:
        """Rows [frame, column...] for frames >= first of the current acquisition."""
        frames = sorted(f for f in self._rows if f >= first)
        if not frames:
            return np.empty((0, len(self._columns) + 1))
        return np.asarray([[f, *self._rows[f]] for f in frames], dtype=np.float64)


def frame_ref(reply: dict, frame: int) -> dict:
    """The reference of frame `frame` of the acquisition a Prepare reply describes:
    {frame, acq, server, tagged, file, index, path} (file None when not saved)."""
    ref = {"frame": frame, "acq": reply["acq"], "server": reply["server"], "tagged": reply["tagged"],
           "file": None, "index": frame, "path": None}
    s = reply.get("saving")
    if s:
        number, index = divmod(frame, s["frame_per_file"])
        ref["file"] = os.path.join(s["directory"], f"{s['prefix']}{s['index_format'] % (s['first_number'] + number)}"
                                   f"{s['suffix']}")
        ref["index"], ref["path"] = index, s["data_path"]
    return ref


__all__ = ["LimaDetector", "Progress", "ROI_STATS", "BPM_VALUES"]
