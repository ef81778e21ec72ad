"""Tango class `LimaCCDs`: Lima's detector device as BLISS drives it, over the simulated
camera (blisstango.core.lima.control).

Attributes and commands keep Lima's names, types and string values, so a client written
for a real LimaCCDs server (BLISS, LimaBridge) drives this one unchanged. Extensions:
`acq_tag` (the tag of the current acquisition, also in every DATA_ARRAY header) and the
command `externalTrigger` (a pulse on the trigger input, for the external modes).
Change events (property TangoEvent, on by default) on acq_status, last_image_* and
last_counter_ready, ready_for_next_image, video_last_image(_counter), at most EventRate
per second each (in INTERNAL_TRIGGER_MULTI, where each frame is asked for, at every
frame), the last value always pushed.
"""

from __future__ import annotations

import tango
from tango import AttrWriteType, DevState
from tango.server import Device, attribute, command, device_property

from blisstango.core.lima import control as ctl_mod
from blisstango.core.lima.frames import (
    DATA_ARRAY,
    VIDEO_IMAGE,
    encode_data_array,
    encode_video_image,
)
from blisstango.core.lima.saving import SavingError
from blisstango.core.motion.positions import AxisPositions

from ..errors import devfailed, init_failed
from ..request_thread import no_hardware_read, request_hook
from . import camera
from .events import ThrottledPusher

RW = AttrWriteType.READ_WRITE
STRING_VALUES = {
    "acq_mode": ctl_mod.ACQ_MODES,
    "acq_trigger_mode": ctl_mod.TRIGGER_MODES,
    "acq_status": (ctl_mod.READY, ctl_mod.RUNNING, ctl_mod.FAULT),
    "image_type": tuple(ctl_mod.IMAGE_TYPES),
    "image_rotation": ctl_mod.ROTATIONS,
    "saving_format": ("HDF5",),
    "saving_mode": ("MANUAL", "AUTO_FRAME"),
    "saving_managed_mode": ("SOFTWARE",),
    "saving_overwrite_policy": ("ABORT", "OVERWRITE"),
    "video_source": ctl_mod.VIDEO_SOURCES,
    "video_mode": ("Y8", "Y16", "Y32"),
}
PLUGIN_CLASSES = {"roicounter": "RoiCounterDeviceServer", "bpm": "BpmDeviceServer"}
EVENTED = ("acq_status", *ctl_mod.PROGRESS, "video_last_image", "video_last_image_counter")


def _param(name: str, dtype, doc: str, unit: str = "", dim: int = 0, write: bool = True,
           setter: str = "set"):
    """An attribute mirroring a LimaControl value; written through control.set (checked)."""

    def fget(self):
        return self._get(name)

    def fset(self, value):
        self._set(name, value, setter)

    kwargs = {"max_dim_x": dim} if dim else {}
    return attribute(name=name, dtype=(dtype,) if dim else dtype, doc=doc, unit=unit,
                     access=RW if write else AttrWriteType.READ,
                     fget=devfailed(fget), fset=devfailed(fset) if write else None, **kwargs)


