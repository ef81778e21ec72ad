"""TangoAttrCounter: any Tango attribute (TangoTest double_scalar, a Sardana channel, an
ion chamber current) counted in scans; attributes of one device are read in one call."""

from __future__ import annotations

import tango

from ..comm.reach import reading_error
from .sampling import SamplingCounter, SamplingCounterController, SamplingMode


class TangoAttrCounterController(SamplingCounterController):
    """One per device: read_all reads every counted attribute with read_attributes."""

    _shared: dict[str, TangoAttrCounterController] = {}
    max_sampling_frequency = 100.0

    def __init__(self, device_name: str, name: str | None = None) -> None:
        super().__init__(name or device_name.replace("/", "_").replace(":", "_").replace("#", "_"))
        self.device_name = device_name
        self._proxy = None

    @classmethod
    def for_device(cls, device_name: str) -> TangoAttrCounterController:
        ctrl = cls._shared.get(device_name)
        if ctrl is None:
            ctrl = cls._shared[device_name] = cls(device_name)
        return ctrl

    @property
    def proxy(self) -> tango.DeviceProxy:
        if self._proxy is None:
            self._proxy = tango.DeviceProxy(self.device_name, green_mode=tango.GreenMode.Gevent)
        return self._proxy

    def read_all(self, *counters: TangoAttrCounter) -> list:
        names = [c.attr_name for c in counters]
        try:
            replies = self.proxy.read_attributes(names)
        except tango.DevFailed as exc:
            raise reading_error(exc, self.name, self.device_name, f"read {', '.join(names)}") from None
        out = []
        for c, r in zip(counters, replies):
            if r.has_failed:
                err = r.get_err_stack()
                reason = err[0].desc if err else "read failed"
                raise RuntimeError(f"counter {c.name}: reading {self.device_name}/{c.attr_name} failed: {reason}")
            out.append(r.value)
        return out


class TangoAttrCounter(SamplingCounter):
    """TangoAttrCounter("tg_double", "sys/tg_test/1", "double_scalar", unit="V")."""

    def __init__(self, name: str, device_name: str, attr_name: str, unit: str | None = None,
                 mode=SamplingMode.SINGLE, conversion_function=None,
                 controller: TangoAttrCounterController | None = None) -> None:
        """controller: one of its own (a name of its own for the channels); default the
        device's shared one."""
        super().__init__(name, controller or TangoAttrCounterController.for_device(device_name), mode=mode,
                         unit=unit, conversion_function=conversion_function)
        self.attr_name = attr_name
