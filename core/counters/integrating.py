"""Integrating counters: the device integrates over each point by itself (a counter
card gated by a timer, a detector ROI); the slave collects values by index."""

from __future__ import annotations

import gevent
import numpy as np

from ..scanning.acquisition import AcquisitionSlave, TriggerMode
from .counter import Counter, CounterController


class IntegratingCounter(Counter):
    pass


class IntegratingCounterController(CounterController):
    """Subclasses implement prepare_integration, trigger_integration and get_values."""

    polling_time = 0.005

    def prepare_integration(self, count_time: float, npoints: int) -> None:
        """Configure the device for npoints of count_time."""

    def trigger_integration(self) -> None:
        """Start one integration (software trigger)."""

    def get_values(self, from_index: int, *counters: IntegratingCounter) -> list[np.ndarray]:
        """Values of each counter from point from_index to the last point available."""
        raise NotImplementedError(f"{type(self).__name__} {self.name}: get_values() not implemented")

    def get_acquisition_object(self, counters, acq_params: dict) -> IntegratingSlave:
        return IntegratingSlave(self, counters, **acq_params)


class IntegratingSlave(AcquisitionSlave):
    """Triggers an integration per point and emits the values as the device has them."""

    def __init__(self, controller: IntegratingCounterController, counters, count_time: float = 0.0,
                 npoints: int = 1, trigger_mode=TriggerMode.SOFTWARE) -> None:
        super().__init__(controller, name=controller.name, npoints=npoints, trigger_mode=trigger_mode)
        self.counters = list(counters)
        self.count_time = float(count_time)
        self._chans = [self.add_channel(c.fullname, c.dtype, c.shape, c.unit) for c in self.counters]
        self._index = 0
        self._triggered = 0

    def prepare(self) -> None:
        self.device.prepare_integration(self.count_time, self.npoints)
        self._index = 0
        self._triggered = 0

    def _collect(self) -> int:
        values = self.device.get_values(self._index, *self.counters)
        n = min(len(v) for v in values) if values else 0
        if n:
            for ch, c, v in zip(self._chans, self.counters, values):
                ch.emit(c.convert(np.asarray(v[:n])))
            self._index += n
        return n

    def trigger(self) -> None:
        self.device.trigger_integration()
        self._triggered += 1
        while self._index < self._triggered:  # the point is complete when its value is there
            if not self.stats.timed("read", self._collect):
                gevent.sleep(self.device.polling_time)

    def reading(self) -> None:  # hardware-triggered: values arrive on their own
        while self.npoints == 0 or self._index < self.npoints:
            if not self._collect():
                gevent.sleep(self.device.polling_time)


class TimerIntegratingController(IntegratingCounterController):
    """A simulated counter card: each counter counts `rate` events per second of
    integration (a real device with a clock, used by the demo and the tests)."""

    def __init__(self, name: str, rates: dict[str, float]) -> None:
        super().__init__(name)
        for cname, rate in rates.items():
            c = IntegratingCounter(cname, self, dtype=float)
            c.rate = float(rate)
        self._done: list[float] = []
        self._count_time = 0.0

    def prepare_integration(self, count_time: float, npoints: int) -> None:
        self._count_time = count_time
        self._done = []

    def trigger_integration(self) -> None:
        gevent.sleep(self._count_time)
        self._done.append(self._count_time)

    def get_values(self, from_index: int, *counters) -> list[np.ndarray]:
        times = np.asarray(self._done[from_index:], dtype=float)
        return [times * c.rate for c in counters]
