"""CalcController: virtual axes computed from real ones (BLISS calc_from_real/calc_to_real).

Real axes are listed in the controller's `axes` with a `real <tag>` tag, calc axes
with their own tag. Moving a calc axis computes every real target, checks the limits
of every real axis, then moves the reals together (one synchronized start).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .axis import Axis, _finite, start_motions
from .controller import Controller
from .errors import LimitError, MotionError
from .state import AxisState

if TYPE_CHECKING:
    from .axis import Motion


class CalcAxis(Axis):
    """An axis whose dial is computed from real axes; steps_per_unit is 1."""

    is_calc = True

    def __init__(self, name: str, controller: Controller, config: dict) -> None:
        config = dict(config)
        config["steps_per_unit"] = 1.0
        super().__init__(name, controller, config)
        self.tag = str(config.get("tags", name)).split()[-1]

    @property
    def reals(self) -> list[Axis]:
        """The real axes this calc axis moves (the controller's, in its order)."""
        return list(self.controller.reals.values())  # type: ignore[attr-defined]

    def _apply_settings_to_hardware(self) -> None:
        pass

    @property
    def is_moving(self) -> bool:
        return any(r.is_moving for r in self.reals)

    @property
    def state(self) -> AxisState:
        st = self.controller.state(self)
        self._notify_state(st)
        return st

    def prepare_motion(self, user_target: float, relative: bool = False) -> Motion:
        raise MotionError(f"{self.name}: a calc axis moves through its real axes (use move())")

    def move(self, user_target: float, wait: bool = True, relative: bool = False) -> None:
        target = _finite(self.name, "target", user_target)
        if relative:
            target += self.position
        if self.is_moving:
            raise MotionError(f"{self.name}: already moving")
        from .group import prepare_motions

        motions = prepare_motions({self: target})
        self._set_position = target
        start_motions(motions)
        if wait:
            self.wait_move()

    def wait_move(self, timeout: float | None = None) -> None:
        errors = []
        for r in self.reals:
            try:
                r.wait_move(timeout)
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def stop(self, wait: bool = True) -> None:
        for r in self.reals:
            r.stop(wait=False)
        if wait:
            self.wait_move()

    def abort(self, wait: bool = True) -> None:
        for r in self.reals:
            r.abort(wait=False)
        if wait:
            self.wait_move()

    def jog(self, velocity: float | None = None) -> None:
        raise MotionError(f"{self.name}: a calc axis cannot jog")

    def home(self, switch: int = 1, wait: bool = True) -> None:
        raise MotionError(f"{self.name}: a calc axis has no home switch")

    def dial_to(self, dial: float) -> None:
        raise MotionError(f"{self.name}: the dial of a calc axis is computed from its real axes")


class CalcController(Controller):
    """Subclass and implement calc_from_real / calc_to_real on {tag: user position} dicts."""

    axis_class = CalcAxis

    def __init__(self, name: str, config: dict, axes: list[dict] | None = None,
                 reals: dict[str, Axis] | None = None, **kwargs: Any) -> None:
        super().__init__(name, config, axes=axes, **kwargs)
        self.reals: dict[str, Axis] = dict(reals or {})
        for ax in self.reals.values():
            ax.position_changed.append(self._real_moved)
            ax.state_changed.append(self._real_state)

    # -- the physics (override) ---------------------------------------------------------
    def calc_from_real(self, reals: dict[str, float]) -> dict[str, float]:
        raise NotImplementedError

    def calc_to_real(self, calcs: dict[str, float]) -> dict[str, float]:
        raise NotImplementedError

    # -- plumbing -----------------------------------------------------------------------------
    def _calc_dials(self) -> dict[str, float]:
        return self.calc_from_real({t: a.position for t, a in self.reals.items()})

    def _by_tag(self) -> dict[str, CalcAxis]:
        return {ax.tag: ax for ax in self.axes.values()}  # type: ignore[misc]

    def _real_moved(self, _pos: float) -> None:
        if not any(ax.position_changed for ax in self.axes.values()):
            return
        dials = self._calc_dials()
        for tag, ax in self._by_tag().items():
            if tag in dials:
                ax._notify_position(ax.dial2user(dials[tag]))

    def _real_state(self, _st: AxisState) -> None:
        st = self._combined()
        for ax in self.axes.values():
            ax._notify_state(st)

    def _combined(self) -> AxisState:
        from .group import combined_state

        return combined_state(r.state for r in self.reals.values())

    def real_targets(self, calc_targets: dict[Axis, float]) -> dict[Axis, float]:
        """User targets of the reals for the given calc user targets (others stay put)."""
        dials = self._calc_dials()
        for ax, user in calc_targets.items():
            user = _finite(ax.name, "target", user)
            ax.check_limits(user)
            dials[ax.tag] = ax.user2dial(user)  # type: ignore[attr-defined]
        reals = self.calc_to_real(dials)
        out: dict[Axis, float] = {}
        what = ", ".join(f"{a.name}={u}" for a, u in calc_targets.items())
        for tag, pos in reals.items():
            real = self.reals[tag]
            if not math.isfinite(pos):
                raise MotionError(f"{what}: gives {real.name} = {pos}")
            try:
                real.check_limits(pos)
            except LimitError as exc:
                raise LimitError(f"{what} needs {real.name} at {pos}: {exc}") from None
            out[real] = pos
        return out

    def read_position(self, axis: Axis) -> float:
        return self._calc_dials()[axis.tag]  # type: ignore[attr-defined]

    def state(self, axis: Axis) -> AxisState:
        return self._combined()

    def set_velocity(self, axis: Axis, steps_per_s: float) -> None:
        pass

    def set_acceleration(self, axis: Axis, steps_per_s2: float) -> None:
        pass

    def read_velocity(self, axis: Axis) -> float:
        return axis.velocity

    def read_acceleration(self, axis: Axis) -> float:
        return axis.acceleration

    def stop(self, axis: Axis) -> None:
        for r in self.reals.values():
            r.stop(wait=False)
