"""The client side of Lima's LimaCCDs protocol: the one place that knows which attributes
and commands a Lima server has, what order they are written in and how frames come back.

Works against any LimaCCDs device (a real Lima server or the LimaSimulator) through
Tango only. Green (gevent) proxies: a call never blocks the hub of the process using it.

    cam = LimaCCDsClient("cam1", "id00/limaccds/simulator1")   # LimaConfigError if no such device
    cam.write_parameters({"acq_mode": "SINGLE", "acq_expo_time": 0.1, ...})  # Lima's order
    cam.prepare(); cam.start(); cam.status() -> LimaStatus; cam.read_image(-1) -> (frame, header)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import tango

from ..comm.reach import lost_contact
from .frames import DATA_ARRAY, FrameHeader, decode_data_array

MINIMAL_VERSION = (1, 9, 23)
STATUS_ATTRS = ("acq_status", "last_image_acquired", "last_image_ready", "last_counter_ready",
                "last_image_saved", "ready_for_next_image")
EVENT_ATTRS = ("acq_status", "last_image_acquired", "last_image_ready", "last_counter_ready",
               "last_image_saved")
#: parameters written first and last (Lima resets others when acq_mode changes; saving_prefix
#: last as BLISS does: it names the files of everything set before it)
FIRST, LAST = ("acq_mode",), ("saving_prefix",)


class LimaConfigError(ValueError):
    """A parameter or a camera that cannot be used; the message names the detector, the
    parameter and what is allowed."""


class LimaCameraError(RuntimeError):
    """The camera failed or stopped answering."""


@dataclass(frozen=True)
class LimaStatus:
    acq_status: str
    last_image_acquired: int
    last_image_ready: int
    last_counter_ready: int
    last_image_saved: int
    ready_for_next_image: bool
    fault_error: str = ""


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for p in str(text).split("."):
        digits = "".join(c for c in p if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _desc(exc: tango.DevFailed) -> str:
    return exc.args[0].desc.strip() if exc.args else str(exc)


def connection_lost(exc: tango.DevFailed) -> bool:
    """The call never reached the camera (its server is down or came back elsewhere), as
    opposed to a refusal or a timeout of a call that arrived."""
    reasons = [e.reason for e in exc.args]
    return "API_DeviceTimedOut" not in reasons and any(
        r in ("API_CorbaException", "API_CantConnectToDevice", "API_ServerNotRunning",
              "API_DeviceNotExported", "API_ConnectionFailed") for r in reasons)


class LimaCCDsClient:
    """One LimaCCDs device, seen by the detector `name` (used in every message)."""

    def __init__(self, name: str, tango_url: str, timeout: float = 3.0) -> None:
        self.name = name
        self.url = tango_url
        try:
            self.proxy = tango.DeviceProxy(tango_url, green_mode=tango.GreenMode.Gevent)
            self.proxy.set_timeout_millis(int(timeout * 1000))
            #: for event subscriptions, with callbacks wrapped by core.green.in_hub
            self.events_proxy = tango.DeviceProxy(tango_url, green_mode=tango.GreenMode.Synchronous)
            self.events_proxy.set_timeout_millis(int(timeout * 1000))
            attrs = set(self.proxy.get_attribute_list())
        except tango.DevFailed as exc:
            raise LimaConfigError(f"{name}: tango_url {tango_url!r} names no LimaCCDs device that "
                                  f"answers: {_desc(exc)}") from None
        missing = [a for a in ("acq_status", "last_image_ready", "lima_version") if a not in attrs]
        if missing:
            raise LimaConfigError(f"{name}: tango_url {tango_url!r} is not a LimaCCDs device "
                                  f"(no attribute {', '.join(missing)})")
        self.attributes = attrs
        version = str(self.proxy.read_attribute("lima_version").value)
        if _version(version) < MINIMAL_VERSION:
            raise LimaConfigError(f"{name}: {tango_url} runs Lima {version}; >= "
                                  f"{'.'.join(map(str, MINIMAL_VERSION))} is needed")
        self.lima_version = version
        self.has_tag = "acq_tag" in attrs
        self._values: dict[str, list[str]] = {}
        self._plugins: dict[str, tango.DeviceProxy] = {}

    @property
    def full_url(self) -> str:
        """tango://host:port/device, usable from any process."""
        p = self.proxy
        try:
            return f"tango://{p.get_db_host()}:{p.get_db_port()}/{p.dev_name()}"
        except tango.DevFailed:
            return self.url

    # ------------------------------------------------------------------ parameters
    def allowed(self, attr: str) -> list[str]:
        """Values of a string enum attribute (getAttrStringValueList), cached."""
        if attr not in self._values:
            try:
                self._values[attr] = list(self.answering(f"getAttrStringValueList({attr})",
                                                         self.proxy.getAttrStringValueList, attr))
            except tango.DevFailed:
                self._values[attr] = []
        return self._values[attr]

    def answering(self, what: str, fn, *args, device: tango.DeviceProxy | None = None):
        """fn(*args) on the camera. A Tango proxy finds a restarted server again on the call
        after the one that failed, so a lost connection is tried once more; a camera that
        still does not answer raises LimaCameraError naming it (never a bare DevFailed, which
        a client of the bridge would take for the bridge itself not answering)."""
        try:
            return fn(*args)
        except tango.DevFailed as exc:
            if not connection_lost(exc):
                raise
        try:
            return fn(*args)
        except tango.DevFailed as exc:
            if not connection_lost(exc):
                raise
            url = self.url if device is None else self._qualified(device.dev_name())  # a plugin
            lost = lost_contact(exc, "its camera", url, what)
            raise LimaCameraError(f"{self.name}: {lost}" if lost else
                                  f"{self.name}: camera {url} does not answer ({what}): {_desc(exc)}") from None

    def read(self, names: list[str]) -> dict:
        replies = self.answering("reading " + ", ".join(names), self.proxy.read_attributes, list(names))
        out = {}
        for name, r in zip(names, replies):
            if r.has_failed:
                raise LimaCameraError(f"{self.name}: reading {name} of {self.url} failed")
            v = r.value
            out[name] = list(v) if hasattr(v, "__len__") and not isinstance(v, str) else v
        return out

    def write_parameters(self, params: dict) -> dict:
        """Write parameters in Lima's order; returns the previous values of those written
        (for restore). A refused value raises LimaConfigError naming it, after the ones
        already written were put back."""
        names = [k for k in FIRST if k in params] + \
                [k for k in params if k not in FIRST and k not in LAST] + \
                [k for k in LAST if k in params]
        previous = self.read(names) if names else {}
        done: dict = {}
        try:
            for key in names:
                self.proxy.write_attribute(key, params[key])
                done[key] = previous[key]
        except tango.DevFailed as exc:
            self.restore(done)
            raise LimaConfigError(f"{self.name}: {self.url} refused {key} = {params[key]!r}: "
                                  f"{_desc(exc)}") from None
        return previous

    def restore(self, values: dict) -> None:
        """Put back values write_parameters returned (best effort, Lima's order)."""
        for key in [k for k in FIRST if k in values] + [k for k in values if k not in FIRST]:
            try:
                self.proxy.write_attribute(key, values[key])
            except tango.DevFailed:
                pass

    # ------------------------------------------------------------------ acquisition
    def prepare(self) -> None:
        try:
            self.proxy.prepareAcq()
        except tango.DevFailed as exc:
            raise LimaConfigError(f"{self.name}: {self.url} refused prepareAcq: {_desc(exc)}") from None

    def start(self) -> None:
        self.call("startAcq")

    def stop(self) -> None:
        self.call("stopAcq")

    def abort(self) -> None:
        self.call("abortAcq")

    def call(self, command: str, *args):
        try:
            return self.answering(command, self.proxy.command_inout, command, *args)
        except tango.DevFailed as exc:
            raise LimaCameraError(f"{self.name}: {command} on {self.url} failed: {_desc(exc)}") from None

    def status(self) -> LimaStatus:
        try:
            v = self.read(list(STATUS_ATTRS))
        except tango.DevFailed as exc:
            raise LimaCameraError(f"{self.name}: camera {self.url} does not answer: {_desc(exc)}") from None
        fault = ""
        if v["acq_status"] == "Fault":
            try:
                fault = str(self.proxy.read_attribute("acq_status_fault_error").value)
            except tango.DevFailed:
                fault = "(no reason given)"
        return LimaStatus(str(v["acq_status"]), int(v["last_image_acquired"]), int(v["last_image_ready"]),
                          int(v["last_counter_ready"]), int(v["last_image_saved"]),
                          bool(v["ready_for_next_image"]), fault)

    def acq_tag(self) -> int:
        """The tag of the prepared acquisition (0 when the camera does not tag frames)."""
        if not self.has_tag:
            return 0
        return int(self.proxy.read_attribute("acq_tag").value)

    def read_image(self, index: int) -> tuple:
        """(frame, FrameHeader) of readImage(index) (-1: the last ready)."""
        raw = self.read_image_raw(index)
        return decode_data_array(raw)

    def read_image_raw(self, index: int) -> bytes:
        try:
            fmt, raw = self.answering(f"readImage({index})", self.proxy.readImage, int(index))
        except tango.DevFailed as exc:
            raise LimaCameraError(f"{self.name}: readImage({index}) on {self.url}: {_desc(exc)}") from None
        if fmt != DATA_ARRAY:
            raise LimaCameraError(f"{self.name}: readImage on {self.url} returned {fmt!r}, not DATA_ARRAY")
        return raw

    # ------------------------------------------------------------------ plugins
    def plugin(self, kind: str) -> tango.DeviceProxy:
        """The plugin device of that type (roicounter, bpm), found by the camera."""
        proxy = self._plugins.get(kind)
        if proxy is None:
            try:
                dev = str(self.proxy.getPluginDeviceNameFromType(kind))
                proxy = tango.DeviceProxy(self._qualified(dev), green_mode=tango.GreenMode.Gevent)
                proxy.set_timeout_millis(self.proxy.get_timeout_millis())
            except tango.DevFailed as exc:
                raise LimaConfigError(f"{self.name}: {self.url} has no {kind} plugin: {_desc(exc)}") from None
            self._plugins[kind] = proxy
        return proxy

    def _qualified(self, device: str) -> str:
        if device.startswith("tango://") or "#" in device:
            return device
        try:
            return f"tango://{self.proxy.get_db_host()}:{self.proxy.get_db_port()}/{device}"
        except tango.DevFailed:
            return device

    def setup_rois(self, rois: dict[str, tuple[int, int, int, int]]) -> dict[str, int]:
        """BLISS's order: clearAllRois, Start, addNames, setRois; {name: id}. No ROI: the
        plugin is stopped."""
        p = self.plugin("roicounter")
        p.Stop()
        p.clearAllRois()
        if not rois:
            return {}
        p.Start()
        names = list(rois)
        ids = [int(i) for i in p.addNames(names)]
        flat: list[int] = []
        for rid, name in zip(ids, names):
            flat += [rid, *(int(v) for v in rois[name])]
        p.setRois(flat)
        return dict(zip(names, ids))

    def read_rois(self, first_frame: int) -> list:
        """roicounter records (id, frame, sum, avg, std, min, max) of frames >= first_frame."""
        p = self.plugin("roicounter")
        raw = self.answering(f"readCounters({first_frame})", p.readCounters, int(first_frame), device=p)
        return _records(raw, 7)

    def read_bpm(self, first_frame: int) -> list:
        """bpm records (timestamp, intensity, x, y, fwhm_x, fwhm_y, frame)."""
        p = self.plugin("bpm")
        raw = self.answering(f"GetResults({first_frame})", p.GetResults, int(first_frame), device=p)
        return _records(raw, 7)


def _records(raw, size: int) -> list[tuple]:
    if raw is None:
        return []
    values = [float(v) for v in raw]
    return [tuple(values[i:i + size]) for i in range(0, len(values) - len(values) % size, size)]


def check_number(name: str, param: str, value, low: float, high: float = math.inf,
                 low_open: bool = False) -> float:
    """A finite number in [low, high] (or (low, high]); LimaConfigError naming all three."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise LimaConfigError(f"{name}: {param} {value!r} is not a number") from None
    ok = math.isfinite(v) and (v > low if low_open else v >= low) and v <= high
    if not ok:
        lo = f"({low}" if low_open else f"[{low}"
        hi = f"{high}]" if math.isfinite(high) else "inf)"
        raise LimaConfigError(f"{name}: {param} {v} is outside {lo}, {hi}")
    return v


__all__ = ["LimaCCDsClient", "LimaStatus", "LimaConfigError", "LimaCameraError", "FrameHeader",
           "check_number", "STATUS_ATTRS", "EVENT_ATTRS"]
