"""Mca: one Tango device per configured MCA (`<domain>/mca/<name>`).

Parameters as attributes (checked by core: a refusal is a DevFailed naming the MCA, the
parameter and what is allowed, and changes nothing), one spectrum attribute per element
(`spectrum_det<N>`) and the summed `Spectrum` with throttled change events, the
statistics per element, and the acquisition commands. ReadData gives the points of the
running acquisition in blocks (core.mca.wire), waiting for them without holding the
device (the server runs without Tango's per-device lock: see main.py). State: RUNNING
while acquiring, FAULT after a failed acquisition (Status says why) until the next start.
"""

from __future__ import annotations

import json

import numpy as np
import tango
from tango import AttrWriteType, DevState, GreenMode
from tango.server import Device, attribute, command, device_property

from blisstango.core.config.root import process_object
from blisstango.core.mca import McaController, TriggerMode
from blisstango.core.mca.counters import INT_STATS, STAT_UNITS
from blisstango.core.mca.device_names import STAT_ATTRS
from blisstango.core.mca.rois import rois_from_json
from blisstango.core.mca.wire import encode

from ..config_object import object_name
from ..errors import devfailed, init_failed
from ..pusher import PushedUnderMonitor
from ..request_thread import no_hardware_read, request_hook
from .events import EventPusher

RW = AttrWriteType.READ_WRITE
STAT_NAMES = {attr: stat for stat, attr in STAT_ATTRS.items()}
MAX_BINS = 16384
MAX_ELEMENTS = 64
MAX_WAIT = 1.0  # s a ReadData may wait for a point (a Tango client waits 3 s by default)
#: attributes that change only when written: pushed after every change of a setting
SETTINGS = ("SpectrumSize", "Calibration", "Energy", "PresetMode", "PresetValue", "TriggerMode", "HardwarePoints",
            "BlockSize", "Rois", "BeamIntensity")


