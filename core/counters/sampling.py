"""Sampling counters: read a value as often as allowed during the count time and reduce
the samples (mean, statistics, the samples themselves, a single read, last, integral)."""

from __future__ import annotations

import enum
import time

import gevent
import numpy as np

from ..scanning.acquisition import AcquisitionSlave, TriggerMode
from ..scanning.channels import RowGroup, emit_row
from .counter import Counter, CounterController


class SamplingMode(enum.StrEnum):
    MEAN = "MEAN"  # mean of the samples
    STATS = "STATS"  # mean + _N _std _var _min _max _p2v channels
    SAMPLES = "SAMPLES"  # mean + _samples channel (all samples of the point)
    SINGLE = "SINGLE"  # one read per point, whatever the count time
    LAST = "LAST"  # last sample of the count time
    INTEGRATE = "INTEGRATE"  # mean x count time (+ _N sample count channel)


_STATS = ("N", "std", "var", "min", "max", "p2v")


class SamplingCounter(Counter):
    def __init__(self, name: str, controller: SamplingCounterController, mode=SamplingMode.MEAN, **kw) -> None:
        super().__init__(name, controller, **kw)
        self.mode = SamplingMode(mode)


class SamplingCounterController(CounterController):
    """Subclasses implement read_all (one read of several counters) or read (one)."""

    max_sampling_frequency: float | None = 1000.0  # Hz; None = as fast as the device answers
    read_yields: bool = True  # read_all may block (I/O); False: in-process values, never waits

    def read_all(self, *counters: SamplingCounter) -> list:
        return [self.read(c) for c in counters]

    def read(self, counter: SamplingCounter):
        raise NotImplementedError(f"{type(self).__name__} {self.name}: read() not implemented")

    def get_acquisition_object(self, counters, acq_params: dict) -> SamplingSlave:
        return SamplingSlave(self, counters, **acq_params)


