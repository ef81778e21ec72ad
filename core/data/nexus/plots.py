"""NXdata plots beyond the default one: spectra against their axis, and 2-D maps of
mesh scans.

- A channel whose description has an `axis` ({name, unit, polynomial}: an MCA
  spectrum's energy) gets that axis as a dataset beside its data
  (`instrument/<name>/<axis>`) and an NXdata `<entry>/<name>` plotting the (npoints,
  nbins) spectra against it.
- A mesh scan (info `data_dim` 2, `npoints1` x `npoints2`, `axes` [fast, slow]) gets, once
  its data are complete, a 2-D default plot (`plotselect`: the first counter) and one map
  NXdata `<entry>/<name>_map` per channel whose description has a `roi`. A map is an
  image when every point was taken on the grid (rows of the slow axis, columns of the
  fast one, serpentine rows put back in order), a scatter of the measured positions
  otherwise (an interrupted or irregular mesh). silx and h5web show both.
"""

from __future__ import annotations

import h5py
import numpy as np

from .naming import AXIS_PREFIX, ChannelPlace

RESERVED = {"title", "start_time", "end_time", "end_reason", "error", "instrument", "measurement", "scan_info",
            "plotselect"}


def axis_values(axis: dict, size: int) -> np.ndarray:
    """Values of a point axis from its polynomial over the index."""
    coeffs = [float(c) for c in axis.get("polynomial", [0.0, 1.0])]
    i = np.arange(size, dtype=float)
    return sum(c * i ** k for k, c in enumerate(coeffs))


def write_spectrum_plots(entry: h5py.Group, info: dict, where: dict[str, ChannelPlace]) -> None:
    """Axis datasets and one NXdata per channel with a point axis (at skeleton time)."""
    for ch, place in where.items():
        desc = info["channels"][ch]
        axis = desc.get("axis")
        shape = desc.get("shape") or []
        if not isinstance(axis, dict) or len(shape) != 1 or shape[0] <= 0 or place.kind != "data":
            continue
        name = str(axis.get("name") or "axis").replace("/", "_")
        group = entry[place.group]
        if name not in group:
            ds = group.create_dataset(name, data=axis_values(axis, int(shape[0])))
            if axis.get("unit"):
                ds.attrs["units"] = str(axis["unit"])
        if place.short in RESERVED or place.short in entry:
            continue
        plot = entry.create_group(place.short)
        plot.attrs["NX_class"] = "NXdata"
        root = entry.name.strip("/")
        plot["data"] = h5py.SoftLink(f"/{root}/{place.dataset}")
        plot[name] = h5py.SoftLink(f"/{root}/{place.group}/{name}")
        plot.attrs["signal"] = "data"
        plot.attrs["axes"] = [".", name]
        plot.attrs[f"{name}_indices"] = 1


def is_mesh(info: dict) -> bool:
    return int(info.get("data_dim") or 0) == 2 and bool(info.get("npoints1")) and bool(info.get("npoints2")) \
        and len(info.get("axes") or []) >= 2


def write_maps(entry: h5py.Group, info: dict, where: dict[str, ChannelPlace], signal: str | None) -> None:
    """A mesh scan's 2-D plots (at the end, data complete): the default plot and the
    maps of ROI channels. Safe to run again."""
    if not is_mesh(info):
        return
    fast, slow = (f"{AXIS_PREFIX}:{a}" for a in info["axes"][:2])
    if fast not in where or slow not in where:
        return
    x = entry[where[fast].dataset][()]
    y = entry[where[slow].dataset][()]
    grid = _grid(x, y, int(info["npoints1"]), int(info["npoints2"]), bool(info.get("backnforth")))
    names = (where[fast].short, where[slow].short)
    if signal is not None and signal in where and where[signal].ndim == 0:
        _map(entry, "plotselect", entry[where[signal].dataset], where[signal], x, y, grid, names)
    for ch, place in where.items():
        if place.ndim == 0 and "roi" in info["channels"][ch] and place.kind == "data":
            _map(entry, f"{place.short}_map", entry[place.dataset], place, x, y, grid, names)


def _grid(x: np.ndarray, y: np.ndarray, n1: int, n2: int, backnforth: bool):
    """(order, fast values, slow values) when the n1 x n2 points lie on a grid, else None.
    order[j, i] is the index of the point in row j (slow), column i (fast)."""
    if len(x) != n1 * n2 or len(y) != n1 * n2 or n1 < 2 or n2 < 2:
        return None
    order = np.arange(n1 * n2).reshape(n2, n1)
    if backnforth:
        order[1::2] = order[1::2, ::-1]
    gx, gy = x[order], y[order]
    fast, slow = gx.mean(axis=0), gy.mean(axis=1)
    tol_x = 0.01 * max(np.min(np.abs(np.diff(fast))), 1e-12)
    tol_y = 0.01 * max(np.min(np.abs(np.diff(slow))), 1e-12)
    if np.max(np.abs(gx - fast)) > tol_x or np.max(np.abs(gy - slow[:, None])) > tol_y:
        return None
    return order, fast, slow


def _map(entry: h5py.Group, name: str, data: h5py.Dataset, place: ChannelPlace, x: np.ndarray, y: np.ndarray,
         grid, axis_names: tuple[str, str]) -> None:
    if name in entry:
        del entry[name]
    plot = entry.create_group(name)
    plot.attrs["NX_class"] = "NXdata"
    plot.attrs["signal"] = place.short
    fx, fy = axis_names
    values = data[()]
    if grid is not None and len(values) == grid[0].size:
        order, fast, slow = grid
        ds = plot.create_dataset(place.short, data=values[order])
        plot.create_dataset(fx, data=fast)
        plot.create_dataset(fy, data=slow)
        plot.attrs["axes"] = [fy, fx]          # rows: slow axis, columns: fast axis
        plot.attrs[f"{fy}_indices"] = 0
        plot.attrs[f"{fx}_indices"] = 1
        plot.attrs["interpretation"] = "image"
    else:
        n = min(len(values), len(x), len(y))
        ds = plot.create_dataset(place.short, data=values[:n])
        plot.create_dataset(fx, data=x[:n])
        plot.create_dataset(fy, data=y[:n])
        plot.attrs["axes"] = [fx, fy]          # a scatter: both axes along the points
        plot.attrs[f"{fx}_indices"] = 0
        plot.attrs[f"{fy}_indices"] = 0
    units = data.attrs.get("units")
    if units is not None:
        ds.attrs["units"] = units
