"""Write one scan from the data Redis into its dataset file, resumably.

The number of points of a channel in the file is the length of its dataset and nothing
else: a writer (re)started at any time reads each channel from the data Redis starting
at exactly that index, so a killed and restarted writer ends with the same file as an
uninterrupted one. A new file gets its name only once its first flush is complete
(HDF5 orders metadata writes in SWMR mode only: a kill before that flush may leave a
root group nobody can read). Points are appended as they arrive and the file is flushed every
`flush_period` in SWMR mode, so readers opening it with `swmr=True` see the scan grow.
"""

from __future__ import annotations

import enum
import logging
import os
import re
import time
from collections.abc import Callable

import gevent
import h5py
import numpy as np
import redis

from ..reader import Batch, ScanReader
from . import entry as nxentry
from .h5files import abandon, creating_path, open_for_write, rewrite_without, unreadable
from .naming import places

log = logging.getLogger(__name__)


class WriteState(enum.StrEnum):
    PENDING = "PENDING"
    WRITING = "WRITING"
    FINISHING = "FINISHING"
    DONE = "DONE"          # entry complete in the file
    SKIPPED = "SKIPPED"    # not to be saved (save False, writer not nexus, no filename)
    FAULT = "FAULT"        # the file could not be written: see .error


class ScanWriteError(Exception):
    """A scan cannot be written to its file (message names the file and the cause)."""


class ScanAbandoned(Exception):
    """Raised into a writer whose scan stopped sending data and never closed (its
    publisher died) while a newer scan waits for the same file."""


def wants_nexus(info: dict) -> bool:
    return bool(info.get("save", True)) and info.get("writer", "nexus") in ("nexus", "hdf5") and bool(
        info.get("filename")) and info.get("scan_nb") is not None