class SamplingSlave(AcquisitionSlave):
    """Reads its controller's counters for count_time at every software trigger."""

    def __init__(self, controller: SamplingCounterController, counters, count_time: float = 0.0,
                 npoints: int = 1, trigger_mode=TriggerMode.SOFTWARE) -> None:
        super().__init__(controller, name=controller.name, npoints=npoints, trigger_mode=trigger_mode)
        self.counters = list(counters)
        self.count_time = float(count_time)
        self._outputs: list[list] = []
        for c in self.counters:
            main = self.add_channel(c.fullname, c.dtype if c.mode is not SamplingMode.MEAN else float,
                                    c.shape, c.unit)
            extra = []
            if c.mode is SamplingMode.STATS:
                extra = [(s, self.add_channel(f"{c.fullname}_{s}", int if s == "N" else float, (), c.unit))
                         for s in _STATS]
            elif c.mode is SamplingMode.SAMPLES:
                extra = [("samples", self.add_channel(f"{c.fullname}_samples", float, (-1,), c.unit))]
            elif c.mode is SamplingMode.INTEGRATE:
                extra = [("N", self.add_channel(f"{c.fullname}_N", int, (), None))]
            self._outputs.append([main, extra])
        self._single = all(c.mode is SamplingMode.SINGLE for c in self.counters)
        plain = all(c.mode in (SamplingMode.MEAN, SamplingMode.SINGLE, SamplingMode.LAST)
                    and c.conversion_function is None for c in self.counters)
        self._plain = [main for main, _ in self._outputs] if plain else None
        self._rows = RowGroup(self._plain) if plain and all(c._scalar for c in self._plain) else None
        self._rows_append = None
        self._fast_trigger = None  # set by start() when one read per point is all there is

    @property
    def trigger_yields(self) -> bool:
        """Counting for a time sleeps; a single read blocks only if the controller's does."""
        if self.count_time > 0 and not self._single:
            return True
        return self.device.read_yields

    def start(self) -> None:
        # rows only when no channel has a listener (calc counters listen from prepare on)
        rows = self._rows
        self._rows_append = rows.rows.append if rows is not None and rows.usable() else None
        if rows is not None:
            rows.error = None
        one_read = self._plain and (self._single or self.count_time <= 0)
        self._fast_trigger = self._make_fast_trigger() if one_read and self._rows_append else None

    def trigger_callable(self):
        return self._fast_trigger or self.trigger

    def _make_fast_trigger(self):
        """trigger() for one read of plain counters stored as rows, with everything it
        touches bound once per scan (closure variables, not attribute look-ups)."""
        read_all, counters = self.device.read_all, tuple(self.counters)
        slot = self.stats.slot("read")
        rows = self._rows
        append, materialize = rows.rows.append, rows.materialize
        clock = time.perf_counter

        def fast_trigger() -> None:
            t0 = clock()
            values = read_all(*counters)
            d = clock() - t0
            slot[0] += 1  # inlined record(): this runs once per point
            slot[1] += d
            if d < slot[2]:
                slot[2] = d
            if d > slot[3]:
                slot[3] = d
            append(values)  # the whole point: one append (see RowGroup)
            if not slot[0] & 1023:  # bounded: retained row lists would load the GC
                materialize()
            if rows.error is not None:
                raise rows.error

        return fast_trigger

    def stop(self) -> None:
        super().stop()
        self._rows_append = self._fast_trigger = None
        rows = self._rows
        if rows is not None:
            rows.materialize()
            if rows.error is not None:
                err, rows.error = rows.error, None
                raise err

    def _sample(self) -> np.ndarray | list:
        """Samples taken during count_time, one row per sample, one column per counter
        (a plain list of one row when one read is all there is)."""
        ctrl = self.device
        first = ctrl.read_all(*self.counters)
        if self._single or self.count_time <= 0:
            return [first]
        rows = [first]
        period = 1.0 / ctrl.max_sampling_frequency if ctrl.max_sampling_frequency else 0.0
        t0 = time.perf_counter()
        end = t0 + self.count_time
        next_t = t0 + period
        while True:
            now = time.perf_counter()
            if now >= end:
                break
            gevent.sleep(max(0.0, min(next_t, end) - now))
            if time.perf_counter() >= end and len(rows) > 1:
                break
            rows.append(ctrl.read_all(*self.counters))
            next_t += period
        return np.asarray(rows, dtype=float)

    def trigger(self) -> None:
        fast = self._fast_trigger
        if fast is not None:
            return fast()
        t0 = time.perf_counter()
        if self._plain and (self._single or self.count_time <= 0):
            # one read, MEAN/SINGLE/LAST counters without conversion, channels listened to
            # (without listeners start() made the row-storing fast trigger used above)
            values = self.device.read_all(*self.counters)
            self.stats.add("read", time.perf_counter() - t0)
            emit_row(self._plain, values)
            return
        samples = self._sample()
        self.stats.add("read", time.perf_counter() - t0)
        if isinstance(samples, list):  # one read: each reduction is the value (no numpy here)
            for v, c, (main, extra) in zip(samples[0], self.counters, self._outputs):
                main.emit(c.convert(v * self.count_time if c.mode is SamplingMode.INTEGRATE else v))
                for tag, ch in extra:
                    ch.emit(1 if tag == "N" else np.array([v], dtype=float) if tag == "samples"
                            else 0.0 if tag in ("std", "var", "p2v") else v)
            return
        n = samples.shape[0]
        mean = samples.mean(axis=0)
        for col, (c, (main, extra)) in enumerate(zip(self.counters, self._outputs)):
            s = samples[:, col]
            mode = c.mode
            if mode is SamplingMode.SINGLE:
                value = s[0]
            elif mode is SamplingMode.LAST:
                value = s[-1]
            elif mode is SamplingMode.INTEGRATE:
                value = mean[col] * self.count_time
            else:
                value = mean[col]
            main.emit(c.convert(value))
            for tag, ch in extra:
                if tag == "N":
                    ch.emit(n)
                elif tag == "samples":
                    ch.emit(s.copy())
                elif tag == "std":
                    ch.emit(s.std())
                elif tag == "var":
                    ch.emit(s.var())
                elif tag == "min":
                    ch.emit(s.min())
                elif tag == "max":
                    ch.emit(s.max())
                elif tag == "p2v":
                    ch.emit(s.max() - s.min())
