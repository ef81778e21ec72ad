"""Axis settings: YAML values as defaults, superseded by values persisted in Redis
(`settings:<axis>`, core.beacon), cached per process; apply_config/settings_to_config."""

from __future__ import annotations

import logging
from typing import Any

from . import write_behind
from .errors import MotionError

log = logging.getLogger("blisstango.motion")

#: settings persisted per axis (Redis hash settings:<axis>), YAML values as defaults
SETTING_KEYS = ("velocity", "acceleration", "low_limit", "high_limit", "offset", "sign", "backlash")


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

    def settings_to_config(self) -> None:
        """Write the current settings into the YAML file (comments kept) via ConfigWriter."""
        if not self.controller.config_root:
            raise MotionError(f"{self.name}: built without a configuration tree, nothing to write")
        from blisstango.core.config.writer import ConfigWriter

        w = ConfigWriter(self.controller.config_root)
        values: dict[str, Any] = {
            "velocity": self.velocity,
            "acceleration": self.acceleration,
            "low_limit": self._get("low_limit"),
            "high_limit": self._get("high_limit"),
            "backlash": self.backlash,
        }
        if self.sign != 1 or "sign" in self.config:
            values["sign"] = self.sign
        if self.offset != 0 or "offset" in self.config:
            values["offset"] = self.offset
        for key, value in values.items():
            if value is None:
                if key in self.config:
                    w.delete_key(self.name, key)
                    del self.config[key]
            else:
                w.set_key(self.name, key, value)
                self.config[key] = value
        self._settings_obj = None  # defaults changed: rebuild with the new YAML values
