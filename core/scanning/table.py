"""The text table of a scan: one row per complete point, as BLISS prints it.

One table for everyone who prints a scan as text: the shell (points followed in the
data Redis) and a procedure run by the ScanServer (points followed in-process, its
rows in the procedure's Output). Columns: the scanned axes, the elapsed time, then
every scalar data channel a person reads (an MCA shows only its ROI sums).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def number(value: object, digits: int = 4) -> str:
    """A cell: floats with `digits` decimals, anything else as str."""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def shown(desc: Mapping[str, Any], channels: Mapping[str, Mapping[str, Any]]) -> bool:
    """Is a scalar channel a column of the table? An MCA gives dozens of channels per
    element (statistics, ROIs): as in BLISS's display, only its ROIs summed over the
    elements are shown (per element when it has one element); a 2D detector shows its ROI
    sums and BPM intensity, x, y; the rest is in the file."""
    if desc.get("lima"):  # a 2D detector: its ROI sums and the beam position, as BLISS shows
        return desc.get("stat") == "sum" or desc.get("bpm") in ("intensity", "x", "y")
    mca = desc.get("mca")
    if mca is None:
        return True
    elements = {c.get("element") for c in channels.values() if c.get("mca") == mca} - {None}
    return "roi" in desc and (desc.get("element") is None or len(elements) == 1)


class ScanTable:
    """Rows of a scan's points. channels: {name: description} (dtype, shape, kind and
    info, as the scan info or AcquisitionChannel.description() give them); `add` takes
    new values of a channel and returns the rows they completed."""

    def __init__(self, channels: Mapping[str, Mapping[str, Any]], npoints: int = 0) -> None:
        scalar = [n for n, c in channels.items() if not c.get("shape") and c.get("kind", "data") == "data"
                  and shown(c, channels)]
        first = [n for n in scalar if n.startswith("axis:")] + [n for n in scalar if n == "timer:elapsed_time"]
        self.names = first + [n for n in scalar if n not in first and not n.startswith("timer:")]
        self.values: dict[str, list[float]] = {n: [] for n in self.names}
        self.npoints = npoints
        self.printed = 0
        self.widths = [max(10, len(self.short(n))) for n in self.names]

    @staticmethod
    def short(name: str) -> str:
        return "elapsed" if name == "timer:elapsed_time" else name.split(":")[-1]

    def header(self) -> str:
        cells = ["#".rjust(5)] + [self.short(n).rjust(w) for n, w in zip(self.names, self.widths)]
        return "  ".join(cells)

    def add(self, channel: str, data: Any) -> list[str]:
        """Record new values of a channel; the rows of the points now complete."""
        if channel in self.values:
            self.values[channel].extend(np.asarray(data, dtype=float).ravel().tolist())
        ready = min((len(v) for v in self.values.values()), default=0)
        rows = []
        for i in range(self.printed, ready):
            cells = [str(i).rjust(5)] + [number(self.values[n][i]).rjust(w) for n, w in zip(self.names, self.widths)]
            rows.append("  ".join(cells))
        self.printed = max(self.printed, ready)
        return rows


__all__ = ["ScanTable", "number", "shown"]
