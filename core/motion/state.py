"""Axis states as BLISS users know them: a set of named flags, extensible per controller.

A state is a set (an axis can be READY and on its HOME switch at once); MOVING and
READY exclude each other. Controllers may declare custom states with a description.
"""

from __future__ import annotations

from collections.abc import Iterable

STANDARD_STATES: dict[str, str] = {
    "READY": "Axis is READY",
    "MOVING": "Axis is MOVING",
    "FAULT": "Error from controller",
    "LIMPOS": "Hardware high limit active",
    "LIMNEG": "Hardware low limit active",
    "HOME": "Home signal active",
    "OFF": "Axis power is off",
    "DISABLED": "Axis cannot move",
}


class AxisState:
    """Immutable-ish set of state names; `"MOVING" in state`, `state.MOVING` both work."""

    def __init__(self, *names: str, custom: dict[str, str] | None = None) -> None:
        self._custom: dict[str, str] = dict(custom or {})
        self._names: list[str] = []
        for n in names:
            self.set(n)

    @classmethod
    def from_names(cls, names: Iterable[str]) -> AxisState:
        return cls(*names)

    def create_state(self, name: str, description: str = "") -> None:
        """Declare a custom state (e.g. a controller-specific 'PARKED')."""
        if name in STANDARD_STATES:
            raise ValueError(f"{name} is a standard state")
        self._custom[name] = description or name

    def describe(self, name: str) -> str:
        """A description given at construction (custom=) wins: AxisState("FAULT",
        custom={"FAULT": "lost the link to ..."}) says why."""
        return self._custom.get(name) or STANDARD_STATES.get(name, name)

    def set(self, name: str) -> None:
        name = name.strip()
        if name not in STANDARD_STATES and name not in self._custom:
            # an undeclared name is accepted as a custom state with itself as description
            self._custom[name] = name
        if name == "MOVING" and "READY" in self._names:
            self._names.remove("READY")
        if name == "READY" and "MOVING" in self._names:
            self._names.remove("MOVING")
        if name not in self._names:
            self._names.append(name)

    def unset(self, name: str) -> None:
        if name in self._names:
            self._names.remove(name)

    @property
    def current_states_names(self) -> list[str]:
        return list(self._names)

    def __contains__(self, name: str) -> bool:
        return name in self._names

    def __getattr__(self, name: str) -> bool:
        if name.isupper():
            return name in self._names
        raise AttributeError(name)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return set(other.split()) == set(self._names)
        if isinstance(other, AxisState):
            return set(other._names) == set(self._names)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset(self._names))

    def __str__(self) -> str:
        return " ".join(self._names) if self._names else "UNKNOWN"

    def __repr__(self) -> str:
        descr = "; ".join(f"{n} ({self.describe(n)})" for n in self._names)
        return f"AxisState({descr})"

    def copy(self) -> AxisState:
        s = AxisState(custom=self._custom)
        s._names = list(self._names)
        return s
