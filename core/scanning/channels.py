"""AcquisitionChannel: a named, typed flow of points out of an acquisition object."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np


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
        self.listeners: list[Callable[[AcquisitionChannel, object], None]] = []

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
        """Publish one point or a block of points to every listener."""
        if self.kind == "ref":
            refs = [data] if isinstance(data, dict) else list(data)
            self.count += len(refs)
            for fn in self.listeners:
                fn(self, refs)
            return
        points = self.as_points(data)
        self.count += points.shape[0]
        for fn in self.listeners:
            fn(self, points)

    def __repr__(self) -> str:
        return f"AcquisitionChannel({self.name!r}, {self.dtype.str}, {self.shape}, unit={self.unit!r})"
