"""Follow scans in the data Redis: wait for the next scan of a session, read channels live.

Readers only remember stream ids, so a dropped connection or a Redis client kill costs
nothing: the next read resumes after the last entry received. Every Redis call goes
through `_retry`, which waits for the connection to come back (up to reconnect_timeout).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import redis

from ..comm.backoff import Backoff, retry
from . import encoding, layout


@dataclass
class Batch:
    """Consecutive points of one channel: data is an ndarray (or a list of refs)."""

    channel: str
    first: int
    data: object

    @property
    def count(self) -> int:
        return len(self.data)


class _Retrying:
    def __init__(self, connection: redis.Redis, reconnect_timeout: float) -> None:
        self.redis = connection
        self.reconnect_timeout = reconnect_timeout
        self.reconnects = 0

    def _retry(self, fn, *args, **kwargs):
        def counted(_exc: BaseException) -> None:
            self.reconnects += 1

        return retry(lambda: fn(*args, **kwargs), (redis.ConnectionError, redis.TimeoutError),
                     self.reconnect_timeout, Backoff(first=0.02, longest=1.0), on_retry=counted)


class ScanReader(_Retrying):
    """Reads one scan, identified by its key (as given by `SessionWatcher` or the info)."""

    def __init__(self, connection: redis.Redis, key: str, reconnect_timeout: float = 30.0) -> None:
        super().__init__(connection, reconnect_timeout)
        self.key = key
        self._info: dict | None = None

    # ------------------------------------------------------------------ info / state
    @property
    def info(self) -> dict:
        """The scan info as last published (re-read on each access)."""
        raw = self._retry(self.redis.get, layout.info_key(self.key))
        if raw is None:
            raise KeyError(f"scan {self.key!r} is not in the data Redis (expired or deleted)")
        self._info = json.loads(raw)
        return self._info

    def wait_info(self, timeout: float) -> dict:
        """The info, waiting up to timeout for it to appear: a data Redis restarted during
        the scan holds it again once the scan's publisher has announced it again."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.info
            except KeyError:
                if time.monotonic() >= deadline:
                    raise
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    @property
    def channels(self) -> dict[str, dict]:
        """name -> {dtype, shape, unit, kind} of every channel of the scan."""
        return (self._info or self.info)["channels"]

    @property
    def state(self) -> str:
        last = self._retry(self.redis.xrevrange, layout.state_key(self.key), count=1)
        if not last:
            raise KeyError(f"scan {self.key!r} has no state stream (expired or deleted)")
        return last[0][1][b"state"].decode()

    def wait_state(self, state: str, timeout: float | None = None) -> str:
        """Block until the scan reaches state (or a later one); return the state reached."""
        want = layout.state_rank(state)
        deadline = None if timeout is None else time.monotonic() + timeout
        last_id = "0"
        while True:
            block = 1000 if deadline is None else max(1, int(1000 * min(1.0, deadline - time.monotonic())))
            reply = self._retry(self.redis.xread, {layout.state_key(self.key): last_id}, block=block)
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    last_id = entry_id
                    current = fields[b"state"].decode()
                    if layout.state_rank(current) >= want:
                        return current
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"scan {self.key}: state {state} not reached within {timeout} s")

    # ------------------------------------------------------------------ data
    def is_complete(self, channel: str) -> bool:
        """True once the channel's seal is written: no more points will come."""
        last = self._retry(self.redis.xrevrange, layout.channel_key(self.key, channel), count=1)
        return bool(last) and b"end" in last[0][1]

    def follow(self, channels: Iterable[str] | None = None, from_start: bool = True,
               timeout: float | None = None, block_ms: int = 200) -> Iterator[Batch]:
        """Yield Batches of the channels as they arrive, until every channel is sealed.

        from_start=False skips what was published before the call. timeout bounds the
        wait for *new* data (TimeoutError), not the length of the scan.
        """
        names = list(channels) if channels is not None else list(self.channels)
        unknown = set(names) - set(self.channels)
        if unknown:
            raise KeyError(f"scan {self.key}: no channel {sorted(unknown)}; has {sorted(self.channels)}")
        keys = {layout.channel_key(self.key, n): n for n in names}
        ids: dict[str, bytes | str] = {}
        for k in keys:
            if from_start:
                ids[k] = "0"
            else:
                last = self._retry(self.redis.xrevrange, k, count=1)
                if last and b"end" in last[0][1]:
                    continue  # already sealed: nothing more will come
                ids[k] = last[0][0] if last else "0"
        idle_since = time.monotonic()
        while ids:
            reply = self._retry(self.redis.xread, dict(ids), block=block_ms, count=1000)
            if not reply:
                if timeout is not None and time.monotonic() - idle_since > timeout:
                    raise TimeoutError(f"scan {self.key}: no data on {sorted(keys[k] for k in ids)} "
                                       f"for {timeout} s")
                continue
            idle_since = time.monotonic()
            for stream, entries in reply:
                k = stream.decode() if isinstance(stream, bytes) else stream
                for entry_id, fields in entries:
                    ids[k] = entry_id
                    kind, first, data = encoding.decode(fields)
                    if kind == "end":
                        del ids[k]
                        break
                    yield Batch(keys[k], first, data)

    def read_all(self, channel: str, timeout: float | None = None):
        """Every point of a channel (waits for its seal): an ndarray, or a list of arrays
        when points differ in shape, or a list of refs for a reference channel."""
        parts = [b.data for b in self.follow([channel], timeout=timeout)]
        if self.channels[channel].get("kind") == "ref":
            return [r for p in parts for r in p]
        if not parts:
            info = self.channels[channel]
            return np.empty((0, *[max(int(x), 0) for x in info["shape"]]), dtype=np.dtype(info["dtype"]))
        if len({p.shape[1:] for p in parts}) == 1:
            return np.concatenate(parts)
        return [pt for p in parts for pt in p]

    def read_image(self, channel: str, index: int, timeout: float | None = None) -> np.ndarray:
        """Point `index` of an image channel, resolved from its reference: from the
        detector server's buffer while it holds that very frame, else from its file
        (core.data.images; FrameUnavailable when neither has it)."""
        from .images import read_frame

        if self.channels[channel].get("kind") != "ref":
            raise ValueError(f"scan {self.key}: {channel} is not an image (reference) channel")
        refs = self.read_all(channel, timeout=timeout)
        return read_frame(refs[index])


