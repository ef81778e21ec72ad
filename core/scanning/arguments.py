"""Standard scans from their arguments as one types them: ["m0", "0", "10", "20", "0.1", "diode"].

Each parser turns the strings into the objects and numbers of the core scan function
and builds the Scan without starting it; every problem (unknown axis or counter, a
number that is not one, 0 points, a position outside the limits) is a ScanArgumentError
raised before anything moves. Trailing `key=value` tokens are options
(npoints, sleep_time, title, save, backnforth, count_time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import scans
from .session_objects import SessionObjects


class ScanArgumentError(ValueError):
    """A scan command's arguments are wrong (nothing was started)."""


_OPTION_TYPES: dict[str, Callable[[str], Any]] = {
    "npoints": int, "sleep_time": float, "title": str, "count_time": float,
    "save": lambda v: v.lower() in ("1", "true", "yes", "on"),
    "backnforth": lambda v: v.lower() in ("1", "true", "yes", "on"),
}


class Args:
    """A cursor over the string arguments of one command."""

    def __init__(self, scan_type: str, tokens: list[str], session: SessionObjects) -> None:
        self.scan_type = scan_type
        self.session = session
        self.options: dict[str, Any] = {}
        self.tokens: list[str] = []
        for tok in tokens:
            key, eq, value = tok.partition("=")
            if eq and key in _OPTION_TYPES:
                try:
                    self.options[key] = _OPTION_TYPES[key](value)
                except ValueError:
                    self.fail(f"option {key}={value!r} is not a valid {key}")
            elif eq and key.isidentifier():
                self.fail(f"unknown option {key!r} (known: {', '.join(sorted(_OPTION_TYPES))})")
            else:
                self.tokens.append(tok.strip())
        self.pos = 0

    def fail(self, message: str):
        raise ScanArgumentError(f"{self.scan_type}: {message}")

    def _next(self, what: str) -> str:
        if self.pos >= len(self.tokens):
            self.fail(f"missing {what} (argument {self.pos + 1})")
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def peek_axis(self) -> bool:
        return self.pos < len(self.tokens) and self.tokens[self.pos] in self.session.axes

    def axis(self, what: str = "axis"):
        name = self._next(what)
        axis = self.session.axes.get(name)
        if axis is None:
            self.fail(f"unknown axis {name!r} (argument {self.pos}); axes of session "
                      f"{self.session.name}: {', '.join(sorted(self.session.axes)) or 'none'}")
        return axis

    def _not_a_name(self, what: str, tok: str) -> None:
        """A counter (or axis) where a number is due: the number before it was left out."""
        for kind, names in (("a counter", {**self.session.counters, **self.session.groups}),
                            ("an axis", self.session.axes)):
            if tok in names:
                self.fail(f"missing {what}: {tok!r} (argument {self.pos}) is {kind}")

    def number(self, what: str) -> float:
        tok = self._next(what)
        self._not_a_name(what, tok)
        try:
            value = float(tok)
        except ValueError:
            self.fail(f"{what} {tok!r} (argument {self.pos}) is not a number")
        if value != value or value in (float("inf"), float("-inf")):
            self.fail(f"{what} {tok!r} (argument {self.pos}) is not a finite number")
        return value

    def count_time(self) -> float:
        value = self.number("count time")
        if value < 0:
            self.fail(f"count time {value:g} must be >= 0")
        return value

    def integer(self, what: str, minimum: int = 1) -> int:
        tok = self._next(what)
        self._not_a_name(what, tok)
        try:
            value = int(tok)
        except ValueError:
            self.fail(f"{what} {tok!r} (argument {self.pos}) is not an integer")
        if value < minimum:
            self.fail(f"{what} {value} must be >= {minimum}")
        return value

    def positions(self, what: str) -> list[float]:
        tok = self._next(what)
        try:
            values = [float(v) for v in tok.replace(";", ",").split(",") if v.strip()]
        except ValueError:
            self.fail(f"{what} {tok!r} (argument {self.pos}) is not a comma-separated list of numbers")
        if not values:
            self.fail(f"{what} (argument {self.pos}) is empty")
        return values

    def counters(self) -> list:
        out = []
        known = {**self.session.counters, **self.session.groups}
        for name in self.tokens[self.pos:]:
            obj = known.get(name)
            if obj is None:
                self.fail(f"unknown counter {name!r}; counters of session {self.session.name}: "
                          f"{', '.join(sorted(known)) or 'none'}")
            out.append(obj)
        self.pos = len(self.tokens)
        return out


def _step(args: Args, fn, *head) -> Any:
    return fn(*head, *args.counters(), run=False, **args.options)


def _ascan(a: Args, fn):
    m = a.axis()
    s, e = a.number("start"), a.number("stop")
    return _step(a, fn, m, s, e, a.integer("intervals"), a.count_time())


