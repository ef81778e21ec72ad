"""Standard scans as functions over core objects, with BLISS's signatures.

Every function takes, after its own arguments, counters (Counter, CounterController or
MeasurementGroup; none = the session's active measurement group) and the options
name, title, save, run (False: return the Scan unstarted), context, presets, watchdog.
Step scans count `intervals + 1` points. The Scan is returned (also kept as
context.last_scan for peak/cen/com).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .chain import AcquisitionChain
from .context import ScanContext, current_context
from .masters import SoftwarePositionTriggerMaster, StepMaster, TimerMaster
from .presets import ScanPreset
from .scan import Scan
from .toolbox import add_counters, expand_counters

_OPTIONS = {"name", "title", "save", "run", "context", "presets", "watchdog", "sleep_time", "backnforth",
            "count_time"}


def _opts(kw: dict, scan_type: str) -> dict:
    unknown = set(kw) - _OPTIONS
    if unknown:
        raise TypeError(f"{scan_type}: unknown option(s) {sorted(unknown)}")
    return kw


def _counters(counter_args, ctx: ScanContext) -> list:
    if counter_args:
        return expand_counters(counter_args)
    mgs = ctx.measurement_groups
    if mgs is not None and mgs.active is not None and mgs.active.enabled:
        return mgs.active.enabled
    raise ValueError(f"session {ctx.session}: no counter given and no active measurement group with "
                     f"enabled counters")


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, (int, float, np.floating)) else getattr(v, "name", str(v))


def _finish(chain, scan_type: str, title: str, info: dict, opts: dict, extra_presets=()) -> Scan:
    ctx = opts.get("context") or current_context()
    info = dict(info, type=scan_type, title=opts.get("title") or title)
    scan = Scan(chain, opts.get("name") or scan_type, info, context=ctx, save=opts.get("save", True),
                presets=[*opts.get("presets", ()), *extra_presets], watchdog=opts.get("watchdog"))
    if opts.get("run", True):
        scan.run()
    return scan


def _timer_chain(count_time, npoints, counters, ctx, sleep_time=0.0, top=None):
    chain = AcquisitionChain()
    timer = TimerMaster(count_time, npoints, sleep_time)
    if top is not None:
        chain.add(top, timer)
    else:
        chain.add(timer)
    add_counters(chain, timer, _counters(counters, ctx), {"npoints": npoints, "count_time": count_time})
    return chain


def _step_scan(scan_type: str, axes, positions, count_time, counters, title: str, opts: dict,
               extra_presets=(), extra_info=None) -> Scan:
    ctx = opts.get("context") or current_context()
    top = StepMaster(axes, positions)
    npoints = top.npoints
    chain = _timer_chain(count_time, npoints, counters, ctx, opts.get("sleep_time", 0.0), top=top)
    info = {"npoints": npoints, "count_time": count_time,
            "positioners": {ax.name: ax.position for ax in axes},
            "axes": [ax.name for ax in axes], **(extra_info or {})}
    return _finish(chain, scan_type, title, info, opts, extra_presets)


class ReturnToStart(ScanPreset):
    """After the scan (whatever its end), move the axes back where they were (d-scans)."""

    def __init__(self, axes) -> None:
        self.axes = list(axes)
        self.start = [ax.position for ax in self.axes]

    def after_scan(self, scan) -> None:
        for ax, pos in zip(self.axes, self.start):
            ax.move(pos, wait=False)
        for ax in self.axes:
            ax.wait_move()


# ---------------------------------------------------------------------- time based
def ct(count_time: float = 1.0, *counters, **kw) -> Scan:
    """Count once for count_time (not saved unless save=True)."""
    opts = _opts(kw, "ct")
    opts.setdefault("save", False)
    ctx = opts.get("context") or current_context()
    chain = _timer_chain(count_time, 1, counters, ctx)
    return _finish(chain, "ct", f"ct {_fmt(count_time)}", {"npoints": 1, "count_time": count_time}, opts)


def loopscan(npoints: int, count_time: float, *counters, **kw) -> Scan:
    opts = _opts(kw, "loopscan")
    ctx = opts.get("context") or current_context()
    chain = _timer_chain(count_time, npoints, counters, ctx, opts.get("sleep_time", 0.0))
    return _finish(chain, "loopscan", f"loopscan {npoints} {_fmt(count_time)}",
                   {"npoints": npoints, "count_time": count_time}, opts)


def timescan(count_time: float, *counters, npoints: int = 0, **kw) -> Scan:
    """Count every count_time (+ sleep_time) until stopped, or npoints times."""
    opts = _opts(kw, "timescan")
    ctx = opts.get("context") or current_context()
    chain = _timer_chain(count_time, npoints, counters, ctx, opts.get("sleep_time", 0.0))
    return _finish(chain, "timescan", f"timescan {_fmt(count_time)}",
                   {"npoints": npoints, "count_time": count_time}, opts)


# ---------------------------------------------------------------------- step scans
def anscan(motor_tuple_list: Sequence[tuple], intervals: int, count_time: float, *counters, **kw) -> Scan:
    """Several axes each from start to stop together: [(m0, 0, 1), (m1, 5, 10)]."""
    opts = _opts(kw, "anscan")
    if intervals < 1:
        raise ValueError(f"anscan: intervals {intervals} must be >= 1")
    axes = [m for m, _, _ in motor_tuple_list]
    positions = [np.linspace(s, e, intervals + 1) for _, s, e in motor_tuple_list]
    args = " ".join(f"{_fmt(m)} {_fmt(s)} {_fmt(e)}" for m, s, e in motor_tuple_list)
    return _step_scan("anscan", axes, positions, count_time, counters,
                      f"anscan {args} {intervals} {_fmt(count_time)}", opts)


def ascan(motor, start: float, stop: float, intervals: int, count_time: float, *counters, **kw) -> Scan:
    opts = _opts(kw, "ascan")
    scan = anscan([(motor, start, stop)], intervals, count_time, *counters, **dict(opts, run=False))
    scan.scan_info["type"] = "ascan"
    scan.scan_info["title"] = opts.get("title") or \
        f"ascan {motor.name} {_fmt(start)} {_fmt(stop)} {intervals} {_fmt(count_time)}"
    return scan.run() if opts.get("run", True) else scan


def a2scan(m1, s1, e1, m2, s2, e2, intervals: int, count_time: float, *counters, **kw) -> Scan:
    opts = _opts(kw, "a2scan")
    scan = anscan([(m1, s1, e1), (m2, s2, e2)], intervals, count_time, *counters, **dict(opts, run=False))
    scan.scan_info["type"] = "a2scan"
    scan.scan_info["title"] = opts.get("title") or scan.scan_info["title"].replace("anscan", "a2scan")
    return scan.run() if opts.get("run", True) else scan


def dnscan(motor_tuple_list, intervals: int, count_time: float, *counters, scan_type="dnscan", **kw) -> Scan:
    """Relative anscan; the axes go back to their start positions after the scan."""
    opts = _opts(kw, scan_type)
    axes = [m for m, _, _ in motor_tuple_list]
    back = ReturnToStart(axes)
    positions = [np.linspace(p0 + s, p0 + e, intervals + 1)
                 for (_, s, e), p0 in zip(motor_tuple_list, back.start)]
    args = " ".join(f"{_fmt(m)} {_fmt(s)} {_fmt(e)}" for m, s, e in motor_tuple_list)
    return _step_scan(scan_type, axes, positions, count_time, counters,
                      f"{scan_type} {args} {intervals} {_fmt(count_time)}", opts, extra_presets=[back])


def dscan(motor, start: float, stop: float, intervals: int, count_time: float, *counters, **kw) -> Scan:
    return dnscan([(motor, start, stop)], intervals, count_time, *counters, scan_type="dscan", **kw)


def d2scan(m1, s1, e1, m2, s2, e2, intervals: int, count_time: float, *counters, **kw) -> Scan:
    return dnscan([(m1, s1, e1), (m2, s2, e2)], intervals, count_time, *counters, scan_type="d2scan", **kw)


def _mesh_positions(s1, e1, i1, s2, e2, i2, backnforth: bool) -> tuple[np.ndarray, np.ndarray]:
    fast = np.linspace(s1, e1, i1 + 1)
    slow = np.linspace(s2, e2, i2 + 1)
    p1, p2 = [], []
    for j, y in enumerate(slow):
        row = fast[::-1] if backnforth and j % 2 else fast
        p1.extend(row)
        p2.extend([y] * len(row))
    return np.asarray(p1), np.asarray(p2)


def amesh(m1, s1, e1, i1, m2, s2, e2, i2, count_time: float, *counters, backnforth: bool = False, **kw) -> Scan:
    """Grid scan: m1 is the fast axis; backnforth makes a serpentine."""
    opts = _opts(kw, "amesh")
    p1, p2 = _mesh_positions(s1, e1, i1, s2, e2, i2, backnforth)
    title = (f"amesh {m1.name} {_fmt(s1)} {_fmt(e1)} {i1} {m2.name} {_fmt(s2)} {_fmt(e2)} {i2} "
             f"{_fmt(count_time)}")
    return _step_scan("amesh", [m1, m2], [p1, p2], count_time, counters, title, opts,
                      extra_info={"npoints1": i1 + 1, "npoints2": i2 + 1, "backnforth": backnforth, "data_dim": 2})


def dmesh(m1, s1, e1, i1, m2, s2, e2, i2, count_time: float, *counters, backnforth: bool = False, **kw) -> Scan:
    opts = _opts(kw, "dmesh")
    back = ReturnToStart([m1, m2])
    a, b = back.start
    p1, p2 = _mesh_positions(a + s1, a + e1, i1, b + s2, b + e2, i2, backnforth)
    title = (f"dmesh {m1.name} {_fmt(s1)} {_fmt(e1)} {i1} {m2.name} {_fmt(s2)} {_fmt(e2)} {i2} "
             f"{_fmt(count_time)}")
    return _step_scan("dmesh", [m1, m2], [p1, p2], count_time, counters, title, opts, extra_presets=[back],
                      extra_info={"npoints1": i1 + 1, "npoints2": i2 + 1, "backnforth": backnforth, "data_dim": 2})


def lookupscan(motor_pos_list: Sequence[tuple], count_time: float, *counters, **kw) -> Scan:
    """Axes visit given positions together: [(m0, [0, 1, 3]), (m1, [5, 4, 2])]."""
    opts = _opts(kw, "lookupscan")
    axes = [m for m, _ in motor_pos_list]
    positions = [np.asarray(p, dtype=float) for _, p in motor_pos_list]
    title = f"lookupscan {' '.join(a.name for a in axes)} {len(positions[0])} {_fmt(count_time)}"
    return _step_scan("lookupscan", axes, positions, count_time, counters, title, opts)


def pointscan(motor, positions: Sequence[float], count_time: float, *counters, **kw) -> Scan:
    opts = _opts(kw, "pointscan")
    return _step_scan("pointscan", [motor], [np.asarray(positions, dtype=float)], count_time, counters,
                      f"pointscan {motor.name} {len(positions)} {_fmt(count_time)}", opts)


# ---------------------------------------------------------------------- continuous
def cscan(motor, start: float, stop: float, npoints: int, scan_time: float, *counters, **kw) -> Scan:
    """Software continuous scan: motor crosses start..stop in scan_time at constant speed;
    counters are read each time it passes one of npoints equidistant positions."""
    opts = _opts(kw, "cscan")
    ctx = opts.get("context") or current_context()
    count_time = opts.get("count_time", 0.0)
    top = SoftwarePositionTriggerMaster(motor, start, stop, npoints, scan_time)
    chain = AcquisitionChain()
    chain.add(top)
    add_counters(chain, top, _counters(counters, ctx), {"npoints": npoints, "count_time": count_time})
    info = {"npoints": npoints, "count_time": count_time, "scan_time": scan_time, "axes": [motor.name],
            "positioners": {motor.name: motor.position}}
    return _finish(chain, "cscan", f"cscan {motor.name} {_fmt(start)} {_fmt(stop)} {npoints} {_fmt(scan_time)}",
                   info, opts)
