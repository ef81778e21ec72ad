"""How Python values are stored in Redis: JSON text.

JSON keeps the type a user relies on when a value comes back — 2 stays int, 2.0 stays
float, True stays bool, lists and dicts nest — and anyone can read it with redis-cli.
NumPy scalars and arrays (common for positions and limits) are stored as their Python
equivalents; NaN and infinities are kept.
"""

from __future__ import annotations

import json
from typing import Any


def _default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):  # numpy scalar or array, without importing numpy
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"cannot store {obj!r} of type {type(obj).__name__} in Redis: "
                    "use int, float, bool, str, None, list or dict")


def encode(value: Any) -> str:
    """JSON text of value; TypeError naming the value if it has no JSON form."""
    return json.dumps(value, default=_default, separators=(",", ":"))


def decode(raw: str | bytes | None) -> Any:
    """The value back from its JSON text; text that is not JSON comes back as str
    (so a value typed by hand in redis-cli is still readable)."""
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode()
    try:
        return json.loads(raw)
    except ValueError:
        return raw
