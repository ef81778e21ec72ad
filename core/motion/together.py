"""Moving several axes at once, whatever they are (AxisProtocol): the shell's `mv` of
several axes, a step scan's point of an a2scan or a mesh.

Axes of one AxisManager go in one request (GroupMove, or GroupMoveWait when waiting:
one round trip for a short step of all of them); axes built in this process (Axis,
CalcAxis) start together through one Group (one synchronized start, every check before
any start); any other axis (a regulation loop's axis) moves by itself. If a start is
refused, the axes already started are stopped and the error raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .axis import Axis
from .axis_proxy import AxisProxy, group_move
from .errors import MotionError
from .group import Group


def _groups(targets: list[tuple[Any, float]], owner: str | None) -> list[tuple[str, list[tuple[Any, float]]]]:
    """(kind, [(axis, target)]) per request: "remote" (one AxisManager and lock owner),
    "local" (this process' axes), "single" (anything else, one each)."""
    keyed: dict[Any, tuple[str, list[tuple[Any, float]]]] = {}
    for ax, target in targets:
        if isinstance(ax, AxisProxy) and ax.manager is not None:
            key: Any = ("remote", ax.manager, owner or ax.owner)
        elif isinstance(ax, Axis):
            key = ("local",)
        else:
            key = ("single", id(ax))
        keyed.setdefault(key, (key[0], []))[1].append((ax, target))
    return list(keyed.values())


def _start(kind: str, group: list[tuple[Any, float]], owner: str | None) -> None:
    if kind == "remote":
        group_move(group, owner or group[0][0].owner, wait=False)
    elif kind == "local":
        Group(*(ax for ax, _ in group), name="+".join(ax.name for ax, _ in group)).move(dict(group), wait=False)
    else:
        ax, target = group[0]
        ax.move(target, wait=False)


def move_together(targets: Sequence[tuple[Any, float]], owner: str | None = None, wait: bool = False) -> list[Any]:
    """Start every motion (wait: and wait for all of them, raising the first error once
    every axis has ended); returns the axes. owner: the lock owner remote axes move for
    (default: each axis' own `owner`)."""
    pairs = [(ax, float(t)) for ax, t in targets]
    axes = [ax for ax, _ in pairs]
    if len({id(ax) for ax in axes}) != len(axes):
        raise MotionError("an axis appears twice in the same motion: " + ", ".join(ax.name for ax in axes))
    if wait and len(pairs) == 1:
        axes[0].move(pairs[0][1], wait=True)
        return axes
    groups = _groups(pairs, owner)
    if wait and len(groups) == 1 and groups[0][0] == "remote":
        group_move(groups[0][1], owner or axes[0].owner, wait=True)
        return axes
    started: list[Any] = []
    try:
        for kind, group in groups:
            _start(kind, group, owner)
            started.extend(ax for ax, _ in group)
    except BaseException:
        for ax in started:
            try:
                ax.stop(wait=False)
            except MotionError:
                pass
        raise
    if wait:
        errors = []
        for ax in axes:
            try:
                ax.wait_move()
            except Exception as exc:  # noqa: BLE001 - every axis is waited for, the first error raised
                errors.append(exc)
        if errors:
            raise errors[0]
    return axes


__all__ = ["move_together"]
