"""AxisManagerDevice: one per server instance; lists its axes and moves groups of them."""

from __future__ import annotations

import time

from tango import CmdArgType, DevState, GreenMode
from tango.server import Device, attribute, command

from blisstango.core.motion import Axis, Group, MotionError

from ..errors import devfailed
from ..pusher import PushedUnderMonitor
from ..request_thread import no_hardware_read, request_hook
from .axis_device import registry
from .events import tango_state
from .locking import check_unlocked


def parse_group_args(args: list[str]) -> tuple[str | None, list[tuple[str, float]]]:
    """["@owner"?, name, pos, name, pos, ...] -> (owner, [(name, pos), ...])."""
    args = list(args)
    owner = args.pop(0)[1:] if args and args[0].startswith("@") else None
    if not args or len(args) % 2:
        raise MotionError(f"GroupMove takes name, position pairs, got {len(args)} values: {args}")
    pairs = []
    for name, pos in zip(args[::2], args[1::2]):
        try:
            pairs.append((name, float(pos)))
        except ValueError:
            raise MotionError(f"{name}: target {pos!r} is not a number") from None
    return owner, pairs


def _end_position(ax: Axis) -> float:
    """Where a move just left the axis: read as it ended, else asked now."""
    pos = getattr(ax, "end_position", None)
    return ax.position if pos is None else pos


class AxisManagerDevice(PushedUnderMonitor, Device):
    """GetAxisList, GroupMove([name, pos, ...]), GroupState, GroupAbort."""

    green_mode = GreenMode.Gevent
    always_executed_hook = request_hook     # in the request thread: no hub handoff
    read_attr_hardware = no_hardware_read

    def init_device(self) -> None:
        super().init_device()
        self.group: Group | None = None
        self.set_state(DevState.ON)

    def _axis(self, name: str) -> Axis:
        dev = registry.get(name)
        if dev is None:
            raise MotionError(f"{name}: not an axis of this server ({', '.join(sorted(registry))})")
        return dev.axis

    def _group(self, names: list[str]) -> Group:
        if names:
            return Group(*(self._axis(n) for n in names), name="+".join(names))
        if self.group is None:
            raise MotionError("no group move yet: give axis names")
        return self.group

    @command(dtype_out=(str,))
    def GetAxisList(self) -> list[str]:
        return sorted(registry)

    @command(dtype_in=(str,), doc_in='["@lock owner"?, name, position, name, position, ...]')
    @devfailed
    def GroupMove(self, args: list[str]) -> None:
        """Check every axis (limits, locks) first, then start all together; returns at once."""
        owner, pairs = parse_group_args(args)
        axes = [self._axis(n) for n, _ in pairs]
        check_unlocked(axes, owner)
        group = Group(*axes, name="+".join(n for n, _ in pairs))
        group.move(dict(zip(axes, (p for _, p in pairs))), wait=False)
        self.group = group

    @command(dtype_in=CmdArgType.DevVarDoubleStringArray, dtype_out=(float,),
             doc_in="([max wait s, position, ...], [lock owner or '', name, ...])",
             doc_out="the motion ended (its error raised): the axes' positions, in the order "
                     "given; still moving: empty (then WaitMove)")
    @devfailed
    def GroupMoveWait(self, args) -> list[float]:
        """GroupMove, then wait at most `max wait` for its end: a short scan step costs one
        round trip instead of three (GroupMove, WaitMove, Position). A move predicted to
        last longer than max wait answers at once: the caller's WaitMove, not this request,
        waits (a synchronous caller is not held for nothing)."""
        doubles, strings = args
        if len(doubles) < 2 or len(doubles) != len(strings):
            raise MotionError("GroupMoveWait takes ([max wait, position, ...], [owner, name, ...]) "
                              f"with as many positions as names, got {list(doubles)}, {list(strings)}")
        owner = strings[0] or None
        pairs = list(zip(strings[1:], doubles[1:]))
        axes = [self._axis(n) for n, _ in pairs]
        check_unlocked(axes, owner)
        group = Group(*axes, name="+".join(n for n, _ in pairs))
        group.move(dict(zip(axes, (p for _, p in pairs))), wait=False)
        self.group = group
        deadline = time.monotonic() + max(0.0, float(doubles[0]))
        moving = group.moving_axes
        if any((getattr(ax, "expected_end", None) or 0.0) > deadline for ax in moving):
            return []
        for ax in moving:
            if not ax.wait_done(max(0.0, deadline - time.monotonic())):
                return []
        group.wait_move()  # raises the error a motion ended with
        return [_end_position(ax) for ax in axes]

    @command(dtype_in=(str,), dtype_out=str, doc_in="axis names (empty: the last group)")
    @devfailed
    def GroupState(self, names: list[str]) -> str:
        return str(self._group(list(names)).state)

    @command(dtype_in=(str,), doc_in="axis names (empty: the last group)")
    @devfailed
    def GroupAbort(self, names: list[str]) -> None:
        self._group(list(names)).abort(wait=False)

    @attribute(dtype=float, unit="s", doc="spread of hardware start times of the last GroupMove")
    def GroupStartSkew(self) -> float:
        if self.group is None:
            return 0.0
        starts = [a.last_motion_start for a in self.group.moving_axes if a.last_motion_start]
        return max(starts) - min(starts) if starts else 0.0

    def dev_state(self) -> DevState:
        if self.group is not None and self.group.is_moving:
            return DevState.MOVING
        return DevState.ON if self.group is None else tango_state(self.group.state)
