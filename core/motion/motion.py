"""Motion legs and the one start path shared by single, group and calc moves.

All checks happen before `start_motions` (Axis.prepare_motion); it then runs the motion
hooks' pre_move once per hook, calls one start_all per controller back to back, and
spawns one monitoring greenlet per axis. If a later controller refuses to start, the
axes already started are aborted.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from .errors import MotionError

if TYPE_CHECKING:
    from .axis import Axis


def finite(axis: str, what: str, value: Any) -> float:
    """float(value), or MotionError naming the axis if it is not a finite number."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise MotionError(f"{axis}: {what} {value!r} is not a number") from None
    if not math.isfinite(v):
        raise MotionError(f"{axis}: {what} {value!r} is not a finite number")
    return v


class Motion:
    """One leg of hardware motion for one axis; `target_steps` is what the controller gets."""

    def __init__(self, axis: Axis, target_dial: float, user_target: float, kind: str = "move",
                 backlash_dial: float | None = None) -> None:
        self.axis = axis
        self.kind = kind
        self.user_target = user_target
        self.target_dial = target_dial
        self.target_steps = target_dial * axis.steps_per_unit
        self.backlash_dial = backlash_dial  # final-approach target (dial) after this leg
        self.started_at: float | None = None  # set by the controller (time.monotonic())
        #: when the hardware should have finished (time.monotonic()), if the controller
        #: knows (its trapezoid): the monitor may sleep until then
        self.expected_end: float | None = None
        #: dial position the leg starts from (the axis' prediction of its end needs it)
        self.start_dial: float | None = None
        self.jog_velocity: float = 0.0  # steps/s for kind == "jog"
        self.jog_direction: int = 0
        self.hook_runs: list[HookRun] = []  # post_move once all motions of a hook ended
        #: the axis is already there (core.motion.axis.ALREADY_THERE_STEPS): nothing is started
        self.already_there = False

    @property
    def delta_steps(self) -> float:
        return self.target_steps - self.axis.controller.read_position(self.axis)

    def __repr__(self) -> str:
        return f"<Motion {self.axis.name} {self.kind} -> dial {self.target_dial}>"


class HookRun:
    """One hook over the motions started together: pre_move once before the start,
    post_move once when the last of them has ended (its error goes to that axis)."""

    def __init__(self, hook: Any, motions: list[Motion]) -> None:
        self.hook = hook
        self.motions = motions
        self.pending = {id(m) for m in motions}
        for m in motions:
            m.hook_runs.append(self)

    def ended(self, motion: Motion) -> Exception | None:
        self.pending.discard(id(motion))
        if self.pending:
            return None
        try:
            self.hook.post_move(self.motions)
        except Exception as exc:
            return MotionError(f"{motion.axis.name}: post-move hook {self.hook!r} failed: {exc}")
        return None


def run_pre_hooks(motions: list[Motion]) -> None:
    """pre_move of every hook of these motions, once each, with its own motions."""
    hooks: list[Any] = []
    for m in motions:
        for h in m.axis.motion_hooks:
            if h not in hooks:
                hooks.append(h)
    for h in hooks:
        mine = [m for m in motions if h in m.axis.motion_hooks]
        h.pre_move(mine)
        HookRun(h, mine)


def start_motions(motions: list[Motion]) -> None:
    """Start motions of any axes/controllers together: pre hooks, then one start_all per
    controller back to back (no yield between them), then one monitor greenlet per axis."""
    axes = [m.axis for m in motions]
    if len({a.name for a in axes}) != len(axes):
        raise MotionError("an axis appears twice in the same motion: " + ", ".join(a.name for a in axes))
    for m in motions:
        if m.already_there:
            m.axis._stays(m)
    motions = [m for m in motions if not m.already_there]
    if not motions:
        return
    begun: list[Axis] = []
    started: list[Motion] = []
    try:
        for m in motions:
            m.axis._begin(m)
            begun.append(m.axis)
        run_pre_hooks(motions)
        by_ctrl: dict[int, list[Motion]] = {}
        for m in motions:
            by_ctrl.setdefault(id(m.axis.controller), []).append(m)
        for group in by_ctrl.values():
            for m in group:
                m.axis._hw().prepare_move(m)
        for group in by_ctrl.values():
            group[0].axis.controller.start_all(*group)
            started.extend(group)
        now = time.monotonic()
        for m in motions:
            if m.started_at is None:
                m.started_at = now
    except BaseException:
        for m in started:  # a later controller refused: stop what already runs
            try:
                m.axis.controller.abort(m.axis)
            except Exception:
                pass
        for a in begun:
            a._abort_begin()
        raise
    for m in motions:
        m.axis._started(m)