class SessionWatcher(_Retrying):
    """Announces the scans of a session: `next_scan()` blocks until a new one is created."""

    def __init__(self, connection: redis.Redis, session: str, from_now: bool = True,
                 reconnect_timeout: float = 30.0) -> None:
        super().__init__(connection, reconnect_timeout)
        self.session = session
        self._stream = layout.session_key(session)
        self._last: bytes | str = "0"
        if from_now:
            last = self._retry(self.redis.xrevrange, self._stream, count=1)
            self._last = last[0][0] if last else "0"

    def next_scan(self, timeout: float | None = None) -> ScanReader:
        """The reader of the next scan created in the session (TimeoutError after timeout)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            block = 1000 if deadline is None else max(1, int(1000 * min(1.0, deadline - time.monotonic())))
            reply = self._retry(self.redis.xread, {self._stream: self._last}, block=block, count=1)
            if reply:
                entry_id, fields = reply[0][1][0]
                self._last = entry_id
                return ScanReader(self.redis, fields[b"key"].decode(), self.reconnect_timeout)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"no new scan in session {self.session!r} within {timeout} s")


def recent_scans(connection: redis.Redis, session: str | None = None) -> list[str]:
    """Keys of the scans still in the data Redis, oldest first (optionally of one session)."""
    keys = [k.decode() for k in connection.zrange(layout.SCANS_INDEX, 0, -1)]
    if session is not None:
        keys = [k for k in keys if k.startswith(f"{session}-")]
    return keys
