"""How a batch of points travels in one Redis stream entry: raw bytes plus dtype and shape.

Entry fields: ``i`` index of the first point, ``n`` number of points, ``t`` numpy dtype
string, ``s`` shape of one point ("" for a scalar, "2,3" otherwise), ``d`` the C-ordered
bytes. A reference batch (images kept in files) has ``r`` (JSON list of {file, index})
instead of ``t``/``s``/``d``. The seal entry has ``end`` = total number of points.
"""

from __future__ import annotations

import json

import numpy as np


def shape_str(shape: tuple[int, ...]) -> str:
    return ",".join(str(int(x)) for x in shape)


def parse_shape(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",")) if text else ()


def encode_points(first: int, points: np.ndarray) -> dict:
    """Fields for points (an array whose first axis counts points)."""
    points = np.ascontiguousarray(points)
    return {
        "i": first,
        "n": points.shape[0],
        "t": points.dtype.str,
        "s": shape_str(points.shape[1:]),
        "d": points.tobytes(),
    }


def encode_refs(first: int, refs: list[dict]) -> dict:
    return {"i": first, "n": len(refs), "r": json.dumps(refs)}


def encode_seal(total: int) -> dict:
    return {"end": total}


def decode(fields: dict) -> tuple[str, int, object]:
    """("data", first, ndarray) | ("refs", first, list) | ("end", total, None)."""
    if b"end" in fields:
        return "end", int(fields[b"end"]), None
    first = int(fields[b"i"])
    if b"r" in fields:
        return "refs", first, json.loads(fields[b"r"])
    n = int(fields[b"n"])
    dtype = np.dtype(fields[b"t"].decode())
    shape = parse_shape(fields[b"s"].decode())
    arr = np.frombuffer(fields[b"d"], dtype=dtype).reshape((n, *shape))
    return "data", first, arr
