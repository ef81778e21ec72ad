"""Settings written back to YAML read as a person would write them, by one rule for the
AxisManager's SettingsToConfig and the web editor's "write the Redis settings" button."""

from __future__ import annotations

from blisstango.core.config import load_tree
from blisstango.core.motion.axis_settings import config_resolution, settings_as_written
from blisstango.core.webconfig.objects import settings_for_yaml


def test_lengths_at_the_resolution_rates_without_float_noise_defaults_left_out():
    values = {"offset": 1.0000000000000002, "low_limit": -2.00049, "high_limit": None,
              "velocity": 3.2500000000000004, "sign": 1, "backlash": 0.0}
    assert settings_as_written(values, {}, 0.001) == {
        "offset": 1.0, "low_limit": -2.0, "high_limit": None, "velocity": 3.25, "backlash": 0.0}
    # sign and offset at their defaults are written only when the YAML already has them
    assert settings_as_written({"sign": 1, "offset": 0.0}, {"sign": -1, "offset": 2}, 0.001) == {
        "sign": 1, "offset": 0.0}


def test_web_editor_writes_the_redis_settings_by_the_same_rule(demo_config):
    m0 = load_tree(demo_config)["m0"]
    res = config_resolution(m0)
    stored = {"offset": 0.1 + 0.2, "velocity": 3.25, "dial_position": 1.5}
    written = settings_for_yaml(m0, stored)
    assert written == settings_as_written({"offset": 0.1 + 0.2, "velocity": 3.25}, m0, res)
    assert written["offset"] == 0.3 and "dial_position" not in written  # not a YAML setting
