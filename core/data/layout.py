"""Redis key names of the scan data layout (DESIGN.md §4), in one place.

Keys (data Redis):
  scan:<key>                 JSON info of a scan (string)
  scan:<key>:@state          stream of state changes (CREATED ... CLOSED)
  scan:<key>:<channel>       stream of data batches of one channel, then a seal entry
  scans                      sorted set of every recent scan key, score = creation time
  scans:<session>            stream announcing each new scan key of a session
  scan:<key>:@written        the file a NeXus writer finished the scan's entry in (a
                             restarted writer skips those scans without opening files)
The ``@`` keeps the state stream apart from any channel name (channel names never hold it).
"""

from __future__ import annotations

STATES = ("CREATED", "PREPARED", "STARTED", "STOPPED", "CLOSED")
SCANS_INDEX = "scans"
DEFAULT_EXPIRY = 24 * 3600
DEFAULT_MEMORY_BUDGET = 1 << 30


def info_key(key: str) -> str:
    return f"scan:{key}"


def state_key(key: str) -> str:
    return f"scan:{key}:@state"


def channel_key(key: str, channel: str) -> str:
    if "@" in channel:
        raise ValueError(f"channel name {channel!r} may not contain '@'")
    return f"scan:{key}:{channel}"


def written_key(key: str) -> str:
    return f"scan:{key}:@written"


def session_key(session: str) -> str:
    return f"scans:{session}"


def state_rank(state: str) -> int:
    """Order of a state in the life of a scan (CREATED=0 ... CLOSED=4)."""
    try:
        return STATES.index(state)
    except ValueError:
        raise ValueError(f"unknown scan state {state!r}, expected one of {STATES}") from None
