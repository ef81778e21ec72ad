"""Names of the Mca device's attributes that core needs to read (statistics per element)."""

from __future__ import annotations

from .modes import STAT_FIELDS

#: statistic -> Tango attribute (realtime -> Realtime, trigger_livetime -> TriggerLivetime)
STAT_ATTRS = {s: "".join(p.capitalize() for p in s.split("_")) for s in STAT_FIELDS}