def _a2scan(a: Args, fn):
    m1 = a.axis("first axis")
    s1, e1 = a.number("start 1"), a.number("stop 1")
    m2 = a.axis("second axis")
    s2, e2 = a.number("start 2"), a.number("stop 2")
    return _step(a, fn, m1, s1, e1, m2, s2, e2, a.integer("intervals"), a.count_time())


def _anscan(a: Args, fn):
    triples = []
    while a.peek_axis():
        triples.append((a.axis(), a.number("start"), a.number("stop")))
    if not triples:
        a.axis()  # raises: unknown axis
    return _step(a, fn, triples, a.integer("intervals"), a.count_time())


def _mesh(a: Args, fn):
    m1 = a.axis("fast axis")
    s1, e1, i1 = a.number("start 1"), a.number("stop 1"), a.integer("intervals 1")
    m2 = a.axis("slow axis")
    s2, e2, i2 = a.number("start 2"), a.number("stop 2"), a.integer("intervals 2")
    return _step(a, fn, m1, s1, e1, i1, m2, s2, e2, i2, a.count_time())


def _lookupscan(a: Args, fn):
    pairs = []
    while a.peek_axis():
        pairs.append((a.axis(), a.positions("positions")))
    if not pairs:
        a.axis()
    if len({len(p) for _, p in pairs}) != 1:
        a.fail(f"every axis needs as many positions: got {[len(p) for _, p in pairs]}")
    return _step(a, fn, pairs, a.count_time())


def _pointscan(a: Args, fn):
    m = a.axis()
    return _step(a, fn, m, a.positions("positions"), a.count_time())


def _ct(a: Args, fn):
    ct = a.count_time() if a.tokens and a.pos < len(a.tokens) and not _is_name(a) else 1.0
    return _step(a, fn, ct)


def _is_name(a: Args) -> bool:
    tok = a.tokens[a.pos]
    return tok in a.session.counters or tok in a.session.groups


def _loopscan(a: Args, fn):
    return _step(a, fn, a.integer("npoints"), a.count_time())


def _timescan(a: Args, fn):
    return _step(a, fn, a.count_time())


def _cscan(a: Args, fn):
    m = a.axis()
    s, e = a.number("start"), a.number("stop")
    n = a.integer("npoints")
    t = a.number("scan time")
    if t <= 0:
        a.fail(f"scan time {t:g} must be > 0")
    return _step(a, fn, m, s, e, n, t)


#: command name -> (parser, core scan function, usage)
STANDARD_SCANS: dict[str, tuple[Callable, Callable, str]] = {
    "ct": (_ct, scans.ct, "[count_time] [counters...]"),
    "loopscan": (_loopscan, scans.loopscan, "npoints count_time [counters...]"),
    "timescan": (_timescan, scans.timescan, "count_time [counters...] [npoints=N] [sleep_time=s]"),
    "ascan": (_ascan, scans.ascan, "axis start stop intervals count_time [counters...]"),
    "dscan": (_ascan, scans.dscan, "axis rel_start rel_stop intervals count_time [counters...]"),
    "a2scan": (_a2scan, scans.a2scan, "axis1 start1 stop1 axis2 start2 stop2 intervals count_time [counters...]"),
    "d2scan": (_a2scan, scans.d2scan, "axis1 start1 stop1 axis2 start2 stop2 intervals count_time [counters...]"),
    "anscan": (_anscan, scans.anscan, "axis start stop [axis start stop ...] intervals count_time [counters...]"),
    "dnscan": (_anscan, scans.dnscan, "axis start stop [axis start stop ...] intervals count_time [counters...]"),
    "amesh": (_mesh, scans.amesh, "fast start stop intervals slow start stop intervals count_time [counters...] "
                                  "[backnforth=true]"),
    "dmesh": (_mesh, scans.dmesh, "fast start stop intervals slow start stop intervals count_time [counters...] "
                                  "[backnforth=true]"),
    "lookupscan": (_lookupscan, scans.lookupscan, "axis p1,p2,... [axis p1,p2,...] count_time [counters...]"),
    "pointscan": (_pointscan, scans.pointscan, "axis p1,p2,... count_time [counters...]"),
    "cscan": (_cscan, scans.cscan, "axis start stop npoints scan_time [counters...] [count_time=s]"),
}


def build_standard_scan(scan_type: str, tokens: list[str], session: SessionObjects, context) -> Any:
    """The Scan (not started) for `scan_type tokens...`; ScanArgumentError if anything is wrong."""
    parser, fn, usage = STANDARD_SCANS[scan_type]
    try:
        args = Args(scan_type, list(tokens), session)
        args.options["context"] = context
        return parser(args, fn)
    except ScanArgumentError as exc:
        raise ScanArgumentError(f"{exc} (usage: {scan_type} {usage})") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise ScanArgumentError(f"{scan_type} {' '.join(tokens)}: {exc} (usage: {scan_type} {usage})") from None
