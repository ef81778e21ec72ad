"""Follow the scans of every session (or of the listed ones) and write each into its file.

Scans are discovered through the index of recent scans (`scans`, polled: any session,
new ones included) and the `scans:<session>` announcement streams (no delay); at start
the whole index is read, so a restarted writer finishes the scans it left half written.
Scans of one file are written one after the other; scans of different files in parallel
greenlets. A Redis outage only
delays the writing: every loop retries, and scan writers resume from their files.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

import gevent
import gevent.event
import gevent.lock
import redis

from .. import layout
from ..reader import ScanReader
from .h5files import unfreed
from .scan_writer import ScanAbandoned, ScanWriter, WriteState

log = logging.getLogger(__name__)


class WriterService:
    """state: "ON" (idle), "RUNNING" (a scan is being written), "FAULT" (the last scan
    that ended failed to be written; cleared by the next one written)."""

    def __init__(self, connection: redis.Redis, sessions: Iterable[str] | None = None, *,
                 filename_map: Callable[[str], str] | None = None, flush_period: float = 0.1,
                 keep: int = 100, catch_up: bool = True, stall_timeout: float = 30.0) -> None:
        self.redis = connection
        self.sessions = sorted(sessions) if sessions else None
        self.filename_map = filename_map
        self.flush_period = flush_period
        self.keep = keep
        self.catch_up = catch_up
        self.stall_timeout = stall_timeout
        self._holder: dict[str, ScanWriter] = {}
        self._waiting: dict[str, int] = {}
        self.writers: OrderedDict[str, ScanWriter] = OrderedDict()
        self.scans_written = 0
        self.last_error: str | None = None
        self.redis_error: str | None = None
        self._file_locks: dict[str, gevent.lock.Semaphore] = {}
        self._tasks: dict[str, gevent.Greenlet] = {}
        self._main: gevent.Greenlet | None = None
        self._last_ids: dict[str, bytes | str] = {}
        self.ready = gevent.event.Event()  # set once the first catch-up is under way
        self.listeners: list[Callable[[], None]] = []  # called on every change of state

    # ------------------------------------------------------------------ life cycle
    def start(self) -> WriterService:
        self._main = gevent.spawn(self._follow)
        return self

    def stop(self) -> None:
        if self._main is not None:
            self._main.kill()
        gevent.killall(list(self._tasks.values()))
        self._tasks.clear()

    # ------------------------------------------------------------------ status
    @property
    def active(self) -> list[ScanWriter]:
        return [w for w in self.writers.values() if w.state in (WriteState.WRITING, WriteState.FINISHING)]

    @property
    def state(self) -> str:
        if self.last_error:
            return "FAULT"
        return "RUNNING" if self.active else "ON"

    @property
    def status(self) -> str:
        lines = []
        if self.last_error:
            lines.append(f"Writing failed: {self.last_error}")
        for w in self.active:
            lines.append(f"Writing scan {w.key} into {w.filename} ({w.entry}): "
                         f"{min(w.progress.values(), default=0)} points")
        if self.redis_error:
            lines.append(f"Data Redis unreachable: {self.redis_error}")
        if not lines:
            lines.append(f"Waiting for scans of {', '.join(self.sessions) if self.sessions else 'every session'}; "
                         f"{self.scans_written} scans written")
        return "\n".join(lines)

    @property
    def must_restart(self) -> str | None:
        """Why this process should be restarted now (None: it should not): HDF5 could not
        free a file after a failed write and no scan is being written (docs/crashes.md)."""
        files = unfreed()
        if not files or self.active:
            return None
        return (f"HDF5 could not free {', '.join(files)} after its write failed; a new process writes "
                f"the next files with a clean HDF5 library")

    @property
    def current(self) -> ScanWriter | None:
        """The scan being written (the latest started), else the last one handled."""
        active = self.active
        if active:
            return active[-1]
        done = [w for w in self.writers.values() if w.state is not WriteState.SKIPPED]
        return done[-1] if done else None

    def progress(self) -> dict:
        return {key: w.as_dict() for key, w in self.writers.items() if w.state is not WriteState.SKIPPED}

    def wait_scan(self, key: str, timeout: float | None = None) -> ScanWriter:
        """Block until the scan `key` is handled (for tests and tools)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            w = self.writers.get(key)
            if w is not None and w.done:
                return w
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"scan {key} not written within {timeout} s "
                                   f"(state {w.state.value if w else 'unknown'})")
            gevent.sleep(0.05)

    # ------------------------------------------------------------------ internals
    def _notify(self) -> None:
        for fn in list(self.listeners):
            try:
                fn()
            except Exception:
                log.exception("writer listener failed")

    def _follow(self) -> None:
        """New scans come from the `scans` index (every session, polled) and, with no
        polling delay, from the announcement streams of the sessions already seen."""
        last_score: float | None = None
        for session in self.sessions or ():
            self._last_ids[layout.session_key(session)] = "$"
        while True:
            try:
                if last_score is None:
                    last_score = float("-inf")
                    if not self.catch_up:
                        top = self.redis.zrevrange(layout.SCANS_INDEX, 0, 0, withscores=True)
                        last_score = top[0][1] if top else last_score
                    for stream in self._last_ids:
                        self._last_ids[stream] = self._last_id(stream)
                catching_up = last_score == float("-inf")  # the whole index: skip what was written
                found = self.redis.zrangebyscore(layout.SCANS_INDEX, last_score, "+inf", withscores=True)
                done = self._written([raw.decode() for raw, _ in found]) if catching_up else [False] * len(found)
                for (raw, score), written in zip(found, done):
                    last_score = max(last_score, score)
                    if not written:
                        self._found(raw.decode())
                self.ready.set()
                self._abandon_stalled()
                reply = self.redis.xread(dict(self._last_ids), block=200, count=100) if self._last_ids \
                    else gevent.sleep(0.2)
                if self.redis_error:
                    self.redis_error = None
                    self._notify()
                for stream, entries in reply or []:
                    name = stream.decode() if isinstance(stream, bytes) else stream
                    for entry_id, fields in entries:
                        self._last_ids[name] = entry_id
                        self._found(fields[b"key"].decode())
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if self.redis_error is None:
                    log.warning("data Redis unreachable: %s", exc)
                    self.redis_error = str(exc)
                    self._notify()
                gevent.sleep(0.5)

    def _abandon_stalled(self) -> None:
        """A scan whose publisher died never closes: once a newer scan waits for its file
        and it had no data for stall_timeout, close its entry with what it received."""
        now = time.monotonic()
        for path, w in list(self._holder.items()):
            if not self._waiting.get(path) or now - w.last_activity < self.stall_timeout:
                continue
            if w.state not in (WriteState.WRITING, WriteState.FINISHING):
                continue
            try:
                if w.reader.state in ("STOPPED", "CLOSED"):
                    continue  # still finishing normally
            except KeyError:
                pass  # expired from the data Redis: it will never end either
            task = self._tasks.get(w.key)
            if task is not None:
                task.kill(ScanAbandoned(f"scan {w.key} sent no data for {now - w.last_activity:.0f} s and never "
                                        f"ended, and a newer scan waits for {path}: closed with the points "
                                        f"received"), block=False)

    def _written(self, keys: list[str]) -> list[bool]:
        """Which scans a writer already finished (one round trip): a restarted writer
        catching up on the index skips them instead of opening their file once each
        (1190 scans in one file took it over a minute to reach the newest)."""
        if not keys:
            return []
        p = self.redis.pipeline(transaction=False)
        for k in keys:
            p.exists(layout.written_key(k))
        return [bool(n) for n in p.execute()]

    def _last_id(self, stream: str):
        last = self.redis.xrevrange(stream, count=1)
        return last[0][0] if last else "0"

    def _found(self, key: str) -> None:
        session = key.rsplit("-", 2)[0]
        if self.sessions is not None and session not in self.sessions:
            return
        stream = layout.session_key(session)
        if stream not in self._last_ids:
            self._last_ids[stream] = self._last_id(stream)
        self._spawn(key)

    def _spawn(self, key: str) -> None:
        if key in self.writers:
            return
        writer = ScanWriter(ScanReader(self.redis, key, reconnect_timeout=3600.0),
                            filename_map=self.filename_map, flush_period=self.flush_period)
        self.writers[key] = writer
        while len(self.writers) > self.keep:
            old = next(iter(self.writers))
            if not self.writers[old].done:
                break
            del self.writers[old]
        self._tasks[key] = gevent.spawn(self._write, writer)

    def _write(self, writer: ScanWriter) -> None:
        try:
            info = writer.reader.wait_info(self.stall_timeout)
        except KeyError:
            writer.state = WriteState.SKIPPED
            self._tasks.pop(writer.key, None)
            return
        path = str(info.get("filename") or "")
        lock = self._file_locks.setdefault(path, gevent.lock.Semaphore())
        self._waiting[path] = self._waiting.get(path, 0) + 1
        with lock:
            self._waiting[path] -= 1
            self._holder[path] = writer
            self._notify()
            writer.run()
            self._holder.pop(path, None)
        self._tasks.pop(writer.key, None)
        if writer.state is WriteState.DONE:
            if not writer.found_complete:
                self.scans_written += 1
            self.last_error = None
            try:
                self.redis.set(layout.written_key(writer.key), writer.filename or "", ex=layout.DEFAULT_EXPIRY)
            except (redis.ConnectionError, redis.TimeoutError):
                pass  # only a shortcut for a later catch-up: that one opens the file instead
        elif writer.state is WriteState.FAULT:
            self.last_error = writer.error
        self._notify()
