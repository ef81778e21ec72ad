"""What Lima's `roicounter` and `bpm` plugins compute on each frame, with their result
histories (the records readCounters / GetResults hand out).

roicounter: per ROI [x, y, w, h] the record (roi id, frame, sum, avg, std, min, max).
bpm: per frame (timestamp, intensity, x, y, fwhm_x, fwhm_y, frame): beam centroid and
full widths at half maximum from the background-corrected projections, intensity = the
counts above background. NaN positions when no beam stands out of the background.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

ROI_RECORD = 7  # roi id, frame, sum, avg, std, min, max
BPM_RECORD = 7  # timestamp, intensity, x, y, fwhm_x, fwhm_y, frame


@dataclass(frozen=True)
class Roi:
    x: int
    y: int
    w: int
    h: int

    def check(self, name: str, width: int, height: int) -> None:
        """ValueError naming the ROI and the image size when the ROI does not fit."""
        if self.w <= 0 or self.h <= 0:
            raise ValueError(f"ROI {name} {self.as_list()}: width and height must be > 0")
        if self.x < 0 or self.y < 0 or self.x + self.w > width or self.y + self.h > height:
            raise ValueError(f"ROI {name} {self.as_list()} is outside the image {width}x{height} "
                             f"(x in [0, {width - 1}], y in [0, {height - 1}], x+w <= {width}, "
                             f"y+h <= {height})")

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]


def roi_stats(frame: np.ndarray, roi: Roi) -> tuple[float, float, float, float, float]:
    """(sum, avg, std, min, max) of the frame's pixels inside the ROI (std over the
    population, as Lima computes it)."""
    region = frame[roi.y:roi.y + roi.h, roi.x:roi.x + roi.w]
    if region.size == 0:
        return (0.0, 0.0, 0.0, 0.0, 0.0)
    values = region.astype(np.float64, copy=False)
    total = float(values.sum())
    avg = total / values.size
    std = float(np.sqrt(max(float((values * values).sum()) / values.size - avg * avg, 0.0)))
    return total, avg, std, float(values.min()), float(values.max())


def _peak_width(profile: np.ndarray) -> tuple[float, float]:
    """(centroid, fwhm) of a background-corrected 1D profile; NaN when flat."""
    n = profile.size
    top = int(np.argmax(profile))
    peak = float(profile[top])
    if n == 0 or peak <= 0:
        return float("nan"), float("nan")
    half = peak / 2.0
    left = top
    while left > 0 and profile[left - 1] > half:
        left -= 1
    right = top
    while right < n - 1 and profile[right + 1] > half:
        right += 1
    # half-maximum crossings, interpolated between the last pixel above and the first below
    lo = left - 1 + (half - profile[left - 1]) / (profile[left] - profile[left - 1]) if left > 0 else 0.0
    hi = right + (profile[right] - half) / (profile[right] - profile[right + 1]) if right < n - 1 else n - 1.0
    fwhm = float(hi - lo)
    # centroid over +-1 fwhm around the peak: the noise far out does not pull it
    a = max(0, int(top - fwhm))
    b = min(n, int(top + fwhm) + 2)
    window = np.clip(profile[a:b], 0, None)
    weight = float(window.sum())
    centre = float((np.arange(a, b) * window).sum() / weight) if weight > 0 else float(top)
    return centre, fwhm


def beam_position(frame: np.ndarray) -> tuple[float, float, float, float, float]:
    """(intensity, x, y, fwhm_x, fwhm_y) of the beam on a frame, in pixels."""
    data = frame.astype(np.float64, copy=False)
    px = data.sum(axis=0)
    py = data.sum(axis=1)
    # background per pixel: the median of the dimmer edge rows/columns' level
    h, w = frame.shape
    level = float(np.median(np.concatenate([px / h, py / w])))
    cx = px - level * h
    cy = py - level * w
    x, fx = _peak_width(cx)
    y, fy = _peak_width(cy)
    intensity = float(cx.sum())
    noise = float(np.sqrt(max(level, 1.0) * h * w))  # Poisson scale of the background sum
    if intensity < 5 * noise:  # nothing stands out of the background: no beam
        return max(intensity, 0.0), float("nan"), float("nan"), float("nan"), float("nan")
    return intensity, x, y, fx, fy


class ResultHistory:
    """The last `size` records of a plugin (Lima's BufferSize), thread-safe; records are
    kept in frame order, so `since(frame)` returns those of frame >= that one."""

    def __init__(self, record_len: int, size: int = 1024) -> None:
        self.record_len = record_len
        self._size = int(size)
        self._records: deque = deque(maxlen=self._size)
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return self._size

    @size.setter
    def size(self, value: int) -> None:
        if int(value) < 1:
            raise ValueError(f"BufferSize {value} must be >= 1")
        with self._lock:
            self._size = int(value)
            self._records = deque(self._records, maxlen=self._size)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def add(self, frame: int, rows: list[tuple]) -> None:
        with self._lock:
            self._records.append((frame, rows))

    def since(self, first_frame: int) -> np.ndarray:
        """Every record of frames >= first_frame, flat (Lima's DevVarDoubleArray)."""
        with self._lock:
            picked = [rows for frame, rows in self._records if frame >= first_frame]
        flat = [v for rows in picked for row in rows for v in row]
        return np.asarray(flat, dtype=np.float64)


class RoiCounters:
    """Lima's roicounter task: named ROIs with ids, computed on every frame while started."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._rois: dict[int, Roi] = {}
        self._next_id = 0
        self.started = False
        self.history = ResultHistory(ROI_RECORD)
        self._lock = threading.Lock()

    def add_names(self, names: list[str]) -> list[int]:
        with self._lock:
            out = []
            for name in names:
                if name not in self._ids:
                    self._ids[name] = self._next_id
                    self._next_id += 1
                out.append(self._ids[name])
            return out

    def set_rois(self, values: list[int], width: int, height: int) -> None:
        """[id, x, y, w, h]* ; refused as a whole if one is unknown or does not fit."""
        if len(values) % 5:
            raise ValueError(f"setRois takes [id, x, y, w, h]*: {len(values)} values is not a multiple of 5")
        with self._lock:
            names = {i: n for n, i in self._ids.items()}
            staged = {}
            for k in range(0, len(values), 5):
                rid, x, y, w, h = (int(v) for v in values[k:k + 5])
                if rid not in names:
                    raise ValueError(f"setRois: ROI id {rid} was not given by addNames "
                                     f"(known: {sorted(names)})")
                roi = Roi(x, y, w, h)
                roi.check(names[rid], width, height)
                staged[rid] = roi
            self._rois.update(staged)

    def remove(self, names: list[str]) -> None:
        with self._lock:
            for name in names:
                rid = self._ids.pop(name, None)
                if rid is not None:
                    self._rois.pop(rid, None)

    def clear(self) -> None:
        with self._lock:
            self._ids.clear()
            self._rois.clear()

    def names(self) -> list[str]:
        with self._lock:
            return list(self._ids)

    def rois(self, names: list[str] | None = None) -> list[int]:
        """[id, x, y, w, h]* of the named ROIs (all when names is empty)."""
        with self._lock:
            wanted = names or list(self._ids)
            out: list[int] = []
            for name in wanted:
                rid = self._ids.get(name)
                if rid is None:
                    raise ValueError(f"getRois: no ROI named {name!r} (names: {sorted(self._ids)})")
                roi = self._rois.get(rid)
                if roi is not None:
                    out += [rid, *roi.as_list()]
            return out

    def process(self, frame_number: int, frame: np.ndarray) -> None:
        if not self.started:
            return
        with self._lock:
            rois = list(self._rois.items())
        h, w = frame.shape
        rows = []
        for rid, roi in rois:
            if roi.x + roi.w <= w and roi.y + roi.h <= h:  # a ROI of another geometry is skipped
                rows.append((float(rid), float(frame_number), *roi_stats(frame, roi)))
        self.history.add(frame_number, rows)


class Bpm:
    """Lima's bpm task: beam position and size on every frame while started."""

    def __init__(self) -> None:
        self.started = False
        self.history = ResultHistory(BPM_RECORD)

    def process(self, frame_number: int, frame: np.ndarray, timestamp: float | None = None) -> None:
        """timestamp: when the frame was read out (epoch s), now when not given."""
        if not self.started:
            return
        intensity, x, y, fx, fy = beam_position(frame)
        stamp = time.time() if timestamp is None else timestamp
        self.history.add(frame_number, [(stamp, intensity, x, y, fx, fy, float(frame_number))])
