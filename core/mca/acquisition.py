"""The MCA in a scan: one acquisition slave reads every counter of the MCA.

SOFTWARE (one spectrum per point): each trigger acquires one point with preset
REALTIME = count time and emits it. Mapping modes read in blocks: the MCA is armed for
all the scan's points at start; each trigger of the master is one pulse of its trigger
input (GATE: a gate of count time; SYNC: the pulse ends a pixel and starts the next,
the pixel before the first pulse is dropped and one last pulse closes the last point);
a reader greenlet emits the points as the MCA delivers them, block by block.
"""

from __future__ import annotations

import gevent
import numpy as np

from ..scanning.acquisition import AcquisitionSlave
from ..scanning.channels import emit_row
from .controller import MAX_HARDWARE_POINTS
from .counters import (
    INT_STATS,
    McaBlock,
    McaCounter,
    RoiMcaCounter,
    RoiSumMcaCounter,
    SpectrumMcaCounter,
    StatisticsMcaCounter,
)
from .errors import McaError, McaParameterError
from .modes import STAT_FIELDS, PresetMode, TriggerMode, parse_mode


class McaAcquisitionSlave(AcquisitionSlave):
    def __init__(self, mca, counters, npoints: int = 1, count_time: float = 0.0, trigger_mode=None,
                 preset_mode=None, block_size: int | None = None, polling_time: float = 0.1,
                 read_all_triggers: bool = False) -> None:
        super().__init__(mca, name=mca.name, npoints=npoints)
        self.mca = mca
        self.count_time = float(count_time)
        self.mca_mode = parse_mode(TriggerMode, trigger_mode if trigger_mode is not None else mca.trigger_mode,
                                   mca.name, "trigger_mode", mca.supported_trigger_modes)
        self.preset_mode = parse_mode(PresetMode, preset_mode or "REALTIME", mca.name, "preset_mode",
                                      mca.supported_preset_modes)
        self.block_size = block_size
        self.polling_time = float(polling_time)
        self.read_all_triggers = bool(read_all_triggers)
        self.rois = mca.rois.as_dict()
        self.counters: list[McaCounter] = list(counters)
        self._outputs = [(c, self.add_channel(c.fullname, c.dtype, c.shape, c.unit, info=c.channel_info(self.rois)))
                         for c in self.counters]
        self._plan = _ExtractionPlan(mca, self._outputs, self.rois)
        self._emitted = 0
        self._task: gevent.Greenlet | None = None

    @property
    def mapping(self) -> bool:
        return self.mca_mode is not TriggerMode.SOFTWARE

    # ---- life cycle ------------------------------------------------------------------
    def prepare(self) -> None:
        mca = self.mca
        self._emitted = 0
        mca.trigger_mode = self.mca_mode
        if self.count_time <= 0 and self.mca_mode is not TriggerMode.SYNC:
            raise McaParameterError(mca.name, "count time", self.count_time,
                                    f"a time > 0 in {self.mca_mode.name} mode")
        if self.mca_mode is TriggerMode.SOFTWARE:
            mca.preset_mode = self.preset_mode
            mca.preset_value = self.count_time
            return
        if self.mca_mode is TriggerMode.GATE:
            mca.preset_value = self.count_time  # the width of each gate
        mca.hardware_points = self._hardware_points()
        if self.block_size is not None:
            mca.block_size = self.block_size

    def _hardware_points(self) -> int:
        if self.npoints <= 0:
            return MAX_HARDWARE_POINTS  # until stopped
        return self.npoints + 1 if self.mca_mode is TriggerMode.SYNC else self.npoints

    def start(self) -> None:
        if self.mapping:
            self.mca.start_acquisition()
            self._task = gevent.spawn(self.stats.timed, "read", self._read_blocks)

    def trigger(self) -> None:
        if not self.mapping:
            block = self.mca.acquire_one(timeout=self.count_time + 5.0, expected=self.count_time)
            self._emit(block)
            return
        task = self._task
        if task is not None and task.ready() and task.exception is not None:
            raise task.exception
        self.mca.pulse()

    def wait_reading(self) -> None:
        """Mapping: wait until every point was read (SYNC sends the pulse that ends the last)."""
        task = self._task
        if task is None:
            return
        if self.mca_mode is TriggerMode.SYNC and not task.ready():
            self.mca.pulse()
        task.get()

    def stop(self) -> None:
        task, self._task = self._task, None
        try:
            self.mca.stop_acquisition()
        finally:
            if task is not None and not task.ready():
                task.kill()

    # ---- data ------------------------------------------------------------------------
    def _read_blocks(self) -> None:
        total = self._hardware_points()
        skip = 1 if self.mca_mode is TriggerMode.SYNC and not self.read_all_triggers else 0
        block_size = self.block_size or self.mca.block_size
        index = 0
        while index < total:
            block = self.mca.read_points(index, timeout=self.polling_time,
                                         min_points=min(block_size, total - index))
            if block is None:
                if not self.mca.is_acquiring() and self.mca.points_acquired <= index:
                    raise McaError(f"{self.mca.name}: acquisition ended after {self.mca.points_acquired} "
                                   f"of {total} points")
                continue
            index = block.first + block.count
            if skip:
                drop = min(skip, block.count)
                skip -= drop
                if drop == block.count:
                    continue
                block = McaBlock(block.first + drop, block.spectra[drop:], block.stats[drop:])
            self._emit(block)

    def _emit(self, block: McaBlock) -> None:
        self._plan.emit(block)
        self._emitted += block.count


