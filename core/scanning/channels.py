"""AcquisitionChannel: a named, typed flow of points out of an acquisition object."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

_SCALARS = frozenset({float, int, bool, np.float64, np.float32, np.int64, np.int32, np.int16, np.uint8,
                      np.uint16, np.uint32, np.uint64, np.bool_})


class AcquisitionChannel:
    """Points of one quantity. shape is the shape of one point (() for a scalar; -1 for
    a dimension that varies between points). kind "ref" carries {file, index} references
    to data kept in files (images) instead of the data itself."""

    def __init__(self, name: str, dtype="float64", shape: Iterable[int] = (), unit: str | None = None,
                 kind: str = "data") -> None:
        self.name = name
        self.dtype = np.dtype(dtype)
        self.shape = tuple(int(x) for x in shape)
        self.unit = unit
        self.kind = kind
        self.count = 0
        self.items: list = []  # scalars (one point each) and arrays (blocks of points)
        self.listeners: list[Callable[[AcquisitionChannel, object], None]] = []
        self._scalar = not self.shape and kind == "data"

    @property
    def short_name(self) -> str:
        return self.name.rsplit(":", 1)[-1]

    def description(self) -> dict:
        return {"dtype": self.dtype.str, "shape": list(self.shape), "unit": self.unit, "kind": self.kind}

    def as_points(self, data) -> np.ndarray:
        """data as an array whose first axis counts points (one point or many)."""
        arr = np.asarray(data, dtype=self.dtype)
        if arr.ndim == len(self.shape):
            arr = arr.reshape((1, *arr.shape))
        elif arr.ndim != len(self.shape) + 1:
            raise ValueError(f"channel {self.name}: data of shape {arr.shape} does not fit points of shape "
                             f"{self.shape}")
        for want, got in zip(self.shape, arr.shape[1:]):
            if want >= 0 and want != got:
                raise ValueError(f"channel {self.name}: point shape {arr.shape[1:]} is not {self.shape}")
        return arr

    def emit(self, data) -> None:
        """Publish one point or a block of points. Points are kept in `items` (pulled by the
        publisher and the scan's data); listeners, if any, get them as an array at once."""
        if self._scalar and data.__class__ in _SCALARS:
            self.items.append(data)  # hot path: one scalar point, converted in bulk later
            self.count += 1
            if self.listeners:
                points = np.array((data,), dtype=self.dtype)
                for fn in self.listeners:
                    fn(self, points)
            return
        if self.kind == "ref":
            refs = [data] if isinstance(data, dict) else list(data)
            self.items.append(refs)
            self.count += len(refs)
            for fn in self.listeners:
                fn(self, refs)
            return
        if not self.shape and not isinstance(data, (np.ndarray, list, tuple)):
            self.items.append(data)  # hot path: one scalar point, converted in bulk later
            self.count += 1
            if self.listeners:
                points = np.array((data,), dtype=self.dtype)
                for fn in self.listeners:
                    fn(self, points)
            return
        points = self.as_points(data)
        self.items.append(points)
        self.count += points.shape[0]
        for fn in self.listeners:
            fn(self, points)

    def blocks(self, start: int = 0) -> tuple[list, int]:
        """(arrays of consecutive same-shape points from items[start:], next start); a "ref"
        channel gives one list of references instead."""
        items = self.items[start:]
        end = start + len(items)
        if self.kind == "ref":
            return ([[r for chunk in items for r in chunk]] if items else []), end
        return to_blocks(items, self.dtype), end

    def __repr__(self) -> str:
        return f"AcquisitionChannel({self.name!r}, {self.dtype.str}, {self.shape}, unit={self.unit!r})"


def to_blocks(items: list, dtype: np.dtype) -> list[np.ndarray]:
    """Group items (scalars and point arrays) into as few arrays as point shapes allow."""
    out: list[np.ndarray] = []
    run: list = []
    pending: list[np.ndarray] = []

    def close_pending():
        if pending:
            out.append(pending[0] if len(pending) == 1 else np.concatenate(pending))
            pending.clear()

    for it in items:
        if isinstance(it, np.ndarray):
            if run:
                block = np.asarray(run, dtype=dtype)
                run = []
                if pending and pending[0].shape[1:] != ():
                    close_pending()
                pending.append(block)
            if pending and pending[0].shape[1:] != it.shape[1:]:
                close_pending()
            pending.append(it)
        else:
            run.append(it)
    if run:
        block = np.asarray(run, dtype=dtype)
        if pending and pending[0].shape[1:] != ():
            close_pending()
        pending.append(block)
    close_pending()
    return out
