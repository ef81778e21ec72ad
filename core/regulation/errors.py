"""Regulation errors: each message names the loop (or input/output), the value and the
range it had to be in, so a person can act on it."""

from __future__ import annotations

from blisstango.core.motion.errors import LimitError


class RegulationError(RuntimeError):
    """Regulation cannot go on (an input or output failed, the hardware refused)."""


class RegulationValueError(ValueError):
    """A parameter outside its allowed range; nothing was changed."""


class SetpointLimitError(LimitError):
    """A setpoint outside the loop's limits (a LimitError: the loop is also an axis)."""


def check_number(owner: str, what: str, value: float, low: float | None = None,
                 high: float | None = None, low_open: bool = False, unit: str = "") -> float:
    """`value` as a float if it is finite and inside [low, high] (low excluded when
    low_open), else RegulationValueError naming owner, parameter and allowed range."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise RegulationValueError(f"{owner}: {what} must be a number, got {value!r}") from None
    u = f" {unit}" if unit else ""
    lo = "-inf" if low is None else f"{low:g}"
    hi = "+inf" if high is None else f"{high:g}"
    allowed = f"{'(' if low_open else '['}{lo}, {hi}]{u}"
    bad = v != v or v in (float("inf"), float("-inf"))
    bad = bad or (low is not None and (v <= low if low_open else v < low))
    bad = bad or (high is not None and v > high)
    if bad:
        raise RegulationValueError(f"{owner}: {what} {value!r} is outside the allowed range {allowed}")
    return v
