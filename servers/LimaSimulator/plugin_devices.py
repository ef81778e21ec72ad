"""Lima's processing plugin devices over the process's camera: `roicounter`
(RoiCounterDeviceServer) and `bpm` (BpmDeviceServer), with Lima's commands and records.

State ON while started (the plugin computes on every frame), OFF when stopped."""

from __future__ import annotations

from tango import AttrWriteType, DevState
from tango.server import Device, attribute, command

from ..errors import devfailed
from ..request_thread import no_hardware_read, request_hook
from . import camera


class _Plugin(Device):
    always_executed_hook = request_hook
    read_attr_hardware = no_hardware_read

    def error_context(self) -> str:
        """servers.errors: a plugin's errors come from the camera; the sentence names the device."""
        return self.get_name()

    def task(self):
        raise NotImplementedError

    def init_device(self) -> None:
        super().init_device()
        self._run_level = 0
        self.set_state(DevState.OFF)

    def dev_state(self) -> DevState:
        try:
            return DevState.ON if self.task().started else DevState.OFF
        except RuntimeError:
            return DevState.FAULT

    @command
    @devfailed
    def Start(self) -> None:
        self.task().started = True

    @command
    @devfailed
    def Stop(self) -> None:
        self.task().started = False

    @attribute(dtype=int, access=AttrWriteType.READ_WRITE, doc="order among the processing plugins")
    def RunLevel(self):
        return self._run_level

    @RunLevel.write
    def RunLevel(self, value):
        self._run_level = int(value)

    @attribute(dtype=int, access=AttrWriteType.READ_WRITE, doc="results kept (frames)")
    @devfailed
    def BufferSize(self):
        return self.task().history.size

    @BufferSize.write
    @devfailed
    def BufferSize(self, value):
        self.task().history.size = int(value)


class RoiCounterDeviceServer(_Plugin):
    """ROIs [x, y, w, h] by name; readCounters(from) -> (id, frame, sum, avg, std, min, max)*."""

    def task(self):
        return camera.control().roi_counters

    def init_device(self) -> None:
        super().init_device()
        self._mask_file = ""

    @attribute(dtype=str, access=AttrWriteType.READ_WRITE, doc="mask file (not simulated: empty)")
    def MaskFile(self):
        return self._mask_file

    @MaskFile.write
    @devfailed
    def MaskFile(self, value):
        if value:
            raise ValueError(f"MaskFile {value!r}: masks are not simulated (empty only)")
        self._mask_file = ""

    @command(dtype_in=(str,), dtype_out=(int,))
    @devfailed
    def addNames(self, names):
        return self.task().add_names(list(names))

    @command(dtype_in=(int,))
    @devfailed
    def setRois(self, values):
        ctl = camera.control()
        _signed, _depth, w, h = ctl.image_sizes()
        self.task().set_rois(list(values), w, h)

    @command(dtype_in=(float,))
    @devfailed
    def setArcRois(self, values):
        raise ValueError("setArcRois: arc ROIs are not simulated (use rectangular ROIs: setRois)")

    @command(dtype_in=(str,))
    @devfailed
    def removeRois(self, names):
        self.task().remove(list(names))

    @command
    @devfailed
    def clearAllRois(self) -> None:
        self.task().clear()

    @command(dtype_out=(str,))
    @devfailed
    def getNames(self):
        return self.task().names()

    @command(dtype_in=(str,), dtype_out=(int,))
    @devfailed
    def getRois(self, names):
        return self.task().rois(list(names))

    @command(dtype_in=int, dtype_out=(float,))
    @devfailed
    def readCounters(self, first):
        return self.task().history.since(int(first))


class BpmDeviceServer(_Plugin):
    """GetResults(from) -> (timestamp, intensity, x, y, fwhm_x, fwhm_y, frame)*."""

    def task(self):
        return camera.control().bpm

    @command(dtype_in=int, dtype_out=(float,))
    @devfailed
    def GetResults(self, first):
        return self.task().history.since(int(first))
