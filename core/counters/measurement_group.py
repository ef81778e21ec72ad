"""Measurement groups: named sets of counters; one is active per session and is what a
scan counts when given no counter. Disabled counters and the active group are persisted
in the settings Redis (`settings:<group>` field disabled, `settings:<session>` field
active_mg), JSON-encoded as core.beacon settings are, so they survive a restart."""

from __future__ import annotations

import json

from .counter import Counter


class MeasurementGroup:
    def __init__(self, name: str, counters: list[Counter], settings_redis=None) -> None:
        names = [c.name for c in counters]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"measurement group {name}: counters {sorted(dup)} listed twice")
        self.name = name
        self._counters = {c.name: c for c in counters}
        self._redis = settings_redis
        self._disabled: set[str] = set()
        if settings_redis is not None:
            raw = settings_redis.hget(f"settings:{name}", "disabled")
            if raw:
                self._disabled = set(json.loads(raw)) & set(self._counters)

    @property
    def available(self) -> list[str]:
        return list(self._counters)

    @property
    def enabled(self) -> list[Counter]:
        return [c for n, c in self._counters.items() if n not in self._disabled]

    @property
    def disabled(self) -> list[str]:
        return [n for n in self._counters if n in self._disabled]

    def _names(self, names) -> set[str]:
        out = set()
        for n in names:
            n = getattr(n, "name", n)
            if n not in self._counters:
                raise KeyError(f"measurement group {self.name}: no counter {n!r}; has {self.available}")
            out.add(n)
        return out

    def disable(self, *names) -> None:
        self._disabled |= self._names(names)
        self._save()

    def enable(self, *names) -> None:
        """enable() with no name enables every counter."""
        self._disabled -= self._names(names) if names else set(self._disabled)
        self._save()

    def _save(self) -> None:
        if self._redis is not None:
            self._redis.hset(f"settings:{self.name}", "disabled", json.dumps(sorted(self._disabled)))

    def __repr__(self) -> str:
        return f"<MeasurementGroup {self.name}: enabled {[c.name for c in self.enabled]}, disabled {self.disabled}>"


class MeasurementGroups:
    """The measurement groups of one session and which one is active."""

    def __init__(self, session: str, settings_redis=None) -> None:
        self.session = session
        self._redis = settings_redis
        self._groups: dict[str, MeasurementGroup] = {}
        self._active: str | None = None

    def add(self, group: MeasurementGroup) -> MeasurementGroup:
        self._groups[group.name] = group
        if self._active is None:
            stored = self._redis.hget(f"settings:{self.session}", "active_mg") if self._redis else None
            if stored is not None:
                try:  # JSON text, as core.beacon settings store values
                    stored = json.loads(stored)
                except ValueError:
                    stored = stored.decode() if isinstance(stored, bytes) else stored
            if stored is None or stored == group.name:
                self._active = group.name
        return group

    def create(self, name: str, counters: list) -> MeasurementGroup:
        """A new group of these counters, persisted in this session's settings Redis, added."""
        return self.add(MeasurementGroup(name, counters, self._redis))

    def __getitem__(self, name: str) -> MeasurementGroup:
        try:
            return self._groups[name]
        except KeyError:
            raise KeyError(f"session {self.session}: no measurement group {name!r}; has {sorted(self._groups)}") from None

    @property
    def names(self) -> list[str]:
        return list(self._groups)

    @property
    def active(self) -> MeasurementGroup | None:
        return self._groups.get(self._active) if self._active else None

    def set_active(self, name: str) -> MeasurementGroup:
        group = self[name]
        self._active = name
        if self._redis is not None:
            self._redis.hset(f"settings:{self.session}", "active_mg", json.dumps(name))
        return group
