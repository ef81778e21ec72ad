"""Settings writes taken off the motion hot path.

A scan step through the AxisManager persisted the hardware position at the start, again
at the end, and the axis' last dial position: three Redis round trips serialized inside
every move. A server process that owns its axes can `enable()` write-behind: those
writes are coalesced per settings hash and flushed by one greenlet DELAY (50 ms) later
when the hub is idle, in one pipelined round trip, and at `flush()` (device deletion,
exit): a SIGKILL may lose the last 50 ms of positions, never a setting the user set.
Synchronous writes of the same field drop the pending value first, so an older value
never overwrites a newer one. Disabled (the default: in-process use, tests), every
write goes to Redis at once, as before.
"""

from __future__ import annotations

import atexit
import logging
from typing import Any

import gevent

from blisstango.core.beacon import codec
from blisstango.core.beacon.settings import HashSetting

log = logging.getLogger("blisstango.motion")

_enabled = False
_pending: dict[int, tuple[Any, dict[str, Any]]] = {}  # id(setting) -> (setting, {key: value})
_flusher: gevent.Greenlet | None = None
#: seconds pending writes wait (coalescing a scan's steps) before the idle flush
DELAY = 0.05


def enable(on: bool = True) -> None:
    """Turn write-behind on for this process (off: flush what is pending)."""
    global _enabled
    _enabled = on
    if not on:
        flush()


def store(setting: Any, key: str, value: Any, later: bool = False) -> None:
    """setting[key] = value, now, or (later and enabled) at the next idle flush."""
    global _flusher
    if later and _enabled:
        _pending.setdefault(id(setting), (setting, {}))[1][key] = value
        if _flusher is None:
            _flusher = gevent.spawn(_flush_when_idle)
        return
    entry = _pending.get(id(setting))
    if entry is not None:
        entry[1].pop(key, None)
    setting[key] = value


def pending_all(setting: Any) -> dict[str, Any]:
    """The values waiting to be written to this setting (reads overlay them)."""
    entry = _pending.get(id(setting))
    return dict(entry[1]) if entry is not None else {}


def _flush_when_idle() -> None:
    global _flusher
    try:
        gevent.sleep(DELAY)
        gevent.idle()
    finally:
        _flusher = None
        flush()


def flush() -> None:
    """Write every pending value now: one pipelined round trip per Redis server."""
    batch = list(_pending.values())
    _pending.clear()
    pipes: dict[int, Any] = {}
    plain = []
    for setting, values in batch:
        if not values:
            continue
        if not isinstance(setting, HashSetting):
            plain.append((setting, values))
            continue
        client = setting.redis
        pipe = pipes.get(id(client))
        if pipe is None:
            pipe = pipes[id(client)] = client.pipeline(transaction=False)
        to_set = {k: codec.encode(v) for k, v in values.items() if v is not None}
        if to_set:
            pipe.hset(setting.name, mapping=to_set)
        to_del = [k for k, v in values.items() if v is None]
        if to_del:
            pipe.hdel(setting.name, *to_del)
    for pipe in pipes.values():
        try:
            pipe.execute()
        except Exception as exc:  # noqa: BLE001 - logged; the next motion writes again
            log.warning("settings: deferred write of %d hashes failed: %s", len(batch), exc)
    for setting, values in plain:  # dict-like settings (tests, other factories)
        for k, v in values.items():
            setting[k] = v


atexit.register(flush)
