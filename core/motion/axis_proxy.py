"""AxisProxy: an AxisManager axis used from another process, through Tango: the one
remote axis (core.motion.protocol.AxisProtocol), for the ScanServer, the shell and any
client. Built by the session resolver (`session_client`, the AxisManager's
ServerKind.clients).

What a ScanServer needs for the session's exported axes, per scan point: one request.
A move waited for is the manager's GroupMoveWait (`group_move`, also for several axes of
one manager: core.motion.together): the server waits up to 20 ms for the end, so a short
step is one round trip; a motion predicted to last longer is answered at once and waited
for with a green WaitMove (the hub runs on meanwhile). The position after the move comes
from the final Position event. The shell's
vocabulary (dial, offset, sign, limits, SetPosition, sync) is here too. Every Tango error becomes a
MotionError/LimitError naming the axis. While a scan holds the axis' Beacon lock
(`owner` set, changeable per scan), moves go through the manager's GroupMove with the
"@owner" token the AxisManager accepts from the holder, and the position read after
each motion is cached: nobody else can move a locked axis. An idle axis' position comes
from its Position change events (the AxisManager always pushes the final one), so
counters that follow an axis (simulation counters) cost no round trip per point. The
limits come from the Limits change events too (a scan's preflight asks nothing; a change
is seen once its event arrives, and the AxisManager checks every move itself).

Short calls are synchronous (PyTango's gevent executor adds 0.15 ms per call here, more
under load) with a short timeout, so the hub is never held long; a WaitMove after a move
started without waiting first waits synchronously for a few ms, then in green mode.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import gevent
import tango

from blisstango.core.comm.reach import (
    RECONNECTION_DELAY,
    access_refusal,
    lost_contact,
    reconnection_delayed,
)

from ..config.release import ReleasedByClose
from .errors import LimitError, MotionError

_MOVING = (tango.DevState.MOVING, tango.DevState.RUNNING)
#: WaitMove lasts as long as a motion: its own proxy, with a long timeout
_WAIT_TIMEOUT_MS = 24 * 3600 * 1000
#: a synchronous WaitMove blocks the hub at most this long before going green
_QUICK_WAIT_MS = 20
#: Position/Limits events cppTango keeps for _pull (the oldest dropped beyond): each one
#: carries the whole value, so the last few say all there is to know
EVENT_QUEUE = 8


def _device_of(fn) -> str | None:
    """The device a bound DeviceProxy method calls (the axis, or its manager for GroupMove)."""
    proxy = getattr(fn, "__self__", None)
    return proxy.dev_name() if isinstance(proxy, tango.DeviceProxy) else None


class AxisProxy(ReleasedByClose):
    """A BlissAxis Tango device seen as an axis (AxisProtocol)."""

    def __init__(self, name: str, device: str, manager: str | None = None, timeout_ms: int = 1500,
                 events: bool = True) -> None:
        self.name = name
        self.device_name = device
        self.manager_device = manager
        #: the real axes behind a calc axis (AxisProxy each): they move when it moves, and
        #: a scan locks them with it
        self.reals: list[AxisProxy] = []
        sync, green = tango.GreenMode.Synchronous, tango.GreenMode.Gevent
        self._proxy: Any = tango.DeviceProxy(device, green_mode=sync)
        self._proxy.set_timeout_millis(timeout_ms)
        self._quick: Any = tango.DeviceProxy(device, green_mode=sync)
        self._quick.set_timeout_millis(_QUICK_WAIT_MS)
        self._waiter: Any = tango.DeviceProxy(device, green_mode=green)
        self._waiter.set_timeout_millis(_WAIT_TIMEOUT_MS)
        self._manager: Any = None
        if manager:
            self._manager = tango.DeviceProxy(manager, green_mode=sync)
            self._manager.set_timeout_millis(timeout_ms)
        self._owner: str | None = None
        self._cached: float | None = None
        self._idle_position: float | None = None  # from change events, None while moving/unknown
        self._move_started = 0.0
        self._target: float | None = None
        self._tolerance: float | None = None
        self._unit: str | None = None
        self._event_id: int | None = None
        #: the user limits from the Limits change events (None: unknown, read them); the
        #: scan's preflight checks every axis' range without a round trip
        self._limits: tuple[float, float] | None = None
        self._limits_since = 0.0
        self._limits_event_id: int | None = None
        #: fn(axis) called as each move starts, in the greenlet that asked for it (a
        #: procedure runner records which axes a procedure moved, to stop them on abort)
        self.move_listeners: list[Callable[[AxisProxy], None]] = []
        if events:  # pull model: cppTango queues them, _pull applies them when asked
            try:
                self._event_id = self._proxy.subscribe_event("Position", tango.EventType.CHANGE_EVENT,
                                                             EVENT_QUEUE, stateless=True)
            except tango.DevFailed:
                self._event_id = None
            try:
                self._limits_event_id = self._proxy.subscribe_event("Limits", tango.EventType.CHANGE_EVENT,
                                                                    EVENT_QUEUE, stateless=True)
            except tango.DevFailed:
                self._limits_event_id = None

    def _pull(self) -> None:
        """Apply, in arrival order, the Position and Limits events queued since the last
        look. Pulled rather than called back: a callback runs Python in Tango's event thread
        for every event, and a scan step's final Position event cost the ScanServer ~0.5 ms
        of CPU fighting its hub for the GIL (measured: 1.1 -> 0.56 ms of ScanServer CPU per
        point of a zero-length ascan); queued, no Python runs until a position is asked."""
        for event_id, apply in ((self._event_id, self._on_position), (self._limits_event_id, self._on_limits)):
            if event_id is None:
                continue
            try:
                if self._proxy.is_event_queue_empty(event_id):
                    continue
                events = self._proxy.get_events(event_id)
            except (tango.DevFailed, ValueError):
                continue
            for ev in events:
                apply(ev)

    def _on_limits(self, ev) -> None:
        """Keep the limits the server pushes after every change."""
        if ev.err or ev.attr_value is None or ev.attr_value.quality != tango.AttrQuality.ATTR_VALID:
            self._limits = None
            return
        if ev.attr_value.time.totime() < self._limits_since:
            return  # pushed before our last change of a setting: stale
        lo, hi = ev.attr_value.value
        self._limits = (float(lo), float(hi))

    def _forget_limits(self) -> None:
        """A setting that moves the limits changes: read them until the next event."""
        self._limits = None
        self._limits_since = time.time()

    def _on_position(self, ev) -> None:
        """Keep the position of an idle axis (quality VALID)."""
        if ev.err or ev.attr_value is None:
            self._idle_position = None
            return
        value = ev.attr_value
        if value.time.totime() < self._move_started:
            return  # sent before our last move started (late delivery): stale
        self._idle_position = float(value.value) if value.quality == tango.AttrQuality.ATTR_VALID else None

    @property
    def device(self) -> Any:
        """The synchronous DeviceProxy of the axis (attribute reads, event queues)."""
        return self._proxy

    @property
    def manager(self) -> str | None:
        """The AxisManagerDevice serving this axis (GroupMove), or None."""
        return self.manager_device

    def close(self) -> None:
        for attr in ("_event_id", "_limits_event_id"):
            event_id = getattr(self, attr)
            if event_id is not None:
                try:
                    self._proxy.unsubscribe_event(event_id)
                except tango.DevFailed:
                    pass
                setattr(self, attr, None)

    def _call(self, what: str, fn, *args):
        try:
            try:
                return fn(*args)
            except tango.DevFailed as exc:
                if not reconnection_delayed(exc):
                    raise
                time.sleep(RECONNECTION_DELAY)  # the call never left: once more, as a person would
                return fn(*args)
        except tango.DevFailed as exc:
            err = exc.args[0]
            desc = err.desc.strip()
            if err.reason == "LimitError":
                raise LimitError(desc) from None
            refused = access_refusal(exc, _device_of(fn) or self.device_name)
            if refused:
                raise MotionError(f"{self.name}: {what}: {refused}") from None
            if desc.startswith(f"{self.name}:"):
                raise MotionError(desc) from None
            lost = lost_contact(exc, self.name, self.device_name, what)
            if lost:
                raise MotionError(lost) from None
            raise MotionError(f"{self.name}: {what} on {self.device_name} failed: {desc}") from None

    @property
    def owner(self) -> str | None:
        """Beacon lock owner description this process holds the axis with (None: not locked)."""
        return self._owner

    @owner.setter
    def owner(self, value: str | None) -> None:
        self._owner = value
        self._cached = None

    # ------------------------------------------------------------------ reading
    def _read(self, attr: str) -> Any:
        return self._call(f"read {attr}", self._proxy.read_attribute, attr).value

    @property
    def position(self) -> float:
        if self._cached is not None:
            return self._cached
        self._pull()
        if self._idle_position is not None:
            return self._idle_position
        return float(self._read("Position"))

    @position.setter
    def position(self, value: float) -> None:
        self.move(value)

    @property
    def dial(self) -> float:
        return float(self._read("Dial_position"))

    @property
    def state(self) -> str:
        return str(self._call("State", self._proxy.state))

    @property
    def status(self) -> str:
        return str(self._call("Status", self._proxy.status))

    @property
    def is_moving(self) -> bool:
        return self._call("State", self._proxy.state) in _MOVING

    @property
    def unit(self) -> str | None:
        if self._unit is None:
            try:
                self._unit = self._proxy.get_attribute_config("Position").unit or ""
            except tango.DevFailed:
                return None
        return self._unit or None

    @property
    def limits(self) -> tuple[float, float]:
        self._pull()
        if self._limits is not None:
            return self._limits
        lo, hi = self._read("Limits")
        return float(lo), float(hi)

    @limits.setter
    def limits(self, value: tuple[float, float]) -> None:
        self._forget_limits()
        self._call("write Limits", self._proxy.write_attribute, "Limits", [float(v) for v in value])

    def check_limits(self, user_pos: float) -> None:
        """LimitError naming the axis, the value and the limit if user_pos is out of range."""
        if not math.isfinite(user_pos):
            raise LimitError(f"{self.name}: target {user_pos} is not a finite number")
        lo, hi = self.limits
        if user_pos < lo:
            raise LimitError(f"{self.name}: {user_pos:g} is below the low limit {lo:g}")
        if user_pos > hi:
            raise LimitError(f"{self.name}: {user_pos:g} is above the high limit {hi:g}")

    def _rw(self, attr: str, value: float | None = None) -> float:
        if value is None:
            return float(self._read(attr))
        if attr in ("Offset", "Low_limit", "High_limit"):
            self._forget_limits()
        self._call(f"write {attr}", self._proxy.write_attribute, attr, float(value))
        return float(value)

    velocity = property(lambda self: self._rw("Velocity"), lambda self, v: self._rw("Velocity", v),
                        doc="user units / s")
    acceleration = property(lambda self: self._rw("Acceleration"), lambda self, v: self._rw("Acceleration", v),
                            doc="user units / s2")
    acctime = property(lambda self: self._rw("AccTime"), lambda self, v: self._rw("AccTime", v), doc="s")
    offset = property(lambda self: self._rw("Offset"), lambda self, v: self._rw("Offset", v),
                      doc="user = sign * dial + offset")
    backlash = property(lambda self: self._rw("Backlash"), lambda self, v: self._rw("Backlash", v),
                        doc="user units")
    low_limit = property(lambda self: self._rw("Low_limit"), lambda self, v: self._rw("Low_limit", v))
    high_limit = property(lambda self: self._rw("High_limit"), lambda self, v: self._rw("High_limit", v))

    @property
    def sign(self) -> int:
        return int(self._read("Sign"))

    @sign.setter
    def sign(self, value: int) -> None:
        self._forget_limits()
        self._call("write Sign", self._proxy.write_attribute, "Sign", int(value))

    def position_to(self, user: float) -> None:
        """Redefine the user position (the offset changes), as BLISS `position = ...` on a stopped axis."""
        self._forget_position()
        self._forget_limits()
        self._call("SetPosition", self._proxy.command_inout, "SetPosition", float(user))

    def dial_to(self, dial: float) -> None:
        """Redefine the dial position (the user position is kept)."""
        self._forget_position()
        self._forget_limits()
        self._call("SetDial", self._proxy.command_inout, "SetDial", float(dial))

    def sync_hard(self) -> float:
        """The position read afresh from the device (no cache on either side)."""
        self._forget_position()
        self._proxy.set_source(tango.DevSource.DEV)
        try:
            return float(self._read("Position"))
        finally:
            self._proxy.set_source(tango.DevSource.CACHE_DEV)

    def _forget_position(self) -> None:
        """A motion (or a redefinition) starts: cached and event-fed positions are stale."""
        self._cached = self._idle_position = None
        self._move_started = time.time()

    # ------------------------------------------------------------------ motion
    def _tell_move_listeners(self) -> None:
        for listener in self.move_listeners:
            listener(self)

    def move(self, target: float, wait: bool = True, relative: bool = False) -> None:
        if relative:
            target = self.position + target
        if self._manager is not None:  # one request, with the lock owner if any
            group_move([(self, float(target))], self._owner, wait=wait)
            return
        self._tell_move_listeners()
        self._forget_position()
        self._target = float(target)
        self._call("write Position", self._proxy.write_attribute, "Position", float(target))
        if wait:
            self.wait_move()

    def rmove(self, delta: float, wait: bool = True) -> None:
        self.move(delta, wait=wait, relative=True)

    def wait_move(self, timeout: float | None = None) -> None:
        try:
            self._quick.command_inout("WaitMove")
        except tango.DevFailed as exc:
            if not any(e.reason == "API_DeviceTimedOut" for e in exc.args):
                self._call("WaitMove", _raise, exc)
            self._call("WaitMove", self._waiter.command_inout, "WaitMove")
        if self._owner:
            self._cached = self._final_position()

    def _final_position(self) -> float:
        """The final Position event when it arrived and sits at the target (within the
        axis tolerance: a late event of an earlier motion cannot pass as this one's end
        unless it is the same position), else a read."""
        if self._target is not None:
            for _ in range(2):
                self._pull()
                value = self._idle_position
                if value is not None and abs(value - self._target) <= self.tolerance:
                    return value
                gevent.sleep(0)  # the event may be a moment behind the WaitMove reply
        return float(self._read("Position"))

    @property
    def tolerance(self) -> float:
        if self._tolerance is None:
            try:
                self._tolerance = abs(float(self._read("Tolerance")))
            except MotionError:
                return 0.0
        return self._tolerance

    def stop(self, wait: bool = True) -> None:
        self._forget_position()
        self._call("Stop", self._proxy.command_inout, "Stop")
        if wait:
            self.wait_move()

    def abort(self, wait: bool = True) -> None:
        self._forget_position()
        self._call("Abort", self._proxy.command_inout, "Abort")
        if wait:
            self.wait_move()

    def __repr__(self) -> str:
        try:
            return (f"AXIS {self.name} ({self.device_name}): position {self.position:g} "
                    f"{self.unit or ''}, dial {self.dial:g}, limits {tuple(self.limits)}, "
                    f"velocity {self.velocity:g}, state {self.state}")
        except MotionError as exc:
            return f"AXIS {self.name} ({self.device_name}): {exc}"

    def __str__(self) -> str:
        return self.name


def _raise(exc: BaseException):
    raise exc


def group_move(targets: list[tuple[AxisProxy, float]], owner: str | None, wait: bool = True) -> None:
    """Move axes of one AxisManager with one request (the server checks them all, limits
    and locks, before any starts). Waiting: one GroupMoveWait, which ends with the motion
    when it is short and answers the axes' final positions (a scan step: one round trip);
    the server answers at once when the motion is predicted to last longer than
    _QUICK_WAIT_MS, and each axis' WaitMove, in green mode (the hub runs on), waits for
    the end. Not waiting: one GroupMove."""
    first = targets[0][0]
    for ax, target in targets:
        ax._tell_move_listeners()
        ax._forget_position()
        ax._target = float(target)
    names = [ax.name for ax, _ in targets]
    positions = [float(t) for _, t in targets]
    if not wait:
        args = ([f"@{owner}"] if owner else []) + [v for n, p in zip(names, positions) for v in (n, repr(p))]
        first._call("GroupMove", first._manager.command_inout, "GroupMove", _data(_STRINGS, args))
        return
    ended = first._call("GroupMoveWait", first._manager.command_inout, "GroupMoveWait",
                        _data(_DOUBLES_STRINGS, ([_QUICK_WAIT_MS / 1000.0, *positions], [owner or "", *names])))
    if ended is not None and len(ended) == len(targets):
        for (ax, _), pos in zip(targets, ended):
            # the position as the move ended, as the server read it: no read, no waiting
            # for the final Position event; kept while nobody else can move it (owner)
            if ax._event_id is not None:  # events keep it fresh from here on
                ax._idle_position = float(pos)
            if ax._owner:
                ax._cached = float(pos)
        return
    for ax, _ in targets:
        ax._call("WaitMove", ax._waiter.command_inout, "WaitMove")
    for ax, _ in targets:
        if ax._owner:
            ax._cached = ax._final_position()


_STRINGS = tango.CmdArgType.DevVarStringArray
_DOUBLES_STRINGS = tango.CmdArgType.DevVarDoubleStringArray


def _data(kind: tango.CmdArgType, value: Any) -> tango.DeviceData:
    """A command argument ready to send: PyTango asks the device for the command's
    argument type on every call otherwise."""
    data = tango.DeviceData()
    data.insert(kind, value)
    return data


def calc_reals(session: Any) -> dict[str, list[str]]:
    """{calc axis: its real axes} from the emotion controllers that list `$real` references
    (a scan of a calc axis locks its reals too: they are what moves). session: a
    core.session.ResolvedSession."""
    out: dict[str, list[str]] = {}
    for name in session.list_objects("*", "emotion"):
        axes = session.config(name).get("axes")
        if not isinstance(axes, list):
            continue
        names = [str(a.get("name", "")) for a in axes if isinstance(a, dict)]
        reals = [n[1:] for n in names if n.startswith("$")]
        if reals:
            for calc in (n for n in names if not n.startswith("$")):
                out[calc] = reals
    return out


def session_client(entry: Any) -> AxisProxy:
    """The client of a BlissAxis device in a session (ServerKind.clients of the
    AxisManager): an AxisProxy on it and its manager; a calc axis' reals are the
    clients of its real axes (the same objects the session holds)."""
    reals = entry.session.cache.get("calc_reals")
    if reals is None:
        reals = entry.session.cache["calc_reals"] = calc_reals(entry.session)
    axis = AxisProxy(entry.name, entry.device, entry.manager)
    axis.reals = [entry.session.client(r) for r in reals.get(entry.name, [])]
    return axis
