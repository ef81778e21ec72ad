"""Alignment helpers on the last scan: peak, cen, com, fwhm, and goto_* to move there."""

from __future__ import annotations

import numpy as np

from .context import current_context


def _xy(counter=None, axis=None, scan=None) -> tuple[np.ndarray, np.ndarray, object, object]:
    scan = scan or current_context().last_scan
    if scan is None:
        raise RuntimeError("no scan was run yet in this session")
    data = scan.get_data()
    axes = [n for n in data.keys() if n.startswith("axis:")]
    if axis is None:
        if not axes:
            raise ValueError(f"scan {scan.name} has no axis channel to align on")
        axis_name = axes[0]
    else:
        axis_name = f"axis:{getattr(axis, 'name', axis)}"
    if counter is None:
        others = [n for n in data.keys() if not n.startswith(("axis:", "timer:"))]
        if not others:
            raise ValueError(f"scan {scan.name} has no counter channel")
        counter = others[0]
    cname = getattr(counter, "fullname", counter)
    x = np.asarray(data[axis_name], dtype=float)
    y = np.asarray(data[cname], dtype=float)
    n = min(len(x), len(y))
    if n < 3:
        raise ValueError(f"scan {scan.name}: {n} points of {cname} are too few to align on")
    return x[:n], y[:n], scan, axis_name


def _peak(x: np.ndarray, y: np.ndarray) -> float:
    """Maximum refined by a parabola through log(y) at the top points (exact for a
    gaussian): five points around the maximum where there are, so that counting noise moves
    the result about half as much as with three; the raw maximum at an edge."""
    i = int(np.argmax(y))
    if i == 0 or i == len(y) - 1:
        return float(x[i])
    half = 2 if 2 <= i <= len(y) - 3 else 1
    base = y.min()
    yy = y[i - half:i + half + 1] - base
    if np.all(yy > 0):
        yy = np.log(yy)
    xx = x[i - half:i + half + 1]
    a, b, _ = np.polyfit(xx - x[i], yy, 2)
    if a >= 0:
        return float(x[i])
    top = float(x[i] - b / (2 * a))
    return top if xx[0] <= top <= xx[-1] else float(x[i])


def _half_crossings(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    i = int(np.argmax(y))
    half = (y[i] + y.min()) / 2.0

    def cross(j0, step):
        j = j0
        while 0 <= j + step < len(y) and y[j + step] > half:
            j += step
        k = j + step
        if not 0 <= k < len(y):
            return float(x[j])
        return float(x[j] + (half - y[j]) * (x[k] - x[j]) / (y[k] - y[j]))

    return cross(i, -1), cross(i, +1)


def peak(counter=None, axis=None, scan=None) -> float:
    x, y, *_ = _xy(counter, axis, scan)
    return _peak(x, y)


def fwhm(counter=None, axis=None, scan=None) -> float:
    x, y, *_ = _xy(counter, axis, scan)
    lo, hi = _half_crossings(x, y)
    return abs(hi - lo)


def cen(counter=None, axis=None, scan=None) -> float:
    """Middle of the two half-maximum crossings."""
    x, y, *_ = _xy(counter, axis, scan)
    lo, hi = _half_crossings(x, y)
    return (lo + hi) / 2.0


def com(counter=None, axis=None, scan=None) -> float:
    """Centre of mass of the counter above its minimum."""
    x, y, *_ = _xy(counter, axis, scan)
    w = y - y.min()
    if w.sum() == 0:
        raise ValueError("com: the counter is flat")
    return float((x * w).sum() / w.sum())


def _goto(fn, counter, axis, scan):
    x, y, scan, axis_name = _xy(counter, axis, scan)
    target = fn(counter, axis, scan)
    ax = axis if hasattr(axis, "move") else _scan_axis(scan, axis_name)
    ax.move(target, wait=True)
    return target


def _scan_axis(scan, axis_name: str):
    name = axis_name.split(":", 1)[1]
    for node in scan.chain.nodes:
        for ax in getattr(node, "axes", []) or [getattr(node, "axis", None)]:
            if ax is not None and ax.name == name:
                return ax
    raise ValueError(f"scan {scan.name}: axis {name} not found in the chain")


def goto_peak(counter=None, axis=None, scan=None) -> float:
    return _goto(peak, counter, axis, scan)


def goto_cen(counter=None, axis=None, scan=None) -> float:
    return _goto(cen, counter, axis, scan)


def goto_com(counter=None, axis=None, scan=None) -> float:
    return _goto(com, counter, axis, scan)
