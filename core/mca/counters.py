"""MCA counters with BLISS's names: spectrum_det<N>, <stat>_det<N>, <roi>_det<N>, and
<roi> summed over the elements when there are several.

Each counter takes its value out of a block of acquired points (`McaBlock`): one
hardware read feeds every counter of the MCA.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..counters.counter import Counter
from .modes import STAT_FIELDS

STAT_UNITS = {"realtime": "s", "trigger_livetime": "s", "energy_livetime": "s", "icr": "1/s", "ocr": "1/s"}
INT_STATS = ("triggers", "events")


@dataclass
class McaBlock:
    """Consecutive points of one acquisition: spectra (n, elements, bins) uint32 and
    stats (n, elements, 8) float64 in STAT_FIELDS order; `first` is the first point's index."""

    first: int
    spectra: np.ndarray
    stats: np.ndarray

    @property
    def count(self) -> int:
        return int(self.spectra.shape[0])


class McaCounter(Counter):
    """A counter of an MCA; `element` is the detector element it reads (None: all)."""

    def __init__(self, name: str, mca, element: int | None, dtype, shape=(), unit: str | None = None) -> None:
        self.element = element
        super().__init__(name, mca, dtype=dtype, shape=shape, unit=unit)

    @property
    def mca(self):
        return self.controller

    def index(self) -> int:
        """Position of this counter's element in a block's element axis."""
        return self.mca.elements.index(self.element)

    def extract(self, block: McaBlock, rois: dict) -> np.ndarray:
        raise NotImplementedError

    def channel_info(self, rois: dict) -> dict:
        """Extra channel description for the scan info (what a file writer needs)."""
        return {"mca": self.mca.name, "element": self.element}


class SpectrumMcaCounter(McaCounter):
    def __init__(self, mca, element: int) -> None:
        super().__init__(f"spectrum_det{element}", mca, element, np.uint32, (mca.spectrum_size,), "counts")

    def extract(self, block: McaBlock, rois: dict) -> np.ndarray:
        return np.ascontiguousarray(block.spectra[:, self.index(), :])

    def channel_info(self, rois: dict) -> dict:
        return dict(super().channel_info(rois), axis=self.mca.calibration.as_axis())


class StatisticsMcaCounter(McaCounter):
    def __init__(self, mca, stat: str, element: int) -> None:
        if stat not in STAT_FIELDS:
            raise ValueError(f"{mca.name}: {stat!r} is not a statistic ({', '.join(STAT_FIELDS)})")
        self.stat = stat
        self._col = STAT_FIELDS.index(stat)
        super().__init__(f"{stat}_det{element}", mca, element, np.int64 if stat in INT_STATS else np.float64,
                         (), STAT_UNITS.get(stat))

    def extract(self, block: McaBlock, rois: dict) -> np.ndarray:
        return block.stats[:, self.index(), self._col].astype(self.dtype)


class RoiMcaCounter(McaCounter):
    def __init__(self, mca, roi: str, element: int) -> None:
        self.roi = roi
        super().__init__(f"{roi}_det{element}", mca, element, np.int64, (), "counts")

    def extract(self, block: McaBlock, rois: dict) -> np.ndarray:
        start, stop = rois[self.roi]
        return block.spectra[:, self.index(), start:stop].sum(axis=-1, dtype=np.int64)

    def channel_info(self, rois: dict) -> dict:
        return dict(super().channel_info(rois), roi=list(rois[self.roi]))


class RoiSumMcaCounter(McaCounter):
    def __init__(self, mca, roi: str) -> None:
        self.roi = roi
        super().__init__(roi, mca, None, np.int64, (), "counts")

    def extract(self, block: McaBlock, rois: dict) -> np.ndarray:
        start, stop = rois[self.roi]
        return block.spectra[:, :, start:stop].sum(axis=(1, 2), dtype=np.int64)

    def channel_info(self, rois: dict) -> dict:
        return dict(super().channel_info(rois), roi=list(rois[self.roi]))


def build_counters(mca, rois: dict) -> list[McaCounter]:
    """Every counter of the MCA, in BLISS's order: ROIs per element, spectra, statistics,
    ROI sums (only with several elements)."""
    elements = list(mca.elements)
    out: list[McaCounter] = [RoiMcaCounter(mca, r, e) for e in elements for r in rois]
    out += [SpectrumMcaCounter(mca, e) for e in elements]
    out += [StatisticsMcaCounter(mca, s, e) for e in elements for s in STAT_FIELDS]
    if len(elements) > 1:
        out += [RoiSumMcaCounter(mca, r) for r in rois]
    return out
