"""Regions of interest of an MCA: name -> (start, stop) bins, summed as bins start..stop-1.

As in BLISS (`spectrum[start:stop]`), one set of ROIs per MCA applies to every element.
Names become counter and channel names (`Fe_det0`, `Fe`), so they are identifiers and
never a statistic's name. Every change is checked as a whole and then stored at once
through the MCA's `_load_rois`/`_store_rois` (a settings hash in the process that owns the
MCA, a Tango attribute for a remote one): a refused change changes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from .errors import McaParameterError
from .modes import STAT_FIELDS

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED = frozenset({*STAT_FIELDS, "spectrum"})


def check_rois(mca: str, rois: Mapping[str, Iterable] | Iterable, spectrum_size: int) -> dict[str, tuple[int, int]]:
    """The ROIs as {name: (start, stop)} if every one is valid, else McaParameterError.

    `rois` is a mapping or a list of (name, start, stop) / {"name", "start", "stop"}
    (a list may repeat a name: that is refused, as a mapping cannot say it)."""
    items: list[tuple] = []
    if isinstance(rois, Mapping):
        items = [(name, *_pair(mca, name, v)) for name, v in rois.items()]
    else:
        for r in rois:
            if isinstance(r, Mapping):
                items.append((r.get("name"), r.get("start"), r.get("stop")))
            else:
                r = list(r)
                if len(r) != 3:
                    raise McaParameterError(mca, "ROI", r, "(name, start, stop)")
                items.append(tuple(r))
    out: dict[str, tuple[int, int]] = {}
    for name, start, stop in items:
        if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED:
            raise McaParameterError(mca, "ROI name", name,
                                    f"an identifier (letters, digits, _) other than {', '.join(sorted(RESERVED))}")
        if name in out:
            raise McaParameterError(mca, "ROI name", name, "names used once (this one is given twice)")
        start, stop = _bin(mca, name, "start", start), _bin(mca, name, "stop", stop)
        if not 0 <= start < spectrum_size:
            raise McaParameterError(mca, f"ROI {name} start", start, f"0 <= start < {spectrum_size} (spectrum size)")
        if not start < stop <= spectrum_size:
            raise McaParameterError(mca, f"ROI {name} stop", stop,
                                    f"{start} < stop <= {spectrum_size} (after start, inside the spectrum)")
        out[name] = (start, stop)
    return out


def rois_from_json(mca: str, text: str) -> dict:
    """A JSON object {name: [start, stop]} as a dict, refusing a name given twice (a plain
    json.loads would keep the last one silently); not yet checked against the spectrum."""
    def once(pairs: list) -> dict:
        out: dict = {}
        for key, value in pairs:
            if key in out:
                raise McaParameterError(mca, "ROI name", key, "names used once (this one is given twice)")
            out[key] = value
        return out

    try:
        return json.loads(text, object_pairs_hook=once)
    except McaParameterError:
        raise
    except ValueError as exc:
        raise ValueError(f"{mca}: Rois {text!r} is not JSON: {exc}") from None


def _pair(mca: str, name, value) -> tuple:
    if isinstance(value, Mapping):
        return value.get("start"), value.get("stop")
    try:
        start, stop = value
    except (TypeError, ValueError):
        raise McaParameterError(mca, f"ROI {name}", value, "(start, stop)") from None
    return start, stop


def _bin(mca: str, name: str, what: str, value) -> int:
    try:
        as_int = int(value)
    except (TypeError, ValueError):
        raise McaParameterError(mca, f"ROI {name} {what}", value, "an integer bin number") from None
    if isinstance(value, bool) or as_int != value:
        raise McaParameterError(mca, f"ROI {name} {what}", value, "an integer bin number")
    return as_int


class RoiConfig:
    """The ROIs of one MCA, with BLISS's methods (set/get/remove/clear/items...)."""

    def __init__(self, mca) -> None:
        self._mca = mca

    @property
    def mca(self):
        return self._mca

    def _all(self) -> dict[str, tuple[int, int]]:
        return {n: (int(a), int(b)) for n, (a, b) in self._mca._load_rois().items()}

    def _replace(self, rois: Mapping) -> None:
        checked = check_rois(self._mca.name, rois, self._mca.spectrum_size)
        self._mca._store_rois(checked)

    # ---- BLISS API
    def get_names(self) -> list[str]:
        return list(self._all())

    def get(self, name: str) -> tuple[int, int]:
        rois = self._all()
        if name not in rois:
            raise KeyError(f"{self._mca.name}: no ROI named {name!r}; ROIs: {', '.join(rois) or 'none'}")
        return rois[name]

    def set(self, name: str, start: int, stop: int) -> None:
        """Add or change one ROI (bins start..stop-1)."""
        rois = self._all()
        rois[name] = (start, stop)
        self._replace(rois)

    def set_energy(self, name: str, low: float, high: float) -> None:
        """Add or change one ROI from an energy range (calibration units, keV)."""
        cal = self._mca.calibration
        start = int(round(cal.bin_of(low)))
        stop = int(round(cal.bin_of(high))) + 1
        self.set(name, start, stop)

    def remove(self, name: str) -> None:
        rois = self._all()
        if name not in rois:
            raise KeyError(f"{self._mca.name}: no ROI named {name!r}; ROIs: {', '.join(rois) or 'none'}")
        del rois[name]
        self._mca._store_rois(rois)

    def clear(self) -> None:
        self._mca._store_rois({})

    def update(self, rois: Mapping) -> None:
        merged = self._all()
        merged.update(rois)
        self._replace(merged)

    def replace(self, rois) -> None:
        """Every ROI at once (a mapping or a list of (name, start, stop))."""
        self._replace(check_rois(self._mca.name, rois, self._mca.spectrum_size))

    def keys(self) -> list[str]:
        return self.get_names()

    def values(self) -> list[tuple[int, int]]:
        return list(self._all().values())

    def items(self) -> list[tuple[str, tuple[int, int]]]:
        return list(self._all().items())

    def as_dict(self) -> dict[str, tuple[int, int]]:
        return self._all()

    def __len__(self) -> int:
        return len(self._all())

    def __contains__(self, name: str) -> bool:
        return name in self._all()

    def __iter__(self):
        return iter(self._all())

    def __info__(self) -> str:
        rois = self._all()
        if not rois:
            return "no ROI defined"
        cal = self._mca.calibration
        width = max(4, *(len(n) for n in rois))
        lines = [f"{'name':<{width}}  {'start':>6}  {'stop':>6}  {'energy (' + cal.unit + ')':>17}"]
        for n, (a, b) in rois.items():
            e = cal.energies(b + 1)
            lines.append(f"{n:<{width}}  {a:>6}  {b:>6}  {e[a]:>8.3f}-{e[b - 1]:<8.3f}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.__info__()