class _ExtractionPlan:
    """Every counter's value out of a block at once: the statistics by one gather, every
    ROI of every element from one cumulative sum of the spectra; one point of scalars is
    one row (emit_row), as a hardware read of several counters is."""

    def __init__(self, mca, outputs, rois: dict) -> None:
        elements = list(mca.elements)
        roi_names = list(rois)
        self.spectra = [(elements.index(c.element), ch) for c, ch in outputs if isinstance(c, SpectrumMcaCounter)]
        stats = [(c, ch) for c, ch in outputs if isinstance(c, StatisticsMcaCounter)]
        self.stat_channels = [ch for _, ch in stats]
        self.stat_elements = np.array([elements.index(c.element) for c, _ in stats], dtype=int)
        self.stat_columns = np.array([STAT_FIELDS.index(c.stat) for c, _ in stats], dtype=int)
        self.stat_ints = np.array([c.stat in INT_STATS for c, _ in stats], dtype=bool)
        roi_outputs = [(c, ch) for c, ch in outputs if isinstance(c, (RoiMcaCounter, RoiSumMcaCounter))]
        self.roi_channels = [ch for _, ch in roi_outputs]
        self.roi_index = np.array([roi_names.index(c.roi) for c, _ in roi_outputs], dtype=int)
        self.roi_element = np.array([-1 if c.element is None else elements.index(c.element) for c, _ in roi_outputs],
                                    dtype=int)
        self.starts = np.array([rois[r][0] for r in roi_names], dtype=int)
        self.stops = np.array([rois[r][1] for r in roi_names], dtype=int)
        self.scalars = self.stat_channels + self.roi_channels

    def emit(self, block: McaBlock) -> None:
        for i, ch in self.spectra:
            ch.emit(np.ascontiguousarray(block.spectra[:, i, :]))
        columns = []
        if self.stat_channels:
            stats = block.stats[:, self.stat_elements, self.stat_columns]          # (n, k)
            columns = [stats[:, k].astype(np.int64) if self.stat_ints[k] else stats[:, k]
                       for k in range(stats.shape[1])]
        if self.roi_channels:
            cs = np.cumsum(block.spectra, axis=-1, dtype=np.int64)                   # (n, elements, bins)
            upper = cs[:, :, self.stops - 1]
            lower = np.where(self.starts > 0, cs[:, :, np.maximum(self.starts - 1, 0)], 0)
            sums = upper - lower                                                     # (n, elements, rois)
            for e, r in zip(self.roi_element, self.roi_index):
                columns.append(sums[:, :, r].sum(axis=1) if e < 0 else sums[:, e, r])
        if block.count == 1:
            emit_row(self.scalars, [c[0] for c in columns])
        else:
            for ch, values in zip(self.scalars, columns):
                ch.emit(values)