class Mca(PushedUnderMonitor, Device):
    """A multi-channel analyzer of the YAML configuration (plugin mca)."""

    green_mode = GreenMode.Gevent
    always_executed_hook = request_hook
    read_attr_hardware = no_hardware_read
    init_error_reason = "McaInitError"

    ObjectName = device_property(dtype=str, default_value="",
                                 doc="configuration object name (default: alias, else last field)")
    EventPeriod = device_property(dtype=float, default_value=0.1,
                                  doc="seconds between spectrum events while acquiring")

    # ---- life cycle -------------------------------------------------------------------
    def _object_name(self) -> str:
        return object_name(self, self.ObjectName)

    def init_device(self) -> None:
        super().init_device()
        self.mca: McaController | None = None
        self.init_error = ""
        self._was_acquiring = False
        try:
            self.mca = process_object(self._object_name(), McaController, "MCA (plugin mca)")
        except Exception as exc:  # noqa: BLE001 - the device stays up and says why
            init_failed(self, f"{self._object_name()}: cannot build the MCA: {exc}", exc)
            return
        # Init runs init_device again while the Init command holds the device's monitor:
        # add_attribute would wait for that monitor from the executor and fail after 3 s,
        # so the attributes of the first init stay (the elements are the configuration's)
        have = {a.get_name().lower() for a in self.get_device_attr().get_attribute_list()}
        for e in self.mca.elements:
            if f"spectrum_det{e}" in have:
                continue
            self.add_attribute(attribute(name=f"spectrum_det{e}", dtype=(np.uint32,), max_dim_x=MAX_BINS,
                                         unit="counts", doc=f"last spectrum of element {e}",
                                         fget=self._spectrum_reader(e)))
        pushed = [*(f"spectrum_det{e}" for e in self.mca.elements), "Spectrum", *STAT_ATTRS.values(),
                  "PointsAcquired"]
        self.events = EventPusher(self, max(0.01, float(self.EventPeriod)), pushed, self._event_value)
        for name in ["State", "Status", *pushed, *SETTINGS]:
            self.set_change_event(name, True, False)
        self.mca.point_listeners.append(self._on_point)
        self._update_state()

    def delete_device(self) -> None:
        mca = getattr(self, "mca", None)
        if mca is not None:
            if self._on_point in mca.point_listeners:
                mca.point_listeners.remove(self._on_point)
            mca.stop_acquisition()

    # ---- state and events -------------------------------------------------------------
    def _state(self) -> tuple[DevState, str]:
        if self.mca is None:
            return DevState.FAULT, self.init_error
        if self.mca.is_acquiring():
            return DevState.RUNNING, (f"{self.mca.name}: acquiring ({self.mca.trigger_mode.name}), "
                                      f"{self.mca.points_acquired} points")
        error = getattr(self.mca, "last_error", None)
        if error:
            return DevState.FAULT, error
        return DevState.ON, f"{self.mca.name}: ready"

    def _update_state(self) -> None:
        state, status = self._state()
        self.store_state(state, status)
        self.events.state(state, status)

    def dev_state(self) -> DevState:
        return self._state()[0]

    def dev_status(self) -> str:
        return self._state()[1]

    def _on_point(self, index: int) -> None:
        acquiring = self.mca.is_acquiring()
        self.events.point(final=not acquiring)
        if not acquiring:  # the run is over (its state changes only then)
            self._update_state()

    def _event_value(self, name: str):
        """Value of a pushed attribute for the last point."""
        if name.startswith("spectrum_det"):
            data = self.mca.get_acquisition_data().get(int(name[len("spectrum_det"):]))
            return np.zeros(0, np.uint32) if data is None else data
        if name == "Spectrum":
            spectra = self.mca.get_acquisition_data()
            return self._sum(spectra) if spectra else np.zeros(0, np.uint32)
        if name == "PointsAcquired":
            return self.mca.points_acquired
        return self._stat(STAT_NAMES[name])

    @staticmethod
    def _sum(spectra: dict) -> np.ndarray:
        return np.sum(np.stack(list(spectra.values())), axis=0, dtype=np.uint64).astype(np.uint32)

    def _settings_changed(self) -> None:
        """Every setting pushed with its value now (a write can change others: the
        calibration moves the energies, ApplyConfig all of them)."""
        mca = self.mca
        self.events.settings({
            "SpectrumSize": mca.spectrum_size, "Calibration": list(mca.calibration.coefficients),
            "Energy": mca.energies(), "PresetMode": mca.preset_mode.name, "PresetValue": mca.preset_value,
            "TriggerMode": mca.trigger_mode.name, "HardwarePoints": mca.hardware_points,
            "BlockSize": mca.block_size, "Rois": json.dumps({n: list(r) for n, r in mca.rois.items()}),
            "BeamIntensity": float(getattr(mca, "beam_intensity", 1.0))})

    def _stat(self, stat: str) -> np.ndarray:
        stats = self.mca.get_acquisition_statistics()
        dtype = np.int64 if stat in INT_STATS else np.float64
        return np.array([getattr(s, stat) for s in stats.values()], dtype=dtype)

    def _spectrum_reader(self, element: int):
        def read(device, attr) -> None:
            if device.init_error:
                raise RuntimeError(device.init_error)
            data = device.mca.get_acquisition_data().get(element)
            attr.set_value(np.zeros(0, np.uint32) if data is None else data)
        return read

    # ---- information --------------------------------------------------------------------
    @attribute(dtype=str, doc="brand of the detector")
    @devfailed
    def DetectorBrand(self) -> str:
        return self.mca.detector_brand

    @attribute(dtype=str, doc="model of the detector")
    @devfailed
    def DetectorType(self) -> str:
        return self.mca.detector_type

    @attribute(dtype=(int,), max_dim_x=MAX_ELEMENTS, doc="numbers of the detector elements")
    @devfailed
    def Elements(self):
        return list(self.mca.elements)

    @attribute(dtype=int, access=RW, unit="bins", doc="bins per spectrum")
    @devfailed
    def SpectrumSize(self) -> int:
        return self.mca.spectrum_size

    @SpectrumSize.write
    @devfailed
    def SpectrumSize(self, value: int) -> None:
        self.mca.spectrum_size = value
        self._settings_changed()

    @attribute(dtype=(int,), max_dim_x=2, doc="first and last bin")
    @devfailed
    def SpectrumRange(self):
        return list(self.mca.spectrum_range)

    @attribute(dtype=(float,), max_dim_x=3, access=RW, doc="energy = offset + gain * bin + quadratic * bin**2")
    @devfailed
    def Calibration(self):
        return self.mca.calibration.coefficients

    @Calibration.write
    @devfailed
    def Calibration(self, value) -> None:
        self.mca.calibration = list(value)
        self._settings_changed()

    @attribute(dtype=(float,), max_dim_x=MAX_BINS, unit="keV", doc="energy of every bin (the calibration)")
    @devfailed
    def Energy(self):
        return self.mca.energies()

    # ---- modes --------------------------------------------------------------------------
    @attribute(dtype=str, access=RW, doc="NONE, REALTIME, LIVETIME, EVENTS or TRIGGERS")
    @devfailed
    def PresetMode(self) -> str:
        return self.mca.preset_mode.name

    @PresetMode.write
    @devfailed
    def PresetMode(self, value: str) -> None:
        self.mca.preset_mode = value
        self._settings_changed()

    @attribute(dtype=(str,), max_dim_x=8, doc="preset modes this detector supports")
    @devfailed
    def SupportedPresetModes(self):
        return [m.name for m in self.mca.supported_preset_modes]

    @attribute(dtype=float, access=RW, doc="seconds (REALTIME, LIVETIME, a GATE's width) or counts")
    @devfailed
    def PresetValue(self) -> float:
        return self.mca.preset_value

    @PresetValue.write
    @devfailed
    def PresetValue(self, value: float) -> None:
        self.mca.preset_value = value
        self._settings_changed()

    @attribute(dtype=str, access=RW, doc="SOFTWARE, SYNC or GATE")
    @devfailed
    def TriggerMode(self) -> str:
        return self.mca.trigger_mode.name

    @TriggerMode.write
    @devfailed
    def TriggerMode(self, value: str) -> None:
        self.mca.trigger_mode = value
        self._settings_changed()

    @attribute(dtype=(str,), max_dim_x=8, doc="trigger modes this detector supports")
    @devfailed
    def SupportedTriggerModes(self):
        return [m.name for m in self.mca.supported_trigger_modes]

    @attribute(dtype=int, access=RW, doc="points of a SYNC or GATE acquisition")
    @devfailed
    def HardwarePoints(self) -> int:
        return self.mca.hardware_points

    @HardwarePoints.write
    @devfailed
    def HardwarePoints(self, value: int) -> None:
        self.mca.hardware_points = value
        self._settings_changed()

    @attribute(dtype=int, access=RW, doc="points per block read in mapping")
    @devfailed
    def BlockSize(self) -> int:
        return self.mca.block_size

    @BlockSize.write
    @devfailed
    def BlockSize(self, value: int) -> None:
        self.mca.block_size = value
        self._settings_changed()

    # ---- ROIs ---------------------------------------------------------------------------
    @attribute(dtype=str, access=RW, doc='JSON {"name": [start, stop]}: bins start..stop-1, every element')
    @devfailed
    def Rois(self) -> str:
        return json.dumps({n: list(r) for n, r in self.mca.rois.items()})

    @Rois.write
    @devfailed
    def Rois(self, value: str) -> None:
        self.mca.rois.replace(rois_from_json(self.mca.name, value))
        self._settings_changed()

    @command(dtype_in=tango.DevVarLongStringArray, doc_in="([start, stop], [name])")
    @devfailed
    def SetRoi(self, args) -> None:
        bins, names = args
        if len(bins) != 2 or len(names) != 1:
            raise ValueError(f"{self.mca.name}: SetRoi takes ([start, stop], [name]), got {list(bins)}, {list(names)}")
        self.mca.rois.set(names[0], int(bins[0]), int(bins[1]))
        self._settings_changed()

    @command(dtype_in=str, doc_in="ROI name")
    @devfailed
    def RemoveRoi(self, name: str) -> None:
        self.mca.rois.remove(name)
        self._settings_changed()

    @command
    @devfailed
    def ClearRois(self) -> None:
        self.mca.rois.clear()
        self._settings_changed()

    @command
    @devfailed
    def ApplyConfig(self) -> None:
        """Forget values set at run time: the YAML's again."""
        self.mca.apply_config()
        self._settings_changed()

    # ---- statistics ---------------------------------------------------------------------
    def _stat_attr(stat: str):  # noqa: N805 - attribute factory used in the class body
        dtype = (np.int64,) if stat in INT_STATS else (float,)

        @devfailed
        def read(self):
            return self._stat(stat)

        return attribute(fget=read, name=STAT_ATTRS[stat], dtype=dtype, max_dim_x=MAX_ELEMENTS,
                         unit=STAT_UNITS.get(stat, ""), doc=f"{stat} of the last point, per element")

    Realtime = _stat_attr("realtime")
    TriggerLivetime = _stat_attr("trigger_livetime")
    EnergyLivetime = _stat_attr("energy_livetime")
    Triggers = _stat_attr("triggers")
    Events = _stat_attr("events")
    Icr = _stat_attr("icr")
    Ocr = _stat_attr("ocr")
    Deadtime = _stat_attr("deadtime")
    del _stat_attr

    @attribute(dtype=(np.uint32,), max_dim_x=MAX_BINS, unit="counts", doc="last spectrum summed over the elements")
    @devfailed
    def Spectrum(self):
        spectra = self.mca.get_acquisition_data()
        return self._sum(spectra) if spectra else np.zeros(0, np.uint32)

    @attribute(dtype=int, doc="points completed in the current (or last) acquisition")
    @devfailed
    def PointsAcquired(self) -> int:
        return self.mca.points_acquired

    @attribute(dtype=float, access=RW, doc="simulator: relative intensity of the beam source (1 = nominal)")
    @devfailed
    def BeamIntensity(self) -> float:
        return float(getattr(self.mca, "beam_intensity", 1.0))

    @BeamIntensity.write
    @devfailed
    def BeamIntensity(self, value: float) -> None:
        if not hasattr(self.mca, "beam_intensity"):
            raise ValueError(f"{self.mca.name}: a real detector has no beam intensity to set")
        self.mca.beam_intensity = value
        self._settings_changed()

    # ---- acquisition --------------------------------------------------------------------
    @command(doc_in="SOFTWARE: one point until the preset; SYNC/GATE: arm for HardwarePoints pulses")
    @devfailed
    def StartAcquisition(self) -> None:
        self.mca.start_acquisition()
        self._update_state()

    @command
    @devfailed
    def StopAcquisition(self) -> None:
        self.mca.stop_acquisition()
        self._update_state()

    @command(doc_in="SOFTWARE: start one point (returns at once); SYNC/GATE: one pulse of the trigger input")
    @devfailed
    def Trigger(self) -> None:
        if self.mca.trigger_mode is TriggerMode.SOFTWARE and not self.mca.is_acquiring():
            self.mca.start_acquisition()
            self._update_state()
        else:
            self.mca.pulse()   # a pulse changes no state (the run's end is seen by _on_point)

    @command(dtype_in=int, doc_in="ms to wait for the point",
             dtype_out=tango.DevEncoded, doc_out="the point if it came in time, else none (read it with ReadData)")
    @devfailed
    def Acquire(self, wait_ms: int):
        """SOFTWARE: start one point and wait up to wait_ms for it: a short count is one
        round trip."""
        self.mca.start_acquisition()
        self._update_state()
        block = self.mca.read_points(0, timeout=min(MAX_WAIT, max(0.0, wait_ms / 1000.0)))
        return encode(block, 0, len(self.mca.elements), self.mca.spectrum_size)

    @command(dtype_in=(int,), doc_in="[first point, ms to wait, points to wait for (default 1)]",
             dtype_out=tango.DevEncoded, doc_out="points from first on (core.mca.wire)")
    @devfailed
    def ReadData(self, args):
        first = int(args[0]) if len(args) else 0
        wait = min(MAX_WAIT, max(0.0, (int(args[1]) if len(args) > 1 else 0) / 1000.0))
        block = self.mca.read_points(first, timeout=wait, min_points=int(args[2]) if len(args) > 2 else 1)
        return encode(block, first, len(self.mca.elements), self.mca.spectrum_size)
