"""Hooks that run around a scan and around each iteration (open a shutter, check beam)."""

from __future__ import annotations


class ScanPreset:
    """Subclass and override what you need; an exception in a hook fails the scan."""

    def before_scan(self, scan) -> None:
        """Before the chain is prepared."""

    def after_scan(self, scan) -> None:
        """After every node is stopped; runs also when the scan failed or was aborted."""

    def before_iteration(self, scan, iteration: int) -> None:
        """Before each trigger of a top master."""

    def after_iteration(self, scan, iteration: int) -> None:
        """After each trigger of a top master."""


class WatchdogCallback:
    """Called every `period` seconds while the scan runs; raise StopIteration to stop the
    scan gently, any other exception to abort it with that error as end reason."""

    def __init__(self, period: float = 1.0) -> None:
        self.period = period

    def on_timer(self, scan) -> None:
        """Periodic check (beam lost, detector stuck)."""

    def on_scan_end(self, scan) -> None:
        """Once, after the scan ended (any reason)."""
