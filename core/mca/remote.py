"""RemoteMca: an MCA served by an Mca Tango device, used from another process.

What the ScanServer and the shell build for a device of class Mca (the Mca server's
ServerKind.clients): the same BaseMCA API, counters and acquisition slave as an MCA in
process, every call going to the device. The per-point path is two Tango calls
(StartAcquisition or Trigger, then ReadData, which waits on the server side for the
point); mapping reads come in blocks. A device error reaches the caller with the
device's own sentence; a device that cannot be reached is an McaError naming the MCA.
"""

from __future__ import annotations

import json
import time
from typing import Any

import tango

from ..comm.reach import lost_contact
from .base import BaseMCA
from .calibration import Calibration
from .counters import McaBlock
from .errors import McaError, McaParameterError
from .modes import PresetMode, TriggerMode
from .wire import decode

SERVER_WAIT = 0.5  # s one ReadData may wait on the server (well under the client's 3 s timeout)
QUICK_WAIT = 0.02  # s a call may block this process' hub (longer waits go through a green proxy)


class RemoteMca(BaseMCA):
    def __init__(self, name: str, device: str, green_mode: Any = None) -> None:
        super().__init__(name)
        self.device_name = device
        self._green_mode = green_mode
        self._proxy: tango.DeviceProxy | None = None
        self._waiter: tango.DeviceProxy | None = None
        self._static: dict[str, Any] = {}
        self._in_types: dict[str, tango.CmdArgType] = {}   # command -> its argument type

    @classmethod
    def from_entry(cls, entry) -> RemoteMca:
        """The client of an Mca device in a session (core.session.SessionEntry)."""
        return cls(entry.name, entry.device, getattr(entry.session, "green_mode", None))

    # ---- Tango ----------------------------------------------------------------------------
    @property
    def proxy(self) -> tango.DeviceProxy:
        """Short calls: synchronous (PyTango's gevent executor adds about a millisecond a
        call), so they block a gevent hub for at most QUICK_WAIT."""
        if self._proxy is None:
            try:
                self._proxy = tango.DeviceProxy(self.device_name, green_mode=tango.GreenMode.Synchronous)
            except tango.DevFailed as exc:
                raise self._error(exc) from None
        return self._proxy

    @property
    def waiter(self) -> tango.DeviceProxy:
        """Calls that wait on the server for points: green in a gevent process."""
        if self._waiter is None:
            try:
                kw = {"green_mode": self._green_mode} if self._green_mode is not None else {}
                self._waiter = tango.DeviceProxy(self.device_name, **kw)
            except tango.DevFailed as exc:
                raise self._error(exc) from None
        return self._waiter

    def _error(self, exc: tango.DevFailed, what: str = "") -> Exception:
        err = exc.args[0] if exc.args else None
        reason = str(getattr(err, "reason", "")) if err else ""
        desc = " ".join(str(getattr(err, "desc", exc)).split())
        if reason == "McaParameterError":
            return RemoteParameterError(desc)
        lost = lost_contact(exc, self.name, self.device_name, what)
        if lost:
            return McaError(lost)
        if reason.startswith("API_") or "CORBA" in desc or "TRANSIENT" in desc or "COMM_FAILURE" in desc:
            return McaError(f"{self.name}: device {self.device_name} cannot be reached ({reason}: {desc})")
        return McaError(desc if desc.startswith(self.name) else f"{self.name}: {desc}")

    def _read(self, attr: str) -> Any:
        try:
            return self.proxy.read_attribute(attr).value
        except tango.DevFailed as exc:
            raise self._error(exc, f"read {attr}") from None

    def _write(self, attr: str, value: Any) -> None:
        try:
            self.proxy.write_attribute(attr, value)
        except tango.DevFailed as exc:
            raise self._error(exc, f"write {attr}") from None

    def _command(self, name: str, *args: Any, wait: float = 0.0) -> Any:
        proxy = self.proxy if wait <= QUICK_WAIT else self.waiter
        try:
            if args:
                return proxy.command_inout(name, self._argument(name, args[0]))
            return proxy.command_inout(name)
        except tango.DevFailed as exc:
            raise self._error(exc, name) from None

    def _argument(self, name: str, value: Any) -> tango.DeviceData:
        """The argument packed as the command takes it. Given a plain value, PyTango asks
        the device for the command's argument type first (command_query: one more round
        trip on every call, a second one per point); the type is asked once here."""
        in_type = self._in_types.get(name)
        if in_type is None:
            in_type = self._in_types[name] = self.proxy.command_query(name).in_type
        data = tango.DeviceData()
        data.insert(in_type, value)
        return data

    def _once(self, attr: str) -> Any:
        if attr not in self._static:
            self._static[attr] = self._read(attr)
        return self._static[attr]

    # ---- information ------------------------------------------------------------------------
    @property
    def detector_brand(self) -> str:  # type: ignore[override]
        return str(self._once("DetectorBrand"))

    @property
    def detector_type(self) -> str:  # type: ignore[override]
        return str(self._once("DetectorType"))

    @property
    def elements(self) -> tuple[int, ...]:
        return tuple(int(e) for e in self._once("Elements"))

    @property
    def spectrum_size(self) -> int:
        return int(self._read("SpectrumSize"))

    @spectrum_size.setter
    def spectrum_size(self, size: int) -> None:
        self._write("SpectrumSize", int(size))

    @property
    def calibration(self) -> Calibration:
        return Calibration.from_value(list(self._read("Calibration")))

    @calibration.setter
    def calibration(self, value) -> None:
        self._write("Calibration", Calibration.from_value(value).coefficients)

    # ---- modes ---------------------------------------------------------------------------
    @property
    def supported_preset_modes(self) -> tuple[PresetMode, ...]:
        return tuple(PresetMode[m] for m in self._once("SupportedPresetModes"))

    @property
    def preset_mode(self) -> PresetMode:
        return PresetMode[self._read("PresetMode")]

    @preset_mode.setter
    def preset_mode(self, mode) -> None:
        self._write("PresetMode", getattr(mode, "name", str(mode)))

    @property
    def preset_value(self) -> float:
        return float(self._read("PresetValue"))

    @preset_value.setter
    def preset_value(self, value: float) -> None:
        self._write("PresetValue", float(value))

    @property
    def supported_trigger_modes(self) -> tuple[TriggerMode, ...]:
        return tuple(TriggerMode[m] for m in self._once("SupportedTriggerModes"))

    @property
    def trigger_mode(self) -> TriggerMode:
        return TriggerMode[self._read("TriggerMode")]

    @trigger_mode.setter
    def trigger_mode(self, mode) -> None:
        self._write("TriggerMode", getattr(mode, "name", "SOFTWARE" if mode is None else str(mode)))

    @property
    def hardware_points(self) -> int:
        return int(self._read("HardwarePoints"))

    @hardware_points.setter
    def hardware_points(self, value: int) -> None:
        self._write("HardwarePoints", int(value))

    @property
    def block_size(self) -> int:
        return int(self._read("BlockSize"))

    @block_size.setter
    def block_size(self, value: int) -> None:
        self._write("BlockSize", int(value))

    @property
    def beam_intensity(self) -> float:
        return float(self._read("BeamIntensity"))

    @beam_intensity.setter
    def beam_intensity(self, value: float) -> None:
        self._write("BeamIntensity", float(value))

    # ---- ROIs ----------------------------------------------------------------------------
    def _load_rois(self) -> dict:
        return {n: tuple(r) for n, r in json.loads(self._read("Rois")).items()}

    def _store_rois(self, rois: dict) -> None:
        self._write("Rois", json.dumps({n: [int(a), int(b)] for n, (a, b) in rois.items()}))

    # ---- acquisition -----------------------------------------------------------------------
    def start_acquisition(self) -> None:
        self._command("StartAcquisition")

    def stop_acquisition(self) -> None:
        self._command("StopAcquisition")

    def trigger(self) -> None:
        """SOFTWARE: one point, waited for; SYNC/GATE: one pulse (returns at once)."""
        if self.trigger_mode is TriggerMode.SOFTWARE and not self.is_acquiring():
            self.acquire_one(timeout=self.preset_value + 5.0 if self.preset_mode is PresetMode.REALTIME else 3600.0)
        else:
            self._command("Trigger")

    def pulse(self) -> None:
        """One pulse of the trigger input. Synchronous on purpose: the reply is the flow
        control (fire-and-forget pulses sent faster than the server takes them piled up
        in omniORB threads until the server crashed)."""
        self._command("Trigger")

    def is_acquiring(self) -> bool:
        try:
            return self.proxy.state() == tango.DevState.RUNNING
        except tango.DevFailed as exc:
            raise self._error(exc) from None

    @property
    def points_acquired(self) -> int:
        return int(self._read("PointsAcquired"))

    def read_points(self, first: int, timeout: float = 0.0, min_points: int = 1) -> McaBlock | None:
        deadline = time.monotonic() + timeout
        while True:
            wait = min(SERVER_WAIT, max(0.0, deadline - time.monotonic()))
            block = decode(self._command("ReadData", [int(first), int(wait * 1000), int(min_points)], wait=wait))
            if block is not None or time.monotonic() >= deadline:
                return block

    def acquire_one(self, timeout: float, expected: float | None = None) -> McaBlock:
        """SOFTWARE: one point. A count expected to end within QUICK_WAIT is one round
        trip (Acquire waits for it on the server); a longer one is waited for by ReadData."""
        quick = expected is not None and expected <= QUICK_WAIT
        block = decode(self._command("Acquire", int(1000 * (QUICK_WAIT + 0.005)) if quick else 0))
        if block is not None:
            return block
        deadline = time.monotonic() + timeout
        while True:
            block = self.read_points(0, timeout=min(SERVER_WAIT, max(0.0, deadline - time.monotonic())))
            if block is not None:
                return block
            if not self.is_acquiring():
                block = self.read_points(0)
                if block is not None:
                    return block
                raise McaError(f"{self.name}: the acquisition ended without a point")
            if time.monotonic() > deadline:
                self.stop_acquisition()
                raise McaError(f"{self.name}: no point {timeout:g} s after the acquisition started")

    def get_acquisition_data(self) -> dict:
        return {e: self._read(f"spectrum_det{e}") for e in self.elements}

    def get_acquisition_statistics(self) -> dict:
        from .base import _stats
        from .device_names import STAT_ATTRS

        try:
            replies = self.proxy.read_attributes(list(STAT_ATTRS.values()))
        except tango.DevFailed as exc:
            raise self._error(exc) from None
        columns = [r.value for r in replies]
        if columns[0] is None or len(columns[0]) == 0:
            return {}
        return {e: _stats([c[i] for c in columns]) for i, e in enumerate(self.elements)}

    def __repr__(self) -> str:
        try:
            return self.__info__()
        except Exception as exc:  # noqa: BLE001 - a shell prints what is wrong instead of a traceback
            return f"MCA {self.name} ({self.device_name}): {exc}"


class RemoteParameterError(McaParameterError):
    """A parameter the Mca device refused (its sentence names MCA, parameter, allowed values)."""

    def __init__(self, message: str) -> None:  # noqa: D107 - the device's own sentence
        ValueError.__init__(self, message)
