"""Motion and listing commands of the shell: wa, wm, mv, umv, mvr, umvr, where, sync,
lsmot, lscnt, lsobj, lslock. Bound to one Session by `motion_commands(session)`."""

from __future__ import annotations

import fnmatch
import json
import time
from collections.abc import Callable
from typing import Any

import tango

from blisstango.core.motion.axis_proxy import AxisProxy
from blisstango.core.motion.errors import MotionError
from blisstango.core.motion.protocol import AxisProtocol, is_axis
from blisstango.core.motion.together import move_together

from .display import StatusLine, columns, fmt, table
from .objects import Session, ShellError


def command(fn: Callable) -> Callable:
    """Mark fn as a shell command: a bare `wa` on the command line calls it."""
    fn._autocall = True
    return fn


def _pairs(session: Session, args: tuple, what: str) -> list[tuple[AxisProtocol, float]]:
    if not args or len(args) % 2:
        raise ShellError(f"{what}: give axis, position pairs (got {len(args)} arguments)")
    pairs = []
    for axis, value in zip(args[::2], args[1::2]):
        if isinstance(axis, str):
            axis = session.axes.get(axis) or axis
        if not is_axis(axis):
            raise ShellError(f"{what}: {axis!r} is not an axis of session {session.name}")
        try:
            pairs.append((axis, float(value)))
        except (TypeError, ValueError):
            raise ShellError(f"{what}: {axis.name}: position {value!r} is not a number") from None
    return pairs


def start_moves(pairs: list[tuple[AxisProtocol, float]], relative: bool) -> list[AxisProtocol]:
    """Start every motion: axes of one AxisManager together (GroupMove checks them all
    first); if one is refused, those already started are stopped and the error raised."""
    return move_together([(ax, pos + ax.position if relative else pos) for ax, pos in pairs])


def _quiet_stop(ax: AxisProtocol) -> None:
    try:
        ax.stop(wait=False)
    except MotionError:
        pass


def wait_all(axes: list[AxisProtocol], on_tick: Callable[[], None] | None = None) -> None:
    """Wait for every axis; Ctrl-C stops them all (then the interrupt goes on)."""
    try:
        while any(ax.is_moving for ax in axes):
            if on_tick:
                on_tick()
            time.sleep(0.02)
    except KeyboardInterrupt:
        for ax in axes:
            _quiet_stop(ax)
        for ax in axes:
            ax.wait_move(timeout=5)
        raise
    if on_tick:
        on_tick()
    failed = [ax for ax in axes if ax.state == "FAULT"]
    if failed:
        raise ShellError("; ".join(f"{ax.name}: {ax.status.strip()}" for ax in failed))


class PositionWatch:
    """Latest Position of several axes from their change events (pull model: the events
    queue in the proxy and are read here, no callback thread touches the shell)."""

    def __init__(self, axes: list[AxisProtocol]) -> None:
        self.values = {ax.name: ax.position for ax in axes}
        self._subs: list[tuple[Any, int]] = []
        self._read: list[AxisProtocol] = []      # axes without events: read instead
        for ax in axes:
            device = ax.device if isinstance(ax, AxisProxy) else None
            try:
                if device is None:
                    raise LookupError(ax.name)  # not a Tango axis: read it instead
                sub = device.subscribe_event("Position", tango.EventType.CHANGE_EVENT, 1000)
            except (tango.DevFailed, LookupError):
                self._read.append(ax)
                continue
            self._subs.append((ax, sub))

    def poll(self) -> dict[str, float]:
        for ax in self._read:
            self.values[ax.name] = ax.position
        for ax, sub in self._subs:
            for ev in ax.device.get_events(sub):
                if not ev.err and ev.attr_value is not None and ev.attr_value.value is not None:
                    self.values[ax.name] = float(ev.attr_value.value)
        return self.values

    def close(self) -> None:
        for ax, sub in self._subs:
            try:
                ax.device.unsubscribe_event(sub)
            except tango.DevFailed:
                pass


