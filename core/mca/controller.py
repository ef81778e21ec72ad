"""McaController: an MCA driven by this process, its parameters checked and persisted.

Parameters (preset and trigger modes, preset value, mapping points and block size,
spectrum size, calibration, ROIs) start from the YAML and, once set at run time, are kept
in the settings hash `settings:<name>`: they survive a restart of the process that owns
the detector. Every setter checks its value first (McaParameterError naming the MCA,
the parameter and what is allowed) and changes nothing on refusal, nor while acquiring.
Subclasses implement the acquisition (start/trigger/stop/read_points).
"""

from __future__ import annotations

import math
from collections.abc import MutableMapping
from typing import Any

from .base import BaseMCA
from .calibration import Calibration
from .errors import McaParameterError
from .modes import PresetMode, TriggerMode, parse_mode
from .rois import check_rois

SPECTRUM_SIZES = (256, 512, 1024, 2048, 4096, 8192, 16384)
MAX_HARDWARE_POINTS = 1_000_000


class McaController(BaseMCA):
    """YAML keys: elements (count or list of numbers), spectrum_size, calibration
    ([offset, gain, quadratic] keV), preset_modes / trigger_modes (what the hardware
    supports, default all), preset_mode, preset_value, trigger_mode, block_size, rois
    ({name: [start, stop]})."""

    detector_brand = "UNKNOWN"
    detector_type = "UNKNOWN"

    def __init__(self, name: str, config: dict, settings: MutableMapping | None = None) -> None:
        super().__init__(name)
        self.config = dict(config)
        elements = config.get("elements", 1)
        self._elements = tuple(range(int(elements))) if isinstance(elements, int) else tuple(int(e) for e in elements)
        if not self._elements or len(set(self._elements)) != len(self._elements):
            raise ValueError(f"{name}: elements must be a count >= 1 or a list of distinct numbers, got {elements!r}")
        self._preset_modes = tuple(parse_mode(PresetMode, m, name, "preset_modes")
                                   for m in config.get("preset_modes", [m.name for m in PresetMode]))
        self._trigger_modes = tuple(parse_mode(TriggerMode, m, name, "trigger_modes")
                                    for m in config.get("trigger_modes", [m.name for m in TriggerMode]))
        self._defaults = {
            "spectrum_size": int(config.get("spectrum_size", 4096)),
            "calibration": Calibration.from_value(config.get("calibration", [0.0, 0.01, 0.0])).coefficients,
            "preset_mode": str(config.get("preset_mode", "REALTIME")).upper(),
            "preset_value": float(config.get("preset_value", 1.0)),
            "trigger_mode": str(config.get("trigger_mode", "SOFTWARE")).upper(),
            "hardware_points": int(config.get("hardware_points", 1)),
            "block_size": int(config.get("block_size", 100)),
            "rois": {k: list(v) for k, v in (config.get("rois") or {}).items()},
        }
        self._settings = settings if settings is not None else _object_settings(name, self._defaults)
        self._check_defaults()

    def _check_defaults(self) -> None:
        """The YAML values pass the same checks as values set at run time."""
        d = self._defaults
        _size(self.name, d["spectrum_size"])
        parse_mode(PresetMode, d["preset_mode"], self.name, "preset_mode", self._preset_modes)
        parse_mode(TriggerMode, d["trigger_mode"], self.name, "trigger_mode", self._trigger_modes)
        _positive(self.name, "preset_value", d["preset_value"])
        why = Calibration.from_value(d["calibration"]).check(d["spectrum_size"])
        if why:
            raise McaParameterError(self.name, "calibration", d["calibration"], why)
        check_rois(self.name, d["rois"], d["spectrum_size"])

    # ---- stored values --------------------------------------------------------------
    # The process that drives the MCA is the only writer of its settings (others go
    # through its Tango device): values are read from Redis once and kept here, so an
    # acquisition costs no Redis round trip.
    def _get(self, key: str) -> Any:
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            value = self._settings.get(key)
            cache[key] = self._defaults[key] if value is None else value
        return cache[key]

    def _set(self, key: str, value: Any) -> None:
        self._refuse_while_acquiring(key)
        self._settings[key] = value
        self.__dict__.setdefault("_cache", {}).pop(key, None)

    def _refuse_while_acquiring(self, what: str) -> None:
        if self.is_acquiring():
            raise McaParameterError(self.name, what, "a change", "only while not acquiring (stop it first)")

    def apply_config(self) -> None:
        """Forget values set at run time: the YAML's again."""
        self._refuse_while_acquiring("configuration")
        for key in self._defaults:
            self._settings[key] = None
        self.__dict__.setdefault("_cache", {}).clear()

    # ---- information ----------------------------------------------------------------
    @property
    def elements(self) -> tuple[int, ...]:
        return self._elements

    @property
    def spectrum_size(self) -> int:
        return int(self._get("spectrum_size"))

    @spectrum_size.setter
    def spectrum_size(self, size: int) -> None:
        size = _size(self.name, size)
        outside = {n: r for n, r in self.rois.as_dict().items() if r[1] > size}
        if outside:
            raise McaParameterError(self.name, "spectrum_size", size,
                                    f"a size holding every ROI (remove or move {', '.join(outside)} first)")
        self._set("spectrum_size", size)

    @property
    def calibration(self) -> Calibration:
        return Calibration.from_value(self._get("calibration"))

    @calibration.setter
    def calibration(self, value) -> None:
        try:
            cal = Calibration.from_value(value)
        except (TypeError, ValueError):
            raise McaParameterError(self.name, "calibration", value, "[offset, gain] or [offset, gain, quadratic]") \
                from None
        why = cal.check(self.spectrum_size)
        if why:
            raise McaParameterError(self.name, "calibration", value, why)
        self._set("calibration", cal.coefficients)

    # ---- modes ----------------------------------------------------------------------
    @property
    def supported_preset_modes(self) -> tuple[PresetMode, ...]:
        return self._preset_modes

    @property
    def preset_mode(self) -> PresetMode:
        return PresetMode[self._get("preset_mode")]

    @preset_mode.setter
    def preset_mode(self, mode) -> None:
        self._set("preset_mode", parse_mode(PresetMode, mode, self.name, "preset_mode", self._preset_modes).name)

    @property
    def preset_value(self) -> float:
        return float(self._get("preset_value"))

    @preset_value.setter
    def preset_value(self, value: float) -> None:
        self._set("preset_value", _positive(self.name, "preset_value", value))

    @property
    def supported_trigger_modes(self) -> tuple[TriggerMode, ...]:
        return self._trigger_modes

    @property
    def trigger_mode(self) -> TriggerMode:
        return TriggerMode[self._get("trigger_mode")]

    @trigger_mode.setter
    def trigger_mode(self, mode) -> None:
        if mode is None:
            mode = TriggerMode.SOFTWARE
        self._set("trigger_mode", parse_mode(TriggerMode, mode, self.name, "trigger_mode", self._trigger_modes).name)

    @property
    def hardware_points(self) -> int:
        return int(self._get("hardware_points"))

    @hardware_points.setter
    def hardware_points(self, value: int) -> None:
        self._set("hardware_points", _count(self.name, "hardware_points", value, MAX_HARDWARE_POINTS))

    @property
    def block_size(self) -> int:
        return int(self._get("block_size"))

    @block_size.setter
    def block_size(self, value: int | None = None) -> None:
        self._set("block_size", None if value is None else _count(self.name, "block_size", value, 100_000))

    # ---- ROIs -----------------------------------------------------------------------
    def _load_rois(self) -> dict:
        return {k: tuple(v) for k, v in dict(self._get("rois")).items()}

    def _store_rois(self, rois: dict) -> None:
        self._settings["rois"] = {k: [int(a), int(b)] for k, (a, b) in rois.items()}
        self.__dict__.setdefault("_cache", {}).pop("rois", None)


def _object_settings(name: str, defaults: dict):
    from ..beacon.settings import object_settings

    return object_settings(name)


def _size(mca: str, size) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, float)) or int(size) != size \
            or int(size) not in SPECTRUM_SIZES:
        raise McaParameterError(mca, "spectrum_size", size, SPECTRUM_SIZES)
    return int(size)


def _positive(mca: str, what: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise McaParameterError(mca, what, value, "a number > 0") from None
    if isinstance(value, bool) or not math.isfinite(v) or v <= 0:
        raise McaParameterError(mca, what, value, "a finite number > 0")
    return v


def _count(mca: str, what: str, value, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value \
            or not 1 <= int(value) <= maximum:
        raise McaParameterError(mca, what, value, f"an integer from 1 to {maximum}")
    return int(value)
