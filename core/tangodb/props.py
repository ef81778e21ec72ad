"""Property tables (device, class, free-object, attribute properties) with their history.

Names compare case-insensitively, as on the C++ DataBaseds (MySQL collation), but are
returned as first written. Each put or delete is recorded in a bounded history, as the
Db*Hist commands report it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator

from .patterns import matcher

HISTORY_DEPTH = 10
DELETED = "DELETED"


class HistEntry(tuple):
    """(id, date, name, values); values == [] means the property was deleted."""

    __slots__ = ()

    @property
    def hid(self) -> int:
        return self[0]

    @property
    def date(self) -> str:
        return self[1]

    @property
    def name(self) -> str:
        return self[2]

    @property
    def values(self) -> list[str]:
        return self[3]


class PropTable:
    """owner -> {property name -> list of strings}, plus history per (owner, name)."""

    def __init__(self) -> None:
        # okey -> (owner as written, {nkey: (name as written, values)})
        self.data: dict[Hashable, tuple[object, dict[str, tuple[str, list[str]]]]] = {}
        self.hist: dict[tuple[Hashable, str], list[HistEntry]] = {}

    @staticmethod
    def key(owner) -> Hashable:
        if isinstance(owner, tuple):
            return tuple(o.lower() for o in owner)
        return owner.lower()

    # -- reads ---------------------------------------------------------------
    def props(self, owner) -> dict[str, tuple[str, list[str]]]:
        entry = self.data.get(self.key(owner))
        return entry[1] if entry else {}

    def get(self, owner, name: str) -> list[str] | None:
        item = self.props(owner).get(name.lower())
        return item[1] if item else None

    def matching(self, owner, pattern: str) -> list[tuple[str, list[str]]]:
        """(name, values) of the owner's properties matching a wildcard, by name."""
        ok = matcher(pattern)
        return sorted((n, v) for n, v in self.props(owner).values() if ok(n))

    def names(self, owner, pattern: str = "*") -> list[str]:
        return [n for n, _ in self.matching(owner, pattern)]

    def owners(self) -> Iterator[object]:
        for owner, props in self.data.values():
            if props:
                yield owner

    def count(self) -> int:
        return sum(len(p) for _, p in self.data.values())

    def hist_count(self) -> int:
        return sum(len(h) for h in self.hist.values())

    def history(self, owner, pattern: str) -> list[HistEntry]:
        """History entries of the owner's properties matching pattern, oldest first."""
        okey = self.key(owner)
        ok = matcher(pattern)
        out = [e for (o, _), entries in self.hist.items() if o == okey for e in entries if ok(e.name)]
        out.sort(key=lambda e: e.hid)
        return out

    # -- writes --------------------------------------------------------------
    def put(self, owner, name: str, values: list[str], hid: int, date: str) -> None:
        okey = self.key(owner)
        entry = self.data.get(okey)
        if entry is None:
            entry = self.data[okey] = (owner, {})
        nkey = name.lower()
        old = entry[1].get(nkey)
        entry[1][nkey] = (old[0] if old else name, list(values))
        self._record(okey, nkey, HistEntry((hid, date, old[0] if old else name, list(values))))

    def delete(self, owner, name: str, hid: int, date: str) -> bool:
        okey = self.key(owner)
        entry = self.data.get(okey)
        if not entry or name.lower() not in entry[1]:
            return False
        real, _ = entry[1].pop(name.lower())
        if not entry[1]:
            del self.data[okey]
        self._record(okey, real.lower(), HistEntry((hid, date, real, [])))
        return True

    def drop_owner(self, owner) -> None:
        """Forget an owner's properties (device deleted): no history entry, as in Tango."""
        self.data.pop(self.key(owner), None)

    def rename_owner(self, old, new) -> None:
        entry = self.data.pop(self.key(old), None)
        if entry:
            self.data[self.key(new)] = (new, entry[1])

    def _record(self, okey, nkey: str, entry: HistEntry) -> None:
        hist = self.hist.setdefault((okey, nkey), [])
        hist.append(entry)
        if len(hist) > HISTORY_DEPTH:
            del hist[: len(hist) - HISTORY_DEPTH]

    # -- snapshot ------------------------------------------------------------
    def dump(self) -> dict:
        return {
            "data": [[_jsonable(o), list(p.values())] for o, p in self.data.values()],
            "hist": [[_jsonable(k[0]), k[1], [list(e) for e in h]] for k, h in self.hist.items()],
        }

    @classmethod
    def load(cls, state: dict) -> PropTable:
        t = cls()
        for owner, props in state["data"]:
            owner = _owner(owner)
            t.data[t.key(owner)] = (owner, {n.lower(): (n, v) for n, v in props})
        for okey, nkey, entries in state["hist"]:
            t.hist[(_owner(okey), nkey)] = [HistEntry(tuple(e)) for e in entries]
        return t


def _jsonable(owner):
    return list(owner) if isinstance(owner, tuple) else owner


def _owner(owner):
    return tuple(owner) if isinstance(owner, list) else owner
