"""AcquisitionChannel: a named, typed flow of points out of an acquisition object."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

_SCALARS = frozenset({float, int, bool, np.float64, np.float32, np.int64, np.int32, np.int16, np.uint8,
                      np.uint16, np.uint32, np.uint64, np.bool_})


class AcquisitionChannel:
    """Points of one quantity. shape is the shape of one point (() for a scalar; -1 for
    a dimension that varies between points). kind "ref" carries {file, index} references
    to data kept in files (images) instead of the data itself. `info` holds what else a
    reader of the scan needs about the channel (an MCA spectrum's energy axis, a ROI's
    bounds); it is published with the channel's description."""

    def __init__(self, name: str, dtype="float64", shape: Iterable[int] = (), unit: str | None = None,
                 kind: str = "data", info: dict | None = None) -> None:
        self.name = name
        self.info = dict(info or {})
        self.dtype = np.dtype(dtype)
        self.shape = tuple(int(x) for x in shape)
        self.unit = unit
        self.kind = kind
        self.items: list = []  # scalars (one point each) and arrays (blocks of points)
        self._extra = 0  # points beyond one per item (blocks): count = len(items) + _extra
        self._group: RowGroup | None = None  # set when a node fills this channel by rows
        self.listeners: list[Callable[[AcquisitionChannel, object], None]] = []
        self._scalar = not self.shape and kind == "data"

    @property
    def count(self) -> int:
        """Points emitted so far (a scalar point costs one list append, nothing more)."""
        g = self._group
        return len(self.items) + self._extra + (len(g.rows) if g is not None else 0)

    @count.setter
    def count(self, value: int) -> None:
        if value != 0:
            raise ValueError(f"channel {self.name}: count can only be reset to 0, not {value}")
        self.reset()

    def reset(self) -> None:
        """Forget every point (a new scan of the same chain); `items` keeps its identity."""
        if self._group is not None:
            self._group.rows.clear()
            self._group.error = None
        self.items.clear()
        self._extra = 0

    def sync(self) -> None:
        """Move the rows pending in this channel's row group into `items`."""
        g = self._group
        if g is not None and g.rows:
            g.materialize()

    @property
    def short_name(self) -> str:
        return self.name.rsplit(":", 1)[-1]

    def description(self) -> dict:
        return {**self.info, "dtype": self.dtype.str, "shape": list(self.shape), "unit": self.unit,
                "kind": self.kind}

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
        g = self._group
        if g is not None and g.rows:
            g.materialize()  # keep the order of points emitted by rows and one by one
        self._emit(data)

    def _emit(self, data) -> None:
        if self._scalar and data.__class__ in _SCALARS:
            self.items.append(data)  # hot path: one scalar point, converted in bulk later
            if self.listeners:
                points = np.array((data,), dtype=self.dtype)
                for fn in self.listeners:
                    fn(self, points)
            return
        if self.kind == "ref":
            refs = [data] if isinstance(data, dict) else list(data)
            self.items.append(refs)
            self._extra += len(refs) - 1
            for fn in self.listeners:
                fn(self, refs)
            return
        if not self.shape and not isinstance(data, (np.ndarray, list, tuple)):
            self.items.append(data)  # one scalar point of another type (Decimal, np.float16...)
            if self.listeners:
                points = np.array((data,), dtype=self.dtype)
                for fn in self.listeners:
                    fn(self, points)
            return
        points = self.as_points(data)
        self.items.append(points)
        self._extra += points.shape[0] - 1
        for fn in self.listeners:
            fn(self, points)

    def blocks(self, start: int = 0) -> tuple[list, int]:
        """(arrays of consecutive same-shape points from items[start:], next start); a "ref"
        channel gives one list of references instead."""
        g = self._group
        if g is not None and g.rows:
            g.materialize()
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


def emit_row(channels: list[AcquisitionChannel], values) -> None:
    """Emit values[i] on channels[i]: the per-point path of a node that reads several
    scalars at once. A plain scalar on a channel without listener is one list append."""
    for ch, v in zip(channels, values):
        if v.__class__ in _SCALARS and ch._scalar and not ch.listeners:
            ch.items.append(v)
        else:
            ch.emit(v)


class RowGroup:
    """Scalar channels a node fills together, one row of values per point: a point costs
    one list append; the rows become one array per channel (in bulk, with numpy) when the
    channels are read (publisher flush, scan data, count) or emitted on one by one.

    Usable only while no channel has listeners (they want every point as it comes):
    check `usable()` once the chain is prepared. A value numpy cannot take as a scalar of
    the channel's dtype goes through emit() as before; its error is kept in `error` (the
    node re-raises it in the scan: materialize may run in the publisher's greenlet)."""

    __slots__ = ("channels", "rows", "error")

    def __init__(self, channels: list[AcquisitionChannel]) -> None:
        self.channels = list(channels)
        self.rows: list = []  # never replaced: nodes keep rows.append
        self.error: BaseException | None = None
        for ch in self.channels:
            if ch._group is not None and ch._group is not self:
                raise ValueError(f"channel {ch.name} already belongs to a row group")
            ch._group = self

    def usable(self) -> bool:
        return all(ch._scalar and not ch.listeners for ch in self.channels)

    def materialize(self) -> None:
        rows = self.rows[:]
        self.rows.clear()
        if not rows:
            return
        n = len(rows)
        nch = len(self.channels)
        if min(map(len, rows)) != nch or max(map(len, rows)) != nch:
            for row in rows:  # rows of another length than the channels: point by point
                for ch, v in zip(self.channels, row):
                    self._emit_value(ch, v)
            return
        for ch, col in zip(self.channels, zip(*rows)):
            try:
                arr = np.array(col, dtype=ch.dtype)
            except (TypeError, ValueError):
                arr = None
            if arr is not None and arr.shape == (n,):
                ch.items.append(arr)
                ch._extra += n - 1
                continue
            for v in col:  # an odd value: the per-point path decides (and raises) as ever
                self._emit_value(ch, v)

    def _emit_value(self, ch: AcquisitionChannel, v) -> None:
        try:
            ch._emit(v)
        except Exception as exc:
            if self.error is None:
                self.error = exc
