"""Publish a running scan to the data Redis: info, state stream, batched channel streams.

Acquisition never waits on Redis: points are buffered in memory and a flusher greenlet
sends every pending batch of every channel in one pipelined round trip per period
(`flush_period`, default 20 ms) or sooner when a buffer grows past `max_pending_bytes`.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
import weakref
from collections.abc import Iterable

import gevent
import gevent.event
import gevent.lock
import numpy as np
import redis

from ..comm.backoff import Backoff, retry
from . import encoding, layout

log = logging.getLogger(__name__)


class _ChannelBuffer:
    """Points waiting to be sent for one channel, and the running point count."""

    __slots__ = ("name", "dtype", "shape", "kind", "items", "sent", "pending", "nbytes", "sealed", "source",
                 "cursor")

    def __init__(self, name: str, dtype: np.dtype, shape: tuple, kind: str) -> None:
        self.name, self.dtype, self.shape, self.kind = name, dtype, shape, kind
        self.items: list = []  # np arrays (n points each) or lists of refs
        self.sent = 0  # points already turned into stream entries
        self.pending = 0
        self.nbytes = 0
        self.sealed = False
        self.source = None  # an AcquisitionChannel whose items are pulled at each flush
        self.cursor = 0

    def has_data(self) -> bool:
        return bool(self.items) or (self.source is not None and len(self.source.items) > self.cursor)

    def take_entries(self) -> list[dict]:
        """Turn pending items into stream entry fields (same-shape points grouped)."""
        if self.source is not None:
            blocks, self.cursor = self.source.blocks(self.cursor)
            entries = []
            for b in blocks:
                if self.kind == "ref":
                    entries.append(encoding.encode_refs(self.sent, b))
                    self.sent += len(b)
                else:
                    entries.append(encoding.encode_points(self.sent, b))
                    self.sent += b.shape[0]
            return entries
        items, self.items, self.pending, self.nbytes = self.items, [], 0, 0
        entries: list[dict] = []
        if self.kind == "ref":
            refs = [r for chunk in items for r in chunk]
            if refs:
                entries.append(encoding.encode_refs(self.sent, refs))
                self.sent += len(refs)
            return entries
        group: list[np.ndarray] = []
        for arr in items:
            if group and arr.shape[1:] != group[0].shape[1:]:
                entries.append(self._encode(group))
                group = []
            group.append(arr)
        if group:
            entries.append(self._encode(group))
        return entries

    def _encode(self, group: list[np.ndarray]) -> dict:
        points = group[0] if len(group) == 1 else np.concatenate(group)
        fields = encoding.encode_points(self.sent, points)
        self.sent += points.shape[0]
        return fields


#: the data Redis' maxmemory per connection pool: asked once per process, not per scan
_MAXMEMORY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class ScanPublisher:
    """Writes one scan to the data Redis; `create()` first, `close()` always at the end."""

    def __init__(
        self,
        connection: redis.Redis,
        session: str,
        info: dict,
        *,
        expiry: int = layout.DEFAULT_EXPIRY,
        memory_budget: int | None = None,
        flush_period: float = 0.02,
        max_pending_bytes: int = 1 << 20,
    ) -> None:
        self.redis = connection
        self.session = session
        number = info.get("scan_nb")
        self.key = f"{session}-{number if number is not None else 'x'}-{uuid.uuid4().hex[:8]}"
        self.info = dict(info, session=session, key=self.key, channels={})
        self.expiry = int(expiry)
        self.memory_budget = memory_budget
        self.flush_period = flush_period
        self.max_pending_bytes = max_pending_bytes
        self._buffers: dict[str, _ChannelBuffer] = {}
        self._retry: list[tuple[str, dict]] = []
        self._wake = gevent.event.Event()
        # one flush at a time: a flush still sending (a large batch yields on the socket)
        # must land before the next one, and before the seals close() writes
        self._flush_lock = gevent.lock.RLock()
        self._flusher: gevent.Greenlet | None = None
        self._closed = False
        self._unreachable = False  # a flush failed: said once, until one succeeds
        self.state: str | None = None
        #: states set with later=True, sent with the next round trip: [(state, time)]
        self._unsent_states: list[tuple[str, float]] = []
        self.redis_calls = 0  # round trips made, for the benchmark and the tests

    # ------------------------------------------------------------------ declaration
    def add_channel(self, name: str, dtype="float64", shape: Iterable[int] = (), unit: str | None = None,
                    kind: str = "data", **extra) -> None:
        """Declare a channel before `create()`; kind "ref" carries file+index references."""
        if self.state is not None:
            raise RuntimeError(f"scan {self.key}: channel {name!r} declared after create()")
        layout.channel_key(self.key, name)  # validates the name
        if name in self._buffers:
            raise ValueError(f"scan {self.key}: channel {name!r} declared twice")
        dt = np.dtype(dtype)
        shp = tuple(int(x) for x in shape)
        self._buffers[name] = _ChannelBuffer(name, dt, shp, kind)
        self.info["channels"][name] = dict(extra, dtype=dt.str, shape=list(shp), unit=unit, kind=kind)

    # ------------------------------------------------------------------ life cycle
    def create(self) -> str:
        """Write the info, announce the scan in the indexes, start the flusher: one round
        trip, which also reads the memory used (old scans go if over budget)."""
        budget = self._budget()
        now = time.time()
        self.info.setdefault("timings", {})["created"] = now
        self.info["state"] = "CREATED"
        p = self.redis.pipeline(transaction=False)
        p.set(layout.info_key(self.key), json.dumps(self.info), ex=self.expiry)
        p.xadd(layout.state_key(self.key), {"state": "CREATED", "time": now})
        p.expire(layout.state_key(self.key), self.expiry)
        self._announce(p, now)
        p.info("memory")
        used = int(p.execute()[-1]["used_memory"])
        self.redis_calls += 1
        self.state = "CREATED"
        if used > budget:
            self._enforce_budget(budget)
        self._flusher = gevent.spawn(self._flush_loop)
        return self.key

    def _announce(self, p, now: float) -> None:
        """The scan in the index of recent scans and its session's announcement stream."""
        p.zadd(layout.SCANS_INDEX, {self.key: now})
        p.zremrangebyscore(layout.SCANS_INDEX, "-inf", now - self.expiry)
        p.xadd(layout.session_key(self.session), {"key": self.key}, maxlen=1000, approximate=True)
        p.expire(layout.session_key(self.session), self.expiry)

    def _announce_again(self, with_state: bool) -> None:
        """The data Redis restarted during the scan (it keeps nothing): the scan's info,
        its current state and its announcements are written again, so writers and
        followers find it and its later points; what was sent before the restart and not
        yet read is lost (the writer names those points)."""
        log.warning("scan %s: the data Redis lost the scan (restarted?): announced again", self.key)
        p = self.redis.pipeline(transaction=False)
        now = time.time()
        if with_state:
            p.set(layout.info_key(self.key), json.dumps(self.info, default=str), ex=self.expiry)
            p.xadd(layout.state_key(self.key), {"state": self.state, "time": now})
            p.expire(layout.state_key(self.key), self.expiry)
        self._announce(p, now)
        self._robust(p.execute)
        self.redis_calls += 1

    def set_state(self, state: str, later: bool = False, background: bool = False, **info_updates) -> None:
        """Move the scan to a later state and update its info in the same round trip.
        later: no round trip now; the state goes with the next one (a scan's PREPARED
        with its STARTED: one round trip less before the first point). background: the
        flusher sends it, in order before any later point, once the work the hub has
        queued already has run; the caller does not wait for the reply (a scan's STARTED:
        its first point no longer waits ~0.5-1.5 ms for the data Redis)."""
        if self.state is None:
            raise RuntimeError(f"scan {self.key}: set_state({state}) before create()")
        if layout.state_rank(state) <= layout.state_rank(self.state):
            if state == self.state:
                return
            raise ValueError(f"scan {self.key}: state {state} cannot follow {self.state}")
        now = time.time()
        self.info.update(info_updates)
        self.info["state"] = state
        self.info.setdefault("timings", {})[state.lower()] = now
        if state in ("STOPPED", "CLOSED"):
            self.flush(final=True)
        if state == "CLOSED":
            self._seal_all()
        self.state = state
        self._unsent_states.append((state, now))
        if background and self._flusher is not None:
            # woken after what the hub has queued already (a scan's loops just spawned)
            gevent.get_hub().loop.run_callback(self._wake.set)
        elif not later:
            self._send_state()

    def update_info(self, **values) -> None:
        self.info.update(values)
        self._robust(lambda: self.redis.set(layout.info_key(self.key), json.dumps(self.info), ex=self.expiry))

    def close(self, **info_updates) -> None:
        """The end in one round trip: the last points, state STOPPED (unless it was sent),
        every channel's seal, the info and state CLOSED; stops the flusher. Safe to call
        twice."""
        if self._closed:
            return
        if self.state is None:
            raise RuntimeError(f"scan {self.key}: close() before create()")
        now = time.time()
        self.info.update(info_updates)
        timings = self.info.setdefault("timings", {})
        with self._flush_lock:  # (after a flush in flight, which must not take the end's states)
            ended = [(state, now) for state in ("STOPPED", "CLOSED")
                     if layout.state_rank(state) > layout.state_rank(self.state)]
            for state, _ in ended:
                timings[state.lower()] = now
            self.info["state"] = self.state = "CLOSED"
            early = list(self._unsent_states)  # (a STARTED the flusher has not sent yet)
            entries = self._take_entries()
            seals = [buf for buf in self._buffers.values() if not buf.sealed]

            def send():
                p = self.redis.pipeline(transaction=False)
                p.exists(layout.info_key(self.key))
                for state, t in early:  # before the points, as readers expect
                    p.xadd(layout.state_key(self.key), {"state": state, "time": t})
                self._add_entries(p, entries)
                for state, t in ended[:-1]:  # STOPPED before the seals
                    p.xadd(layout.state_key(self.key), {"state": state, "time": t})
                for buf in seals:
                    p.xadd(layout.channel_key(self.key, buf.name), encoding.encode_seal(buf.sent))
                p.set(layout.info_key(self.key), json.dumps(self.info, default=str), ex=self.expiry)
                for state, t in ended[-1:]:
                    p.xadd(layout.state_key(self.key), {"state": state, "time": t})
                p.expire(layout.state_key(self.key), self.expiry)
                known = p.execute()[0]
                self.redis_calls += 1
                return known

            if not self._robust(send):
                self._announce_again(with_state=False)
            self._unsent_states = []
            for buf in seals:
                buf.sealed = True
        self._closed = True
        if self._flusher is not None:
            self._wake.set()
            self._flusher.kill()

    # ------------------------------------------------------------------ data
    def attach(self, name: str, channel) -> None:
        """Publish what an AcquisitionChannel accumulates (its `items`, pulled at each
        flush: no per-point work on the acquisition side)."""
        buf = self._buffers[name]
        buf.source = channel
        buf.cursor = len(channel.items)

    def push(self, name: str, points: np.ndarray) -> None:
        """Queue points (first axis = point index) of a data channel."""
        buf = self._buffers[name]
        if buf.sealed:
            raise RuntimeError(f"scan {self.key}: channel {name!r} is sealed")
        buf.items.append(points)
        buf.pending += points.shape[0]
        buf.nbytes += points.nbytes
        if buf.nbytes > self.max_pending_bytes:
            self._wake.set()

    def push_refs(self, name: str, refs: list[dict]) -> None:
        """Queue references {"file": path, "index": frame} of a "ref" channel."""
        buf = self._buffers[name]
        buf.items.append(list(refs))
        buf.pending += len(refs)

    def seal(self, name: str) -> None:
        """No more points for this channel: flush it and write its seal entry."""
        buf = self._buffers[name]
        if buf.sealed:
            return
        self.flush(final=True)
        buf.sealed = True
        self._robust(lambda: self.redis.xadd(layout.channel_key(self.key, name),
                                             encoding.encode_seal(buf.sent)))

    def flush(self, final: bool = False) -> None:
        """Send every pending batch now, in one pipeline (after any flush in flight)."""
        with self._flush_lock:
            self._flush(final)

    def _take_entries(self) -> list[tuple[str, dict]]:
        """Every batch waiting to be sent (a failed one first), taken from the buffers."""
        entries = list(self._retry)
        self._retry = []
        for buf in self._buffers.values():
            if buf.has_data():
                entries.extend((buf.name, f) for f in buf.take_entries())
        return entries

    def _flush(self, final: bool) -> None:
        entries = self._take_entries()
        if not entries and not self._unsent_states:
            return
        try:
            self._send(entries)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._retry = entries
            if not self._unreachable:
                self._unreachable = True
                log.warning("scan %s: data Redis unreachable (%s): batches kept for retry", self.key, exc)
            if final:
                self._robust(lambda: self._send(self._retry))
                self._retry = []
            else:
                return
        if self._unreachable:
            self._unreachable = False
            log.warning("scan %s: data Redis reachable again, %d batches sent", self.key, len(entries))

    # ------------------------------------------------------------------ internals
    def _add_entries(self, p, entries: list[tuple[str, dict]]) -> None:
        touched = set()
        for name, fields in entries:
            ck = layout.channel_key(self.key, name)
            p.xadd(ck, fields)
            touched.add(ck)
        for ck in touched:
            p.expire(ck, self.expiry)

    def _send(self, entries: list[tuple[str, dict]]) -> None:
        """The states not sent yet (with the info), then the batches, in one round trip,
        which also tells whether the data Redis still holds the scan (else it is announced
        again)."""
        states = list(self._unsent_states)
        p = self.redis.pipeline(transaction=False)
        p.exists(layout.info_key(self.key))
        if states:
            self._add_states(p, states)
        self._add_entries(p, entries)
        known = p.execute()[0]
        self.redis_calls += 1
        del self._unsent_states[:len(states)]
        if not known and not self._closed:
            self._announce_again(with_state=True)

    def _add_states(self, p, states: list[tuple[str, float]]) -> None:
        p.set(layout.info_key(self.key), json.dumps(self.info, default=str), ex=self.expiry)
        for state, t in states:
            p.xadd(layout.state_key(self.key), {"state": state, "time": t})
        p.expire(layout.state_key(self.key), self.expiry)

    def _send_state(self) -> None:
        """The info and every state not sent yet, in one round trip (after the flusher's
        send in flight, which may carry some of them)."""
        with self._flush_lock:
            states = list(self._unsent_states)
            if not states:
                return

            def send():
                p = self.redis.pipeline(transaction=False)
                p.exists(layout.info_key(self.key))
                self._add_states(p, states)
                known = p.execute()[0]
                self.redis_calls += 1
                return known

            if not self._robust(send):
                self._announce_again(with_state=False)
            del self._unsent_states[:len(states)]

    def _seal_all(self) -> None:
        p = self.redis.pipeline(transaction=False)
        for buf in self._buffers.values():
            if not buf.sealed:
                buf.sealed = True
                p.xadd(layout.channel_key(self.key, buf.name), encoding.encode_seal(buf.sent))
        self._robust(p.execute)

    def _flush_loop(self) -> None:
        while True:
            self._wake.wait(self.flush_period)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # never let the flusher die mid-scan
                log.exception("scan %s: flush failed", self.key)

    def _robust(self, fn, timeout: float = 30.0):
        """Retry fn across a Redis restart or a dropped connection, up to timeout."""
        return retry(fn, (redis.ConnectionError, redis.TimeoutError), timeout, Backoff(first=0.05, longest=1.0))

    def _budget(self) -> int:
        """The memory budget: given, else 80 % of the server's maxmemory (so whole old scans
        go before Redis's own eviction picks random keys), at most 1 GB."""
        if self.memory_budget is not None:
            return int(self.memory_budget)
        budget = layout.DEFAULT_MEMORY_BUDGET
        pool = self.redis.connection_pool
        maxmemory = _MAXMEMORY.get(pool)
        if maxmemory is None:
            try:
                maxmemory = int(self.redis.config_get("maxmemory").get("maxmemory", 0))
            except (redis.ResponseError, ValueError):  # CONFIG disabled on this server
                maxmemory = 0
            _MAXMEMORY[pool] = maxmemory
        if maxmemory:
            budget = min(budget, int(0.8 * maxmemory))
        self.memory_budget = budget
        return budget

    def _enforce_budget(self, budget: int) -> None:
        """Delete the oldest scans (never this one) while the data Redis uses more than
        the budget."""
        used = budget + 1
        while used > budget:
            oldest = self.redis.zrange(layout.SCANS_INDEX, 0, 0)
            if not oldest or oldest[0].decode() == self.key:
                break
            delete_scan(self.redis, oldest[0].decode())
            used = int(self.redis.info("memory")["used_memory"])


def delete_scan(connection: redis.Redis, key: str) -> None:
    """Remove a scan's info, state and channel streams and its index entry."""
    raw = connection.get(layout.info_key(key))
    names = list(json.loads(raw).get("channels", {})) if raw else []
    keys = [layout.info_key(key), layout.state_key(key), layout.written_key(key)] + [
        layout.channel_key(key, n) for n in names]
    p = connection.pipeline(transaction=False)
    p.delete(*keys)
    p.zrem(layout.SCANS_INDEX, key)
    p.execute()