class LimaCCDs(Device):
    always_executed_hook = request_hook
    read_attr_hardware = no_hardware_read

    ObjectName = device_property(dtype=str, default_value="", doc="configuration object of the camera")
    Config = device_property(dtype=str, default_value="", doc="camera as JSON (without Beacon)")
    TangoEvent = device_property(dtype=bool, default_value=True, doc="push change events")
    EventRate = device_property(dtype=float, default_value=100.0,
                                doc="most change events per second and attribute")
    MaxVideoFPS = device_property(dtype=float, default_value=30.0, doc="most video events per second")

    # ------------------------------------------------------------------ life
    def init_device(self) -> None:
        super().init_device()
        self.init_error = ""
        self.ctl = None
        self.pusher = None
        self.axes = None
        try:
            cfg = camera.camera_config(self.ObjectName, self.Config)
            self.axes = AxisPositions(cfg.beam.axes) if cfg.beam.axes else None
            self.ctl = ctl_mod.LimaControl(cfg, positions=self._positions, notify=self._notify)
            self.ctl.user_detector_name = self.ObjectName or "simulator"
            camera.install(self.ctl)
        except Exception as exc:  # noqa: BLE001 - the device stays up and says why
            init_failed(self, f"{self.get_name()}: {exc}", exc)
            return
        if self.TangoEvent:
            for name in (*EVENTED, "State", "Status"):
                self.set_change_event(name, True, False)
            self.pusher = ThrottledPusher(self, self._event_value, self.EventRate,
                                          {"video_last_image": self.MaxVideoFPS})
        self.set_state(DevState.ON)

    def delete_device(self) -> None:
        if self.ctl is not None:
            self.ctl.stop(wait=True)
            camera.uninstall(self.ctl)
        if self.pusher is not None:
            self.pusher.close()
        if self.axes is not None:
            self.axes.close()

    def _positions(self, fresh: bool) -> dict:
        return self.axes.positions(fresh) if self.axes is not None else {}

    def _notify(self, names) -> None:
        if self.pusher is not None:
            if "video_last_image" in names:
                names = {*names, "video_last_image_counter"}
            # a frame per startAcq: the client sets the pace and waits for each frame's
            # events (a step scan's point), so they are not held to EventRate (held to
            # 100/s at ~4 ms per point, each point waited up to 10 ms for its events)
            if self.ctl is not None and self.ctl.paced_by_client:
                video = {n for n in names if n.startswith("video_")}
                self.pusher.mark(set(names) - video, at_once=True)
                names = video
            self.pusher.mark(names)

    def _event_value(self, name: str):
        if name == "video_last_image":
            return self._video_image()
        if name in ("State", "Status"):
            return self.dev_state() if name == "State" else self.dev_status()
        return self._get(name)

    def dev_state(self) -> DevState:
        if self.init_error or self.ctl is None:
            return DevState.FAULT
        status = self.ctl.acq_status
        return {ctl_mod.RUNNING: DevState.RUNNING, ctl_mod.FAULT: DevState.FAULT}.get(status, DevState.ON)

    def dev_status(self) -> str:
        if self.init_error or self.ctl is None:
            return self.init_error or f"{self.get_name()}: no camera"
        s = f"acquisition {self.ctl.acq_status}"
        if self.ctl.acq_status_fault_error:
            s += f": {self.ctl.acq_status_fault_error}"
        return s

    # ------------------------------------------------------------------ values
    def _get(self, name: str):
        c = self.ctl
        if name.startswith("saving_"):
            key = name[len("saving_"):]
            return getattr(c.saving, key)
        value = getattr(c, name)
        if isinstance(value, tuple):
            return list(value)
        return value

    def _set(self, name: str, value, setter: str) -> None:
        if name.startswith("saving_"):
            self.ctl.set_saving(name[len("saving_"):], value)
        elif name == "video_live":
            self.ctl.set_live(bool(value))
        else:
            self.ctl.set(name, value)

    # identity
    lima_type = _param("lima_type", str, "Lima camera plugin", write=False)
    lima_version = _param("lima_version", str, "version of the Lima protocol spoken", write=False)
    camera_type = _param("camera_type", str, "camera type", write=False)
    user_instrument_name = _param("user_instrument_name", str, "instrument group name in saved files")
    user_detector_name = _param("user_detector_name", str, "detector group name in saved files")

    @attribute(dtype=str, doc="camera model")
    @devfailed
    def camera_model(self):
        return self.ctl.camera.model

    @attribute(dtype=(float,), max_dim_x=2, unit="m", doc="pixel size [x, y]")
    @devfailed
    def camera_pixelsize(self):
        return list(self.ctl.camera.pixel_size)

    # image
    @attribute(dtype=(int,), max_dim_x=4, doc="[signed, bytes per pixel, width, height]")
    @devfailed
    def image_sizes(self):
        return self.ctl.image_sizes()

    @attribute(dtype=(int,), max_dim_x=2, doc="[width, height] of the sensor")
    @devfailed
    def image_max_dim(self):
        return [self.ctl.camera.width, self.ctl.camera.height]

    @attribute(dtype=int, doc="image width after binning, rotation and roi")
    @devfailed
    def image_width(self):
        return self.ctl.image_sizes()[2]

    @attribute(dtype=int, doc="image height after binning, rotation and roi")
    @devfailed
    def image_height(self):
        return self.ctl.image_sizes()[3]

    image_type = _param("image_type", str, "pixel type: Bpp8, Bpp16, Bpp32 ...")
    image_roi = _param("image_roi", int, "[x, y, w, h] in the binned, flipped, rotated image", dim=4)
    image_bin = _param("image_bin", int, "[x, y] binning", dim=2)
    image_flip = _param("image_flip", bool, "[left-right, up-down]", dim=2)
    image_rotation = _param("image_rotation", str, "NONE, 90, 180, 270 (clockwise)")

    # acquisition
    acq_mode = _param("acq_mode", str, "SINGLE or ACCUMULATION")
    acq_nb_frames = _param("acq_nb_frames", int, "frames of the acquisition (0: until stopAcq)")
    acq_expo_time = _param("acq_expo_time", float, "exposure time per frame", unit="s")
    acq_trigger_mode = _param("acq_trigger_mode", str, "INTERNAL_TRIGGER, INTERNAL_TRIGGER_MULTI, ...")
    latency_time = _param("latency_time", float, "time between frames", unit="s")
    acc_max_expo_time = _param("acc_max_expo_time", float, "longest sub-exposure in ACCUMULATION", unit="s")
    acq_status = _param("acq_status", str, "Ready, Running or Fault", write=False)
    acq_status_fault_error = _param("acq_status_fault_error", str, "why the acquisition failed", write=False)
    buffer_max_number = _param("buffer_max_number", int, "frames the buffer holds", write=False)
    ready_for_next_image = _param("ready_for_next_image", bool, "a trigger now starts a frame", write=False)
    ready_for_next_acq = _param("ready_for_next_acq", bool, "no acquisition running", write=False)
    last_image_acquired = _param("last_image_acquired", int, "last frame read out (-1: none)", write=False)
    last_image_ready = _param("last_image_ready", int, "last frame in the buffer (-1: none)", write=False)
    last_counter_ready = _param("last_counter_ready", int, "last frame processed by the plugins",
                                write=False)
    last_image_saved = _param("last_image_saved", int, "last frame written to its file", write=False)

    @attribute(dtype=tango.DevLong64, doc="tag of the current acquisition, in every DATA_ARRAY header")
    @devfailed
    def acq_tag(self):
        return self.ctl.acq_tag

    @attribute(dtype=int, doc="sub-exposures per frame in ACCUMULATION")
    @devfailed
    def acc_nb_frames(self):
        acq = self.ctl._acq
        return acq.subframes if acq is not None else 1

    @attribute(dtype=float, unit="s", doc="exposure of one sub-frame in ACCUMULATION")
    @devfailed
    def acc_expo_time(self):
        acq = self.ctl._acq
        return acq.expo / acq.subframes if acq is not None else self.ctl.acq_expo_time

    # saving
    saving_directory = _param("saving_directory", str, "folder of the saved files")
    saving_prefix = _param("saving_prefix", str, "file name prefix")
    saving_suffix = _param("saving_suffix", str, "file name suffix")
    saving_format = _param("saving_format", str, "HDF5")
    saving_mode = _param("saving_mode", str, "MANUAL (no saving) or AUTO_FRAME")
    saving_managed_mode = _param("saving_managed_mode", str, "SOFTWARE")
    saving_index_format = _param("saving_index_format", str, "printf format of the file number")
    saving_overwrite_policy = _param("saving_overwrite_policy", str, "ABORT or OVERWRITE")
    saving_next_number = _param("saving_next_number", int, "number of the next file")
    saving_frame_per_file = _param("saving_frame_per_file", int, "frames in one file")

    # video
    video_live = _param("video_live", bool, "continuous unsaved frames at video_exposure")
    video_source = _param("video_source", str, "BASE_IMAGE or LAST_IMAGE")
    video_active = _param("video_active", bool, "video images updated during acquisitions")
    video_exposure = _param("video_exposure", float, "exposure of live frames", unit="s")
    video_last_image_counter = _param("video_last_image_counter", tango.DevLong64, "video frames so far",
                                      write=False)

    @attribute(dtype=str, doc="video pixel mode")
    @devfailed
    def video_mode(self):
        return {1: "Y8", 2: "Y16"}.get(self.ctl.frame_dtype().itemsize, "Y32")

    @attribute(dtype=tango.DevEncoded, doc="last frame as VIDEO_IMAGE")
    @devfailed
    def video_last_image(self):
        return self._video_image()

    def _video_image(self):
        frame, number = self.ctl.last_frame()
        if frame is None:
            import numpy as np

            frame, number = np.zeros((0, 0), dtype=self.ctl.frame_dtype()), -1
        return VIDEO_IMAGE, encode_video_image(frame, number)

    # ------------------------------------------------------------------ commands
    @command
    @devfailed
    def prepareAcq(self) -> None:
        try:
            self.ctl.prepare()
        except SavingError as exc:
            raise ctl_mod.LimaError(str(exc)) from None

    @command
    @devfailed
    def startAcq(self) -> None:
        self.ctl.start()

    @command
    @devfailed
    def stopAcq(self) -> None:
        self.ctl.stop(wait=True)

    @command
    @devfailed
    def abortAcq(self) -> None:
        self.ctl.stop(wait=True)

    @command
    @devfailed
    def reset(self) -> None:
        self.ctl.reset()

    @command
    @devfailed
    def externalTrigger(self) -> None:
        self.ctl.external_trigger()

    @command(dtype_in=int, dtype_out=tango.DevEncoded, doc_in="frame number, -1 = last ready",
             doc_out="(DATA_ARRAY, header v4 + pixels)")
    @devfailed
    def readImage(self, index):
        frame, number, tag = self.ctl.read_image(int(index))
        return DATA_ARRAY, encode_data_array(frame, number, tag)

    @command(dtype_in=str, dtype_out=(str,))
    @devfailed
    def getAttrStringValueList(self, name):
        try:
            return list(STRING_VALUES[name])
        except KeyError:
            raise ctl_mod.LimaError(f"getAttrStringValueList: {name!r} is not a string enum attribute "
                                    f"(known: {', '.join(sorted(STRING_VALUES))})") from None

    @command(dtype_in=str, dtype_out=str)
    @devfailed
    def getPluginDeviceNameFromType(self, kind):
        kind = str(kind).lower()
        klass = PLUGIN_CLASSES.get(kind)
        if klass is None:
            raise ctl_mod.LimaError(f"getPluginDeviceNameFromType: no {kind!r} plugin in this server "
                                    f"(plugins: {', '.join(PLUGIN_CLASSES)})")
        util = tango.Util.instance()
        for dev in util.get_device_list_by_class(klass):
            return dev.get_name()
        raise ctl_mod.LimaError(f"getPluginDeviceNameFromType: the {kind} plugin has no device "
                                f"({klass}) in this server instance")
