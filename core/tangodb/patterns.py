"""Tango database wildcards: ``*`` (and SQL's ``%``) match any run, case-insensitively.

The C++ DataBaseds evaluates wildcards with MySQL LIKE on case-insensitive columns;
clients rely on ``*`` and on names matching whatever their case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache


def matches_all(pattern: str) -> bool:
    """True for ``*`` (``%``, ``**``...): every name matches, no need to test each."""
    return bool(pattern) and not pattern.strip("*%")


@lru_cache(maxsize=4096)
def matcher(pattern: str) -> Callable[[str], bool]:
    """A predicate telling whether a name matches the Tango wildcard pattern."""
    if matches_all(pattern):
        return lambda name: True
    if "*" not in pattern and "%" not in pattern:
        low = pattern.lower()
        return lambda name: name.lower() == low
    parts = re.split(r"[*%]+", pattern)
    rx = re.compile(".*".join(re.escape(p) for p in parts), re.IGNORECASE | re.DOTALL)
    return lambda name: rx.fullmatch(name) is not None


def select(pattern: str, names: Iterable[str]) -> list[str]:
    """Sorted distinct names matching the pattern."""
    ok = matcher(pattern)
    return sorted({n for n in names if n is not None and ok(n)})


def is_wildcard(pattern: str) -> bool:
    return "*" in pattern or "%" in pattern
