"""The one interface of an axis, whatever moves it: what scans, the shell and calc
controllers rely on.

Satisfied by an Axis built in this process (Mockup, TangoAxis for legacy devices, ...),
a CalcAxis, and an AxisProxy (an AxisManager axis driven from another process through
Tango). Code that moves axes takes an AxisProtocol and never asks which one it has.

`reals` means one thing everywhere: the axis objects that move when this one moves
(a calc axis' real axes; empty for a real axis), so a scan locks `[ax, *ax.reals]`.
`owner` is the Beacon lock owner description this process moves the axis for (a scan
holding its lock); None for a plain move. Only a remote axis needs it (its server
checks the lock); a local axis keeps it for the caller.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class AxisProtocol(Protocol):
    name: str
    owner: str | None

    @property
    def position(self) -> float: ...

    @property
    def state(self) -> Any:
        """str() gives the state's name(s): "READY", "MOVING", "FAULT", ..."""

    @property
    def is_moving(self) -> bool: ...

    @property
    def unit(self) -> str | None: ...

    @property
    def limits(self) -> tuple[float, float]:
        """(low, high) software limits in user units."""

    @property
    def velocity(self) -> float: ...

    @velocity.setter
    def velocity(self, value: float) -> None: ...

    @property
    def acceleration(self) -> float: ...

    @acceleration.setter
    def acceleration(self, value: float) -> None: ...

    @property
    def reals(self) -> Sequence[AxisProtocol]:
        """The axes that move when this one moves (empty for a real axis)."""

    def check_limits(self, user: float) -> None:
        """LimitError naming the axis, the value and the limit when user is out of range."""

    def move(self, target: float, wait: bool = True, relative: bool = False) -> None: ...

    def rmove(self, delta: float, wait: bool = True) -> None: ...

    def wait_move(self, timeout: float | None = None) -> None:
        """Return at the end of the motion; raise the error it ended with."""

    def stop(self, wait: bool = True) -> None: ...

    def abort(self, wait: bool = True) -> None: ...


#: what an object must have to be an axis (AxisProtocol's members)
MEMBERS = ("name", "owner", "position", "state", "is_moving", "unit", "limits", "velocity",
           "acceleration", "reals", "check_limits", "move", "rmove", "wait_move", "stop", "abort")
_MISSING = object()


def is_axis(obj: Any) -> bool:
    """Whether obj satisfies AxisProtocol, looked up statically: `isinstance(obj,
    AxisProtocol)` would read every property (on Python 3.11), hence ask a remote axis'
    device a dozen times."""
    return not isinstance(obj, type) and all(
        inspect.getattr_static(obj, m, _MISSING) is not _MISSING for m in MEMBERS)


def lock_names(axes: Sequence[AxisProtocol]) -> list[str]:
    """Names of the axes and of their reals, each once: what a scan of them must lock."""
    return list(dict.fromkeys(n for ax in axes for n in [ax.name, *(r.name for r in ax.reals)]))


__all__ = ["AxisProtocol", "MEMBERS", "is_axis", "lock_names"]
