"""Beacon locks as the AxisManager honours them: a locked axis moves only for its holder.

A Tango write carries no identity, so a holder that drives axes through Tango names
itself: the manager's GroupMove accepts a leading "@<lock owner description>" token.
"""

from __future__ import annotations

import time
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


#: a holder's lock on every axis it moves, once confirmed, is trusted this long: nobody
#: else can take a held lock, and a holder moves only while holding it (a scan step per
#: ms would otherwise pay a Redis round trip each)
CONFIRMED_FOR = 0.25
_confirmed: dict[tuple[tuple[str, ...], str], float] = {}


def check_unlocked(axes: Iterable[Axis], owner: str | None = None) -> None:
    """Raise AxisLockedError naming the holder if another owner locks any axis involved."""
    names = axes_involved(axes)
    key = (tuple(names), owner) if owner else None
    now = time.monotonic()
    if key is not None and _confirmed.get(key, 0.0) > now:
        return
    locked = who_locked(names)
    for name, holder in locked.items():
        if holder != owner:
            raise AxisLockedError(f"{name}: locked by {holder!r}, motion refused")
    if key is not None and len(locked) == len(names):  # the owner holds every one of them
        if len(_confirmed) > 256:
            for k in [k for k, t in _confirmed.items() if t <= now]:
                del _confirmed[k]
        _confirmed[key] = now + CONFIRMED_FOR