class ScanWriter:
    """Writes the scan read by `reader`; run() returns when the entry is complete, the
    scan is not to be saved, or the file failed (state FAULT, error says why)."""

    def __init__(self, reader: ScanReader, *, filename_map: Callable[[str], str] | None = None,
                 flush_period: float = 0.1, redis_retry: float = 1.0, info_timeout: float = 30.0) -> None:
        self.reader = reader
        self.key = reader.key
        self.filename_map = filename_map
        self.flush_period = flush_period
        self.redis_retry = redis_retry
        self.info_timeout = info_timeout  # how long a scan lost with a restarted Redis is waited for
        self.state = WriteState.PENDING
        self.error: str | None = None
        self.filename: str | None = None
        self.entry: str | None = None
        self.progress: dict[str, int] = {}
        #: channel -> ranges of points the data Redis lost ("3-7"), named when the entry is finished
        self.lost: dict[str, list[str]] = {}
        self.points_written = 0  # appended by this writer (for rates)
        self.started = self.ended = None
        self.swmr = False
        self.found_complete = False  # the entry was already complete: nothing to do
        self.last_activity = time.monotonic()  # last point received (for stall detection)
        self._file: h5py.File | None = None
        self._creating: str | None = None  # the new file's name until its first flush
        self._dirty = False
        self._flush_error: Exception | None = None  # the flusher's, raised by the writing loop

    # ------------------------------------------------------------------ public
    def run(self) -> WriteState:
        self.started = time.monotonic()
        try:
            while True:
                try:
                    self._run_once()
                    break
                except (redis.ConnectionError, redis.TimeoutError) as exc:
                    log.warning("scan %s: data Redis unreachable (%s); resuming from the file", self.key, exc)
                    self._close()
                    gevent.sleep(self.redis_retry)
        except ScanAbandoned as exc:
            self._close()
            self._finish_abandoned(str(exc))
        except KeyError as exc:  # the scan expired or was deleted from the data Redis
            self._fail(f"{self.filename or self.key}: {exc.args[0] if exc.args else exc}")
        except (OSError, ScanWriteError, ValueError, RuntimeError) as exc:
            if _is_os_failure(exc):  # a write the OS refused: HDF5 must not retry it at close
                self._close(abandon_file=True)
            self._fail(_describe(exc, self.filename))
        finally:
            self._close()
            self.ended = time.monotonic()
        return self.state

    @property
    def done(self) -> bool:
        return self.state in (WriteState.DONE, WriteState.SKIPPED, WriteState.FAULT)

    def as_dict(self) -> dict:
        return {"scan": self.key, "file": self.filename, "entry": self.entry, "state": self.state.value,
                "error": self.error, "points": dict(self.progress), "swmr": self.swmr}

    # ------------------------------------------------------------------ steps
    def _run_once(self) -> None:
        info = self.reader.wait_info(self.info_timeout)
        if not wants_nexus(info):
            self.state = WriteState.SKIPPED
            return
        raw = str(info["filename"])
        self.filename = self.filename_map(raw) if self.filename_map else raw
        self.entry = nxentry.entry_name(info)
        self._creating = None
        if not os.path.exists(self.filename):  # written under another name until its first flush
            self._creating = creating_path(self.filename)
            if os.path.exists(self._creating):  # an attempt of a killed writer: never published
                os.remove(self._creating)
        self._file = open_for_write(self._creating or self.filename)
        self._drop_if_damaged(info)
        group = self._file.get(self.entry)
        if group is not None and "scan_key" not in group.attrs:  # skeleton cut short by a kill
            del self._file[self.entry]
            group = None
        if group is None:
            group = nxentry.create_skeleton(self._file, info)
        elif group.attrs.get("scan_key") != info["key"]:
            raise ScanWriteError(f"{self.filename}: entry {self.entry} already holds scan "
                                 f"{group.attrs.get('scan_key')!r}, not {info['key']!r}")
        elif nxentry.is_complete(group):
            self._progress_from(group, info)
            self.found_complete = True
            self.state = WriteState.DONE
            return
        self.state = WriteState.WRITING
        self.last_activity = time.monotonic()
        self._stream(info)
        self._close_checked()
        self.state = WriteState.FINISHING
        self.reader.wait_state("CLOSED")
        final = self.reader.info
        self._file = open_for_write(self.filename)
        self._name_lost(final)
        nxentry.finalize(self._file, final)
        self._close_checked()
        self.state = WriteState.DONE

    def _drop_if_damaged(self, info: dict) -> None:
        """An entry of this scan that a writer killed outside SWMR mode left unreadable is
        dropped from the file (other entries kept as they are), to be written again from
        point 0 of the data Redis; an entry of another scan is never touched."""
        damage = unreadable(self._file, self.entry)
        if damage is None:
            return
        try:
            owner = self._file[self.entry].attrs.get("scan_key")
        except (KeyError, OSError, RuntimeError, ValueError):
            owner = None  # its header is what was not written: only a writer of this entry did that
        if owner is not None and owner != info["key"]:
            raise ScanWriteError(f"{self.filename}: entry {self.entry} of scan {owner!r} is damaged "
                                 f"({damage}); not replaced by scan {info['key']!r}")
        self._close()
        rewrite_without(self.filename, self.entry)
        log.warning("%s: entry %s cannot be read (%s), as a writer killed outside SWMR mode leaves it: "
                    "dropped, the file's other entries kept, and written again from point 0 of scan %s",
                    self.filename, self.entry, damage, self.key)
        self._file = open_for_write(self.filename)

    def _progress_from(self, group: h5py.Group, info: dict) -> dict[str, h5py.Dataset]:
        """The dataset holding the point count of each channel; fills self.progress."""
        counters = {}
        for ch, place in places(info["channels"]).items():
            ds = group[place.group + "/ref_index"] if place.kind == "ref" else group[place.dataset]
            counters[ch] = ds
            self.progress[ch] = int(ds.shape[0])
        return counters

    def _stream(self, info: dict) -> None:
        group = self._file[self.entry]
        where = places(info["channels"])
        self._progress_from(group, info)
        for place in where.values():  # a killed writer may leave the ref columns unequal
            if place.kind == "ref":
                g = group[place.group]
                n = min(g[k].shape[0] for k in ("ref_file", "ref_index", "ref_path"))
                for k in ("ref_file", "ref_index", "ref_path"):
                    g[k].resize((n,))
                self.progress[place.channel] = n
        try:
            self._file.swmr_mode = True
            self.swmr = True
        except (ValueError, RuntimeError, OSError) as exc:  # an old-format file: flush mode
            log.info("%s: SWMR not possible (%s): readers must reopen the file to see new points",
                     self.filename, exc)
        if self._creating:
            self._file.flush()
            os.replace(self._creating, self.filename)
            self._creating = None
        start = dict(self.progress)
        self._flush_error = None
        flusher = gevent.spawn(self._flush_loop)
        try:
            for batch in self.reader.follow(list(where), timeout=None):
                if self._flush_error is not None:
                    raise self._flush_error
                data = _after(batch, start[batch.channel])
                if data is None:
                    continue
                first = max(batch.first, start[batch.channel])
                place = where[batch.channel]
                if first > self.progress[batch.channel] and place.kind != "ref":
                    self._mark_lost(group[place.dataset], batch.channel, first)
                if first != self.progress[batch.channel]:
                    raise ScanWriteError(f"{self.filename}: channel {batch.channel} jumps from point "
                                         f"{self.progress[batch.channel]} to {first} in the data Redis")
                if place.kind == "ref":
                    self._append_refs(group[place.group], data)
                else:
                    self._append(group[place.dataset], data)
                self.progress[batch.channel] += len(data)
                self.last_activity = time.monotonic()
                self.points_written += len(data)
                self._dirty = True
        finally:
            flusher.kill()
        if self._flush_error is not None:
            raise self._flush_error

    def _finish_abandoned(self, why: str) -> None:
        """Close the entry with the points received; end_reason FAILURE, error = why."""
        info = self.reader.info
        timings = info.get("timings") or {}
        info.update(end_reason="FAILURE", error=why, end_time=max(
            [v for v in timings.values() if isinstance(v, int | float)], default=None))
        self._file = open_for_write(self.filename)
        self._name_lost(info)
        nxentry.finalize(self._file, info)
        self._close()
        self.state = WriteState.DONE
        self.error = why
        log.warning("scan %s: %s", self.key, why)

    def _mark_lost(self, ds: h5py.Dataset, channel: str, first: int) -> None:
        """Points the data Redis lost before this writer read them (a restart of that Redis,
        which keeps nothing): written as NaN (0 for integers) so the later points keep their
        index, and named in the log now and in the dataset's `lost_points` attribute when
        the entry is finished (SWMR mode allows no new attribute)."""
        start = self.progress[channel]
        fill = np.nan if ds.dtype.kind in "fc" else 0
        self._append(ds, np.full((first - start, *ds.shape[1:]), fill, dtype=ds.dtype))
        lost = f"{start}-{first - 1}"
        self.lost.setdefault(channel, []).append(lost)
        log.warning("%s: channel %s: points %s were lost with the data Redis before they were written",
                    self.filename, channel, lost)
        self.progress[channel] = first

    def _name_lost(self, info: dict) -> None:
        """The `lost_points` attribute ("0-14,80-82") of every dataset that has lost points."""
        where = places(info["channels"])
        for channel, ranges in self.lost.items():
            self._file[self.entry][where[channel].dataset].attrs["lost_points"] = ",".join(ranges)

    def _append(self, ds: h5py.Dataset, data: np.ndarray) -> None:
        n, k = ds.shape[0], data.shape[0]
        shape = (n + k, *(max(a, b) for a, b in zip(ds.shape[1:], data.shape[1:])))
        ds.resize(shape)
        ds[(slice(n, n + k), *(slice(0, s) for s in data.shape[1:]))] = data

    def _append_refs(self, group: h5py.Group, refs: list[dict]) -> None:
        n, k = group["ref_index"].shape[0], len(refs)
        columns = {"ref_file": [str(r["file"]) for r in refs],
                   "ref_index": np.array([int(r["index"]) for r in refs], dtype="i8"),
                   "ref_path": [str(r.get("path", nxentry.DEFAULT_IMAGE_PATH)) for r in refs]}
        for name, values in columns.items():
            group[name].resize((n + k,))
            group[name][n:n + k] = values

    def _flush_loop(self) -> None:
        while True:
            gevent.sleep(self.flush_period)
            if self._dirty and self._file is not None:
                self._dirty = False
                try:
                    self._file.flush()
                except Exception as exc:  # a full disk: raised by the writing loop at its next batch
                    self._flush_error = exc
                    if _is_os_failure(exc):  # at once: a second flush of the file would fail for good
                        self._close(abandon_file=True)
                    return

    def _close_checked(self) -> None:
        """Flush, then close; raises when either fails (the scan is FAULT, not DONE). A
        flush the OS refuses abandons the file first: HDF5 must not retry it at close."""
        f = self._file
        if f is None:
            return
        try:
            f.flush()
        except Exception as exc:
            if _is_os_failure(exc):
                self._close(abandon_file=True)
            raise
        self._file = None
        f.close()

    def _close(self, abandon_file: bool = False) -> None:
        f, self._file = self._file, None
        if f is not None:
            try:
                abandon(f) if abandon_file else f.close()
            except Exception as exc:
                log.error("%s: closing failed: %s", self.filename, exc)

    def _fail(self, message: str) -> None:
        self.state = WriteState.FAULT
        self.error = message
        log.error("scan %s: %s", self.key, message)


def _after(batch: Batch, start: int):
    """The part of a batch at or after point index `start` (None when nothing is left)."""
    skip = start - batch.first
    if skip <= 0:
        return batch.data
    if skip >= batch.count:
        return None
    return batch.data[skip:]


_HDF5_OS_ERROR = re.compile(r"errno = (\d+), error message = '([^']*)'")


def _is_os_failure(exc: Exception) -> bool:
    """The OS refused a read or write of the file (HDF5 names the errno in its text)."""
    return (isinstance(exc, OSError) and exc.errno is not None) or bool(_HDF5_OS_ERROR.search(str(exc)))


def _describe(exc: Exception, filename: str | None) -> str:
    """'<file>: <OS error>' — HDF5's long write-failure text reduced to its errno and message."""
    text = str(exc)
    found = _HDF5_OS_ERROR.search(text)
    if found:
        text = f"[Errno {found.group(1)}] {found.group(2)} (HDF5: {text.split('(', 1)[0].strip()})"
    return f"{filename}: {text}" if filename and filename not in text else text
