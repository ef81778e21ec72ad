"""MCA errors: each names the MCA, the parameter and what would have been accepted."""

from __future__ import annotations

from collections.abc import Iterable


class McaError(RuntimeError):
    """The MCA cannot do what was asked (device gone, buffer overrun, acquisition failed)."""


class McaParameterError(ValueError):
    """A parameter value was refused; nothing was changed."""

    def __init__(self, mca: str, parameter: str, value, allowed: str | Iterable) -> None:
        if not isinstance(allowed, str):
            allowed = "one of " + ", ".join(str(a) for a in allowed)
        self.mca, self.parameter, self.value, self.allowed = mca, parameter, value, allowed
        super().__init__(f"{mca}: {parameter} {value!r} refused: allowed {allowed}")
