"""Group: several axes (real or calc) moved with one synchronized start."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import gevent

from .axis import Axis, Motion, start_motions
from .errors import MotionError
from .state import AxisState

STATE_PRIORITY = ("MOVING", "FAULT", "OFF", "LIMPOS", "LIMNEG", "DISABLED")


def combined_state(states: Iterable[AxisState]) -> AxisState:
    """MOVING if any moves, else the first alarm found (FAULT, OFF, limits), else READY."""
    states = list(states)
    for name in STATE_PRIORITY:
        if any(name in s for s in states):
            return AxisState(name)
    return AxisState("READY")


def real_targets(targets: Mapping[Axis, float]) -> dict[Axis, float]:
    """Replace calc axes by the real axes they drive (recursively); checks calc limits."""
    result: dict[Axis, float] = {}
    by_calc: dict[int, tuple[Any, dict[Axis, float]]] = {}
    for ax, pos in targets.items():
        if getattr(ax, "is_calc", False):
            by_calc.setdefault(id(ax.controller), (ax.controller, {}))[1][ax] = pos
        else:
            if ax in result:
                raise MotionError(f"{ax.name}: asked to move twice in one group")
            result[ax] = pos
    for ctrl, calc_targets in by_calc.values():
        reals = ctrl.real_targets(calc_targets)
        for ax, pos in real_targets(reals).items():
            if ax in result:
                raise MotionError(f"{ax.name}: driven twice in one group ({', '.join(a.name for a in calc_targets)})")
            result[ax] = pos
    return result


def prepare_motions(targets: Mapping[Axis, float]) -> list[Motion]:
    """Check every real axis that would move (limits, state, encoder) before any start."""
    motions = []
    for ax, pos in real_targets(targets).items():
        motions.append(ax.prepare_motion(pos))
    return motions


class Group:
    """Axes moved together; state is the combined state of every axis (and calc reals)."""

    def __init__(self, *axes: Axis, name: str = "group") -> None:
        if not axes:
            raise MotionError(f"{name}: a group needs at least one axis")
        self.name = name
        self.axes = list(axes)
        self._moving_axes: list[Axis] = []

    def _all_axes(self) -> list[Axis]:
        out: list[Axis] = []
        for ax in self.axes:
            for a in ([ax] + list(getattr(ax, "reals", []))):
                if a not in out:
                    out.append(a)
        return out

    @property
    def state(self) -> AxisState:
        return combined_state(a.state for a in self._all_axes())

    @property
    def is_moving(self) -> bool:
        return any(a.is_moving for a in self._all_axes())

    @property
    def moving_axes(self) -> list[Axis]:
        """The axes the last move started (calc axes' reals included): what wait_move waits for."""
        return list(self._moving_axes)

    @property
    def position(self) -> dict[str, float]:
        return {a.name: a.position for a in self.axes}

    def move(self, targets: Mapping[Axis, float] | None = None, *, wait: bool = True,
             relative: bool = False, **by_name: float) -> None:
        """Move to {axis: user position}; nothing starts unless every check passes."""
        wanted: dict[Axis, float] = dict(targets or {})
        names = {a.name: a for a in self.axes}
        for n, p in by_name.items():
            if n not in names:
                raise MotionError(f"{self.name}: {n} is not in the group ({', '.join(names)})")
            wanted[names[n]] = p
        for ax in wanted:
            if ax not in self.axes:
                raise MotionError(f"{self.name}: {ax.name} is not in the group")
        if relative:
            wanted = {ax: ax.position + float(d) for ax, d in wanted.items()}
        motions = prepare_motions(wanted)
        for ax, pos in wanted.items():
            if getattr(ax, "is_calc", False):
                ax._set_position = float(pos)
        start_motions(motions)
        self._moving_axes = [m.axis for m in motions]
        if wait:
            self.wait_move()

    def rmove(self, targets: Mapping[Axis, float], wait: bool = True) -> None:
        self.move(targets, wait=wait, relative=True)

    def wait_move(self) -> None:
        """Wait for every axis; raise the first error (all axes are waited for anyway)."""
        errors = []
        for a in self._moving_axes:
            try:
                a.wait_move()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def stop(self, wait: bool = True) -> None:
        jobs = [gevent.spawn(a.stop, wait) for a in self._all_axes() if a.is_moving]
        gevent.joinall(jobs)

    def abort(self, wait: bool = True) -> None:
        jobs = [gevent.spawn(a.abort, wait) for a in self._all_axes() if a.is_moving]
        gevent.joinall(jobs)
