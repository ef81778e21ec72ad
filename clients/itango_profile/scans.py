"""Scan commands of the shell, run by the session's ScanServer and followed live in Redis.

Each command turns its arguments into the ScanServer's strings, starts the scan (the
device returns the number at once), then follows the scan's data streams in the data
Redis (core.data), printing a progress bar and one table row per complete point, and
ends with the file path. Ctrl-C aborts the scan (AbortScan: motion stopped, file
closed) and returns to the prompt.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from blisstango.core.beacon import connection
from blisstango.core.data import ScanReader, SessionWatcher
from blisstango.core.scanning import peak as peak_math
from blisstango.core.scanning.table import ScanTable

from .display import StatusLine, progress
from .motion import command
from .objects import CounterClient, Session, ShellError

SCAN_TYPES = ("ct", "loopscan", "timescan", "ascan", "dscan", "a2scan", "d2scan",
              "amesh", "dmesh", "lookupscan", "anscan", "dnscan", "pointscan")


def to_tokens(args: Sequence[Any], options: dict[str, Any]) -> list[str]:
    """The ScanServer's string arguments: objects by (full) name, numbers as written, position
    lists as comma-separated numbers, `(axis, positions)` pairs flattened, options key=value."""
    out: list[str] = []

    def add(value: Any) -> None:
        if isinstance(value, CounterClient) or hasattr(value, "name") and not isinstance(value, str):
            # a counter of a controller by its full name (wago1:tc1): its name alone is
            # the controller's business
            out.append(str(getattr(value, "fullname", None) or value.name))
        elif isinstance(value, tuple):
            for v in value:
                add(v)
        elif isinstance(value, (list, np.ndarray)):
            if len(value) and all(isinstance(v, tuple) for v in value):   # lookupscan([(m0, [..]), ...])
                for v in value:
                    add(v)
            else:   # an empty list stays one (empty) argument, which the server names
                out.append(",".join(repr(float(v)) for v in value))
        elif isinstance(value, (bool, np.bool_)):
            out.append("true" if value else "false")
        elif isinstance(value, (int, float, np.integer, np.floating)):
            out.append(repr(float(value)) if isinstance(value, (float, np.floating)) else str(int(value)))
        else:
            out.append(str(value))

    for a in args:
        add(a)
    for key, value in options.items():
        out.append(f"{key}={value}")
    return out


#: scan type -> what each `(axis, ...)` tuple of its list holds
TUPLE_SHAPES = {"anscan": ("axis", "start", "stop"), "dnscan": ("axis", "start", "stop"),
                "lookupscan": ("axis", "positions")}


def _label(value: Any) -> str:
    return str(value.name) if hasattr(value, "name") and not isinstance(value, str) else repr(value)


def check_tuples(scan_type: str, args: Sequence[Any]) -> None:
    """The `[(m0, 0, 1), (m1, 0, 2)]` form is flattened for the ScanServer, which then
    cannot tell a short tuple from the next argument: each tuple's length is checked here."""
    shape = TUPLE_SHAPES.get(scan_type)
    if shape is None:
        return
    for arg in args:
        if not isinstance(arg, (list, tuple)):
            continue
        for item in arg:
            if isinstance(item, tuple) and len(item) != len(shape):
                raise ShellError(f"{scan_type}: ({', '.join(_label(v) for v in item)}) has {len(item)} values; "
                                 f"each axis needs ({', '.join(shape)})")


class LastScan:
    """The data of a finished scan, shaped for core.scanning.peak (get_data, name)."""

    def __init__(self, reader: ScanReader, number: int) -> None:
        self.reader = reader
        self.name = f"scan {number}"
        self._data: dict[str, np.ndarray] | None = None

    def get_data(self) -> dict[str, np.ndarray]:
        if self._data is None:
            channels = self.reader.channels
            self._data = {n: np.asarray(self.reader.read_all(n, timeout=10)) for n, c in channels.items()
                          if c.get("kind", "data") == "data" and not c.get("shape")}
        return self._data

    def channel_of(self, counter: Any) -> str | None:
        if counter is None:
            return None
        name = str(getattr(counter, "name", counter))
        data = self.get_data()
        if name in data:
            return name
        found = [n for n in data if n.split(":")[-1] == name]
        if not found:
            raise ShellError(f"{self.name} has no channel for counter {name!r}; "
                             f"channels: {', '.join(sorted(data))}")
        return found[0]


class LiveTable(ScanTable):
    """core's ScanTable printed as points arrive, with a progress line below the rows."""

    def __init__(self, channels: dict[str, dict], npoints: int) -> None:
        super().__init__(channels, npoints)
        self.status = StatusLine()

    def header(self) -> None:
        print(super().header())

    def add(self, channel: str, data: Any) -> None:
        rows = super().add(channel, data)
        if rows:
            self.status.clear()
            for row in rows:
                print(row)
        self.status.show(progress(self.printed, self.npoints))

    def close(self) -> None:
        self.status.clear()


