"""Where scans publish and save by default: the session a process works for.

A ScanServer or a shell sets one ScanContext per session (`set_context`); the standard
scans use `current_context()` unless given another.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class ScanContext:
    """Session name, data Redis connection (None: scans are not published), SCAN_SAVING,
    measurement groups and the last scan of a session."""

    def __init__(self, session: str = "default", data_redis=None, scan_saving=None,
                 measurement_groups=None, publisher_options: dict | None = None) -> None:
        self.session = session
        self.data_redis = data_redis
        self.scan_saving = scan_saving
        self.measurement_groups = measurement_groups
        self.publisher_options = dict(publisher_options or {})
        self.last_scan = None
        self._scan_count = 0

    @classmethod
    def from_beacon(cls, session: str, **kwargs) -> ScanContext:
        """The context of a session on the beamline: the data and settings Redis that
        core.beacon.connection knows (configure(), environment, or the Beacon device),
        a persisted SCAN_SAVING and persisted measurement groups."""
        from ..beacon import connection
        from ..counters.measurement_group import MeasurementGroups
        from ..data.scan_saving import ScanSaving

        settings = connection.get_redis("settings")
        kwargs.setdefault("scan_saving", ScanSaving(session, settings))
        kwargs.setdefault("measurement_groups", MeasurementGroups(session, settings))
        return cls(session, data_redis=connection.get_redis("data"), **kwargs)

    def next_local_number(self) -> int:
        """Scan number when no SCAN_SAVING is set (counts from 1 in this process)."""
        self._scan_count += 1
        return self._scan_count


_current = ScanContext()


def current_context() -> ScanContext:
    return _current


def set_context(ctx: ScanContext) -> ScanContext:
    """Make ctx the default for scans of this process; returns the previous one."""
    global _current
    previous, _current = _current, ctx
    return previous