def motion_commands(session: Session) -> dict[str, Callable]:
    axes = session.axes

    def _axes(names: tuple) -> list[AxisProtocol]:
        if not names:
            return list(axes.values())
        out = []
        for a in names:
            found = a if is_axis(a) else axes.get(str(a))
            if found is None:
                raise ShellError(f"{a!r} is not an axis of session {session.name}")
            out.append(found)
        return out

    def _read(ax: AxisProtocol) -> tuple[Any, Any, str]:
        try:
            return ax.position, getattr(ax, "dial", "-"), ax.unit or ""
        except MotionError as exc:
            return "!ERR", type(exc).__name__, ""

    @command
    def wa() -> None:
        """Where all: user and dial positions of every axis of the session."""
        rows = [(ax.name, *_read(ax)) for ax in axes.values()]
        print(f"Current positions (user, dial) of session {session.name}:")
        print(table(("axis", "user", "dial", "unit"), [(n, u, d, un) for n, u, d, un in rows]))

    @command
    def wm(*names) -> None:
        """Where motor(s): positions and limits in user and dial units."""
        rows = []
        for ax in _axes(names):
            low, high = ax.limits
            sign, offset = ax.sign, ax.offset
            dial_lims = sorted(((low - offset) * sign, (high - offset) * sign))
            rows.append((ax.name, ax.unit or "", high, ax.position, low, dial_lims[1], ax.dial,
                         dial_lims[0], offset))
        print(table(("axis", "unit", "user high", "user", "user low", "dial high", "dial",
                     "dial low", "offset"), rows, align_left=2))

    @command
    def where() -> None:
        """Current positions of the session's axes on one line."""
        print("  ".join(f"{ax.name}={fmt(ax.position)}" for ax in axes.values()))

    @command
    def sync(*names) -> None:
        """Read the axes afresh from their devices (no client cache)."""
        for ax in _axes(names):
            print(f"{ax.name}: {fmt(ax.sync_hard())} {ax.unit or ''}  {ax.state}")

    def _move(args: tuple, relative: bool, live: bool, what: str) -> None:
        pairs = _pairs(session, args, what)
        moving = start_moves(pairs, relative)
        if not live:
            wait_all(moving)
            return
        watch = PositionWatch(moving)
        line = StatusLine()
        names = [ax.name for ax in moving]

        def tick():
            values = watch.poll()
            line.show("  ".join(f"{n} {fmt(values[n])}" for n in names))

        try:
            wait_all(moving, on_tick=tick)
            values = {ax.name: ax.position for ax in moving}
            line.done("  ".join(f"{n} {fmt(values[n])}" for n in names))
        except BaseException:
            line.done()
            raise
        finally:
            watch.close()

    @command
    def mv(*args) -> None:
        """mv(m0, 1, m1, 2): move absolute, wait for the end."""
        _move(args, False, False, "mv")

    @command
    def mvr(*args) -> None:
        """mvr(m0, 0.5): move relative, wait for the end."""
        _move(args, True, False, "mvr")

    @command
    def umv(*args) -> None:
        """umv(m0, 1): move absolute and show the positions live until the end."""
        _move(args, False, True, "umv")

    @command
    def umvr(*args) -> None:
        """umvr(m0, 0.5): move relative and show the positions live until the end."""
        _move(args, True, True, "umvr")

    @command
    def lsmot() -> None:
        """Names of the session's axes."""
        print(columns(sorted(axes)))

    @command
    def lscnt() -> None:
        """The session's counters."""
        rows = [(c.name, c.config.get("class", ""), c.unit or "") for c in session.counters.values()]
        print(table(("counter", "class", "unit"), sorted(rows)))

    @command
    def lsobj(pattern: str = "*") -> None:
        """Names of the session's objects matching a shell pattern."""
        names = [n for n in session.objects if fnmatch.fnmatch(n, str(pattern))]
        if session.scan_server is not None and fnmatch.fnmatch("scan_server", str(pattern)):
            names.append("scan_server")
        print(columns(sorted(names)))

    @command
    def lslock(*names) -> None:
        """Who holds a lock on which object (Beacon WhoLocked)."""
        wanted = [str(n) for n in names]
        holders = json.loads(session.beacon.WhoLocked(wanted))
        if not holders:
            print("no object is locked")
            return
        print(table(("object", "locked by"), sorted(holders.items())))

    return dict(wa=wa, wm=wm, where=where, sync=sync, mv=mv, mvr=mvr, umv=umv, umvr=umvr,
                lsmot=lsmot, lscnt=lscnt, lsobj=lsobj, lslock=lslock)
