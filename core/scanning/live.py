"""Live view of a scan running in this process: new points pulled every period.

The feed reads the scan's channels the way the Redis publisher does (the points each
channel keeps), so acquisition does no extra work per point. Every period (100 ms) it
hands its consumer one Update: the new points per scalar channel since the last update,
the whole data so far, the last complete point and the progress; a final update follows
the end of the scan. The ScanServer turns each Update into Tango events; an in-process
display can print or plot it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .scan import Scan


@dataclass
class Update:
    """What changed in one period (the last one has final=True)."""

    new: dict[str, tuple[int, list]] = field(default_factory=dict)   # channel -> (first index, values)
    data: dict[str, np.ndarray] = field(default_factory=dict)        # channel -> all points so far
    npoints: int = 0                                                 # complete points so far
    progress: float = 0.0
    last_point: dict[str, float] = field(default_factory=dict)
    final: bool = False


class LiveFeed:
    """Follows one scan's scalar channels; `run(push)` hands push an Update every period."""

    def __init__(self, scan: Scan, period: float = 0.1) -> None:
        self.scan = scan
        self.period = period
        self.channels = {c.name: c for c in scan.chain.channels if c.kind == "data" and not c.shape}
        self.expected = int(scan.scan_info.get("npoints") or 0)
        self._buffers = {c: np.empty(1024) for c in self.channels}  # grown by doubling
        self._sent = dict.fromkeys(self.channels, 0)
        self._items = dict.fromkeys(self.channels, 0)

    def _pull(self, final: bool) -> Update:
        up = Update(final=final)
        for name, ch in self.channels.items():
            blocks, end = ch.blocks(self._items[name])
            self._items[name] = end
            n = self._sent[name]
            if blocks:
                new = np.concatenate([b.reshape(-1) for b in blocks]).astype(float, copy=False)
                up.new[name] = (n, new.tolist())
                buf = self._buffers[name]
                if n + len(new) > len(buf):
                    grown = np.empty(max(2 * len(buf), n + len(new)))
                    grown[:n] = buf[:n]
                    self._buffers[name] = buf = grown
                buf[n:n + len(new)] = new
                n = self._sent[name] = n + len(new)
            up.data[name] = self._buffers[name][:n]
        counts = [len(a) for a in up.data.values()]
        up.npoints = min(counts) if counts else 0
        if up.npoints:
            up.last_point = {n: float(a[up.npoints - 1]) for n, a in up.data.items()}
        if self.expected:
            up.progress = min(100.0, 100.0 * up.npoints / self.expected)
        if final and self.scan.end_reason is not None and self.scan.end_reason.value == "SUCCESS":
            up.progress = 100.0
        return up

    def run(self, push) -> None:
        """push(Update) every period while the scan runs, then once more with final=True."""
        task = self.scan._task
        while task is not None and not task.ready():
            task.join(self.period)
            if not task.ready():
                up = self._pull(False)
                if up.new:
                    push(up)
        push(self._pull(True))
