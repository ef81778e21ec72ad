"""Axis settings: YAML values as defaults, superseded by values persisted in Redis
(`settings:<axis>`, core.beacon), cached per process; apply_config/settings_to_config."""

from __future__ import annotations

import logging
import math
from typing import Any

from . import write_behind
from .errors import MotionError

log = logging.getLogger("blisstango.motion")

#: settings persisted per axis (Redis hash settings:<axis>), YAML values as defaults
SETTING_KEYS = ("velocity", "acceleration", "low_limit", "high_limit", "offset", "sign", "backlash")
#: settings that are lengths (user units): written to YAML at the axis' resolution
LENGTH_KEYS = ("low_limit", "high_limit", "offset", "backlash")


def decimals_of(resolution: float) -> int:
    """Fewest decimals that write multiples of resolution exactly (12 at most)."""
    for digits in range(13):
        if abs(round(resolution, digits) - resolution) <= resolution * 1e-9:
            return digits
    return 12


def as_written(value: float, resolution: float | None) -> float:
    """A setting as a person would write it in YAML: a length at the axis' resolution
    (1.0000000000000002 -> 1.0), a rate at 12 significant digits (float noise gone)."""
    if resolution:
        return round(round(value / resolution) * resolution, decimals_of(resolution)) + 0.0
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, 11 - int(math.floor(math.log10(abs(value))))) + 0.0


#: an axis' tolerance when its YAML sets none
DEFAULT_TOLERANCE = 1e-4


def resolution_of(steps_per_unit: float, tolerance: float) -> float:
    """The smallest length an axis tells apart: one step, or its tolerance if finer."""
    step = 1.0 / abs(steps_per_unit)
    return min(step, tolerance) if tolerance > 0 else step


def config_resolution(config: Any) -> float:
    """resolution_of an axis from its YAML object (steps_per_unit, tolerance)."""
    return resolution_of(float(config.get("steps_per_unit", 1.0)),
                         float(config.get("tolerance", DEFAULT_TOLERANCE)))


def settings_as_written(values: dict[str, Any], config: Any, resolution: float) -> dict[str, Any]:
    """The settings as SettingsToConfig writes them into the axis' YAML object (the
    AxisManager's command and the web editor's button alike): sign and offset only when
    not their defaults or already in the YAML; floats as a person writes them
    (as_written: lengths at the axis' resolution); None (no limit) removes the key."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in ("sign", "offset") and key not in config and value == (1 if key == "sign" else 0):
            continue
        if isinstance(value, float):
            value = as_written(value, resolution if key in LENGTH_KEYS else None)
        out[key] = value
    return out


class AxisSettings:
    """Mixin of Axis: the settings half (needs name, config, controller, steps_per_unit)."""

    def _config_defaults(self) -> dict[str, Any]:
        c = self.config
        sign = int(c.get("sign", 1))
        return {
            "velocity": float(c.get("velocity", 1.0)),
            "acceleration": float(c.get("acceleration", 10.0)),
            "low_limit": None if c.get("low_limit") is None else float(c["low_limit"]),
            "high_limit": None if c.get("high_limit") is None else float(c["high_limit"]),
            "offset": float(c.get("offset", 0.0)),
            "sign": -1 if sign < 0 else 1,
            "backlash": float(c.get("backlash", 0.0)),
            "dial_position": None,
        }

    @property
    def settings(self) -> Any:
        """The persistent settings hash (core.beacon HashSetting)."""
        if self._settings_obj is None:
            self._settings_obj = self.controller.settings_factory(self.name, self._config_defaults())
        return self._settings_obj

    def _get(self, key: str) -> Any:
        if self._cache is None:
            defaults = self._config_defaults()
            stored = self.settings.get_all()
            stored.update(write_behind.pending_all(self.settings))
            self._cache = {k: stored.get(k, defaults.get(k)) for k in defaults}
        return self._cache[key]

    def _put(self, key: str, value: Any, later: bool = False) -> None:
        """Persist a setting (later: off the motion hot path, see write_behind)."""
        self._get(key)
        write_behind.store(self.settings, key, value, later=later)
        assert self._cache is not None
        self._cache[key] = value

    def _apply_settings_to_hardware(self) -> None:
        """Called once at axis init: the hardware gets the persisted velocity/acceleration;
        a hardware position far from the last known one is reported (moved while unwatched)."""
        last = self._get("dial_position")
        if last is not None:
            dial = self.controller.read_position(self) / self.steps_per_unit
            if abs(dial - float(last)) > max(self.tolerance, 1.0 / abs(self.steps_per_unit)):
                log.warning("%s: hardware reports dial %s but the last known dial was %s",
                            self.name, dial, last)
        if self.controller.hardware_owns_velocity:
            return
        spu = abs(self.steps_per_unit)
        self.controller.set_velocity(self, self._get("velocity") * spu)
        self.controller.set_acceleration(self, self._get("acceleration") * spu)

    def apply_config(self) -> None:
        """Forget persisted settings: YAML values are used again (the position is kept)."""
        self._refuse_if_moving("apply its configuration")
        for key in SETTING_KEYS:
            self.settings[key] = None
        self._cache = None
        if self.name in self.controller._axes_initialized:
            self._apply_settings_to_hardware()
        self._notify_position()

    @property
    def resolution(self) -> float:
        """The smallest length the axis tells apart: one step, or its tolerance if finer."""
        return resolution_of(self.steps_per_unit, self.tolerance)

    def settings_to_config(self) -> None:
        """Write the current settings into the YAML file (comments kept) via ConfigWriter,
        each as a person would write it (lengths at the axis' resolution: as_written)."""
        if not self.controller.config_root:
            raise MotionError(f"{self.name}: built without a configuration tree, nothing to write")
        from blisstango.core.config.writer import ConfigWriter

        w = ConfigWriter(self.controller.config_root)
        values = settings_as_written({
            "velocity": self.velocity,
            "acceleration": self.acceleration,
            "low_limit": self._get("low_limit"),
            "high_limit": self._get("high_limit"),
            "backlash": self.backlash,
            "sign": self.sign,
            "offset": self.offset,
        }, self.config, self.resolution)
        for key, value in values.items():
            if value is None:
                if key in self.config:
                    w.delete_key(self.name, key)
                    del self.config[key]
            else:
                w.set_key(self.name, key, value)
                self.config[key] = value
        self._settings_obj = None  # defaults changed: rebuild with the new YAML values
