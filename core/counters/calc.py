"""CalcCounter: a counter computed from other counters' data, point by point."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..scanning.acquisition import AcquisitionSlave, TriggerMode
from .counter import Counter, CounterController


class CalcCounterController(CounterController):
    """Owns one CalcCounter; its inputs are read by their own controllers."""

    def get_acquisition_object(self, counters, acq_params: dict) -> CalcSlave:
        return CalcSlave(self, counters, npoints=acq_params.get("npoints", 1))


class CalcCounter(Counter):
    """value = function(*input values), e.g. CalcCounter("norm", [diode, mon], lambda d, m: d / m)."""

    def __init__(self, name: str, inputs: list[Counter], function: Callable, unit: str | None = None,
                 dtype=float) -> None:
        if not inputs:
            raise ValueError(f"calc counter {name}: needs at least one input counter")
        super().__init__(name, CalcCounterController(name), dtype=dtype, unit=unit)
        self.inputs = list(inputs)
        self.function = function

    @property
    def fullname(self) -> str:
        return f"calc:{self.name}"


class CalcSlave(AcquisitionSlave):
    """Listens to the input channels and emits outputs for every index all inputs have.

    The toolbox passes `input_channels` (counter fullname -> AcquisitionChannel) before
    prepare(); the slave is never triggered, its data follows its inputs."""

    def __init__(self, controller: CalcCounterController, counters, npoints: int = 1) -> None:
        super().__init__(controller, name=controller.name, npoints=npoints, trigger_mode=TriggerMode.HARDWARE)
        self.counters = list(counters)
        self.input_channels: dict = {}
        self._out = [self.add_channel(c.fullname, c.dtype, (), c.unit) for c in self.counters]
        self._pending: dict[str, list] = {}
        self._done = 0

    def prepare(self) -> None:
        missing = [i.fullname for c in self.counters for i in c.inputs if i.fullname not in self.input_channels]
        if missing:
            raise RuntimeError(f"calc counter {self.name}: input channels {missing} are not in the scan")
        self._pending = {name: [] for name in self.input_channels}
        self._done = 0
        for ch in self.input_channels.values():
            ch.listeners.append(self._on_data)

    def _on_data(self, channel, points) -> None:
        self._pending[channel.name].extend(points)
        n = min(len(v) for v in self._pending.values())
        if not n:
            return
        block = {k: np.asarray(v[:n]) for k, v in self._pending.items()}
        for k in self._pending:
            del self._pending[k][:n]
        for c, ch in zip(self.counters, self._out):
            ch.emit(np.asarray(c.function(*[block[i.fullname] for i in c.inputs]), dtype=c.dtype).reshape(n))
        self._done += n

    def stop(self) -> None:
        for ch in self.input_channels.values():
            if self._on_data in ch.listeners:
                ch.listeners.remove(self._on_data)