class ScanCommands:
    """Runs scans of one session and keeps the last one for the alignment commands."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.last: LastScan | None = None
        self._redis = None

    @property
    def redis(self):
        if self._redis is None:
            self._redis = connection.get_redis("data")
        return self._redis

    def _find(self, watcher: SessionWatcher, number: int, timeout: float = 15.0) -> ScanReader:
        deadline = time.monotonic() + timeout
        while True:
            reader = watcher.next_scan(timeout=max(0.1, deadline - time.monotonic()))
            middle = reader.key[len(self.session.name) + 1:].rsplit("-", 1)[0]
            # an unsaved scan (ct, number 0) has no number in its key: the next one is ours
            if middle == str(number) or (number <= 0 and not middle.isdigit()):
                return reader

    def run(self, scan_type: str, args: Sequence[Any], options: dict[str, Any]) -> LastScan:
        check_tuples(scan_type, args)
        server = self.session.get_scan_server()
        tokens = to_tokens(args, options)
        watcher = SessionWatcher(self.redis, self.session.name, from_now=True)
        number = server.run(scan_type, tokens)
        try:
            reader = self._find(watcher, number)
            self.last = LastScan(reader, number)
            info = reader.info
            print(f"Scan {number} {info.get('title', scan_type)}  (key {reader.key})")
            table = LiveTable(reader.channels, int(info.get("npoints") or 0))
            table.header()
            try:
                for batch in reader.follow():
                    table.add(batch.channel, batch.data)
            finally:
                table.close()
            reader.wait_state("CLOSED", timeout=10)
        except KeyboardInterrupt:
            self._abort(server, number)
            return self.last
        info = reader.info
        reason = info.get("end_reason") or "SUCCESS"
        print(f"Scan {number} ended ({reason}), {table.printed} points")
        if info.get("error"):
            print(f"error: {info['error']}")
        if info.get("save", True) and info.get("filename"):
            print(f"file: {info['filename']}")
        return self.last

    def _abort(self, server, number: int) -> None:
        server.device.command_inout("AbortScan")
        reason = "USER_ABORT"
        if self.last is not None:
            try:
                self.last.reader.wait_state("CLOSED", timeout=1.5)
                reason = self.last.reader.info.get("end_reason") or reason
            except (TimeoutError, KeyError):
                pass
        print(f"\nScan {number} aborted by Ctrl-C ({reason})")

    # ---- alignment on the last scan
    def _last(self) -> LastScan:
        if self.last is None:
            raise ShellError("no scan was run yet in this shell")
        return self.last

    def align(self, fn: Callable, counter=None, axis=None) -> float:
        last = self._last()
        cname = last.channel_of(counter)
        aname = None if axis is None else str(getattr(axis, "name", axis))
        return float(fn(cname, aname, scan=last))

    def goto(self, fn: Callable, counter=None, axis=None) -> float:
        last = self._last()
        target = self.align(fn, counter, axis)
        name = str(getattr(axis, "name", axis)) if axis is not None else \
            next(n for n in last.get_data() if n.startswith("axis:")).split(":", 1)[1]
        ax = self.session.axes.get(name)
        if ax is None:
            raise ShellError(f"{last.name}: axis {name} is not an axis of session {self.session.name}")
        from .motion import motion_commands

        motion_commands(self.session)["umv"](ax, target)
        return target


class ScanSaving:
    """SCAN_SAVING of the session's ScanServer: read and set keys as attributes."""

    _KEYS = ("base_path", "template", "data_filename", "writer")

    def __init__(self, session: Session) -> None:
        object.__setattr__(self, "_session", session)

    def _values(self) -> dict:
        return self._session.get_scan_server().scan_saving

    def __getattr__(self, key: str) -> Any:
        values = self._values()
        if key not in values:
            raise AttributeError(f"SCAN_SAVING has no {key!r}; keys: {', '.join(sorted(values))}")
        return values[key]

    def __setattr__(self, key: str, value: Any) -> None:
        self._session.get_scan_server().scan_saving = {key: value}

    def get(self) -> dict:
        return self._values()

    def __repr__(self) -> str:
        values = self._values()
        width = max((len(k) for k in values), default=0)
        return "SCAN_SAVING\n" + "\n".join(f"  {k.ljust(width)} = {v!r}" for k, v in values.items())


class ActiveMG:
    """The active measurement group: `ACTIVE_MG` shows it, `ACTIVE_MG.set("name")` changes it."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @property
    def name(self) -> str:
        return self._session.get_scan_server().active_mg

    def set(self, name: Any) -> None:
        self._session.get_scan_server().active_mg = str(getattr(name, "name", name))

    def __repr__(self) -> str:
        return f"active measurement group: {self.name or '(none)'}"


def scan_commands(session: Session) -> dict[str, Any]:
    runner = ScanCommands(session)

    def make(scan_type: str) -> Callable:
        def scan(*args, **options):
            runner.run(scan_type, args, options)

        scan.__name__ = scan_type
        scan.__doc__ = f"{scan_type}(...): run by the ScanServer of session {session.name}, shown live"
        return command(scan) if scan_type == "ct" else scan

    cmds: dict[str, Any] = {t: make(t) for t in SCAN_TYPES}
    for name, fn in (("peak", peak_math.peak), ("cen", peak_math.cen), ("com", peak_math.com),
                     ("fwhm", peak_math.fwhm)):
        def align(counter=None, axis=None, _fn=fn):
            return runner.align(_fn, counter, axis)

        align.__name__ = name
        align.__doc__ = f"{name} of a counter (default: the first) along the last scan's axis"
        cmds[name] = align
    for name, fn in (("goto_peak", peak_math.peak), ("goto_cen", peak_math.cen), ("goto_com", peak_math.com)):
        def goto(counter=None, axis=None, _fn=fn):
            return runner.goto(_fn, counter, axis)

        goto.__name__ = name
        cmds[name] = goto

    def lastscan():
        """The last scan's data (LastScan.get_data() -> {channel: array})."""
        return runner.last

    cmds["last_scan"] = lastscan
    cmds["SCAN_SAVING"] = ScanSaving(session)
    cmds["ACTIVE_MG"] = ActiveMG(session)
    cmds["_scan_runner"] = runner
    return cmds


__all__ = ["scan_commands", "ScanCommands", "LastScan", "to_tokens", "check_tuples"]
