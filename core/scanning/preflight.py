"""What is checked and taken before a scan moves anything: the axes it moves, every
position against their limits, and the Beacon locks of those axes (and of the reals
behind calc axes) for the life of the scan.

Bad arguments are refused here with a ScanArgumentError, before the scan starts.
"""

from __future__ import annotations

from blisstango.core.beacon.locks import Lock
from blisstango.core.motion.errors import MotionError
from blisstango.core.motion.protocol import lock_names

from .arguments import ScanArgumentError
from .masters import SoftwarePositionTriggerMaster, StepMaster
from .presets import ScanPreset
from .scan import Scan


def scan_axes(scan: Scan) -> list:
    """Axes the scan moves (step masters, continuous masters, presets moving axes)."""
    out: list = []
    for node in scan.chain.nodes:
        for ax in [*getattr(node, "axes", []), getattr(node, "axis", None)]:
            if ax is not None and ax not in out:
                out.append(ax)
    for p in scan.presets:
        for ax in getattr(p, "axes", []):  # ReturnToStart, MovePreset
            if hasattr(ax, "move") and ax not in out:
                out.append(ax)
    return out


def check_limits(scan: Scan) -> None:
    """Every position the chain's masters will visit is inside its axis' limits."""
    try:
        for node in scan.chain.nodes:
            if isinstance(node, StepMaster):
                for ax, pos in zip(node.axes, node.positions):
                    if hasattr(ax, "check_limits"):
                        ax.check_limits(float(min(pos)))
                        ax.check_limits(float(max(pos)))
                node.limits_checked = True  # its prepare() does not ask again
            elif isinstance(node, SoftwarePositionTriggerMaster) and hasattr(node.axis, "check_limits"):
                margin = node._margin()
                sign = 1.0 if node.stop_pos >= node.start_pos else -1.0
                node.axis.check_limits(node.start_pos - sign * margin)
                node.axis.check_limits(node.stop_pos + sign * margin)
    except MotionError as exc:
        raise ScanArgumentError(f"{scan.scan_info.get('title', scan.name)}: {exc}") from None


class LockPreset(ScanPreset):
    """Holds the Beacon locks of the scanned axes from before prepare to after the scan,
    naming the scan as owner (`<holder>: scan <n> (<title>)`); remote axes move through
    the holder token meanwhile."""

    def __init__(self, holder: str, axes: list) -> None:
        self.holder = holder
        self.axes = axes
        self.lock: Lock | None = None
        self.owner = ""

    def before_scan(self, scan: Scan) -> None:
        if not self.axes:
            return
        self.owner = f"{self.holder}: scan {scan.scan_number} ({scan.scan_info.get('title', scan.name)})"
        self.lock = Lock(*lock_names(self.axes), owner=self.owner, timeout=0)
        self.lock.acquire()
        for ax in self.axes:  # every axis has an owner (AxisProtocol); remote ones send it
            ax.owner = self.owner

    def after_scan(self, scan: Scan) -> None:
        for ax in self.axes:
            ax.owner = None
        if self.lock is not None:
            try:
                self.lock.release()
            finally:
                self.lock = None


__all__ = ["scan_axes", "check_limits", "lock_names", "LockPreset"]
