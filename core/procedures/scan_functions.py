"""The scan and alignment functions a session's code calls, bound to its ScanServer.

`ascan(m0, 0, 5, 20, 0.1, diode)` in a setup file or procedure builds the scan with
core.scanning.scans in the session's context, then runs it through the procedure
runner (the ScanServer's slot: checks, Beacon locks, events, Redis, file). `cen()`,
`goto_cen()`... work on the session's last scan. `sleep` is gevent's: a stop or abort
reaches a procedure there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import gevent

from ..scanning import peak, scans

SCAN_FUNCTIONS = ("ct", "loopscan", "timescan", "ascan", "dscan", "a2scan", "d2scan", "anscan", "dnscan",
                  "amesh", "dmesh", "lookupscan", "pointscan", "cscan")
ALIGNMENT_FUNCTIONS = ("peak", "cen", "com", "fwhm", "goto_peak", "goto_cen", "goto_com")


def _scan_function(fn: Callable, runner: Any) -> Callable:
    @functools.wraps(fn)
    def scan_function(*args, **kw):
        run = kw.pop("run", True)
        kw.setdefault("context", runner.context)
        scan = fn(*args, run=False, **kw)
        return runner.run_scan(scan) if run else scan
    return scan_function


def _alignment_function(fn: Callable, runner: Any) -> Callable:
    @functools.wraps(fn)
    def alignment_function(counter=None, axis=None, scan=None):
        return fn(counter, axis, scan or runner.context.last_scan)
    return alignment_function


def scan_functions(runner: Any) -> dict[str, Any]:
    """{name: function} for a session namespace; runner: a ProcedureRunner (its context
    and run_scan)."""
    out: dict[str, Any] = {name: _scan_function(getattr(scans, name), runner) for name in SCAN_FUNCTIONS}
    out.update({name: _alignment_function(getattr(peak, name), runner) for name in ALIGNMENT_FUNCTIONS})
    out["sleep"] = gevent.sleep
    return out


__all__ = ["ALIGNMENT_FUNCTIONS", "SCAN_FUNCTIONS", "scan_functions"]
