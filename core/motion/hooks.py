"""Motion hooks: code run before every motion starts and after it ends (BLISS MotionHook)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .axis import Motion


class MotionHook:
    """Subclass and attach with `axis.motion_hooks.append(hook)` or YAML `motion_hooks`.

    pre_move may raise to refuse the motion (nothing has started then); post_move
    errors are reported by wait_move().
    """

    def pre_move(self, motions: list[Motion]) -> None:
        pass

    def post_move(self, motions: list[Motion]) -> None:
        pass
