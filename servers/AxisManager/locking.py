"""Beacon locks as the AxisManager honours them: a locked axis moves only for its holder.

A Tango write carries no identity, so a holder that drives axes through Tango names
itself: the manager's GroupMove accepts a leading "@<lock owner description>" token.
"""

from __future__ import annotations

from collections.abc import Iterable

from blisstango.core.beacon.locks import who_locked
from blisstango.core.motion import Axis


class AxisLockedError(RuntimeError):
    pass


def axes_involved(axes: Iterable[Axis]) -> list[str]:
    names: list[str] = []
    for ax in axes:
        for a in [ax, *getattr(ax, "reals", [])]:
            if a.name not in names:
                names.append(a.name)
    return names


def check_unlocked(axes: Iterable[Axis], owner: str | None = None) -> None:
    """Raise AxisLockedError naming the holder if another owner locks any axis involved."""
    for name, holder in who_locked(axes_involved(axes)).items():
        if holder != owner:
            raise AxisLockedError(f"{name}: locked by {holder!r}, motion refused")
