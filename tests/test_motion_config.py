"""The emotion plugin on the demo tree; settings persistence across a rebuild (a restart);
apply_config and settings_to_config round trips through the YAML."""

import re
import shutil

import pytest
from helpers.motion import forget_settings, settings_redis  # noqa: F401

from blisstango.core.config import ConfigError, ObjectFactory, load_tree
from blisstango.core.motion import Axis, CalcAxis
from blisstango.core.motion.mockup import Mockup

pytestmark = pytest.mark.usefixtures("settings_redis")


@pytest.fixture
def tree_dir(demo_config, tmp_path, settings_redis):  # noqa: F811
    dst = tmp_path / "beamline"
    shutil.copytree(demo_config, dst)
    forget_settings(settings_redis.url, load_tree(dst).names())
    return dst


def build(tree_dir):
    return ObjectFactory(load_tree(tree_dir))


def test_plugin_builds_the_demo_axes(tree_dir):
    f = build(tree_dir)
    m0, vgap = f.get("m0"), f.get("sl_vgap")
    assert isinstance(m0, Axis) and isinstance(m0.controller, Mockup)
    assert isinstance(vgap, CalcAxis)
    assert f.get("mockctrl") is m0.controller and f.get("sl_up") is vgap.controller.reals["up"]
    assert (m0.unit, m0.steps_per_unit, m0.velocity, m0.acceleration) == ("mm", 1000, 5.0, 50.0)
    assert m0.limits == (-10.0, 10.0) and m0.tolerance == 0.001
    vgap.move(2.0)
    assert f.get("sl_up").position == pytest.approx(1.0)


def test_unknown_controller_class_names_file_and_line(tree_dir):
    (tree_dir / "motors" / "bad.yml").write_text("- name: badctrl\n  class: NoSuchThing\n  axes:\n    - name: mbad\n")
    with pytest.raises(ConfigError) as exc:
        build(tree_dir).get("mbad")
    assert "motors/bad.yml:2" in str(exc.value) and "NoSuchThing" in str(exc.value)


def test_restart_keeps_settings_and_position(tree_dir):
    m0 = build(tree_dir).get("m0")
    m0.velocity, m0.limits = 2.5, (-3.0, 8.0)
    m0.move(1.25)
    m0.position_to(4.0)  # offset 2.75
    again = build(tree_dir).get("m0")  # a fresh process would do exactly this
    assert again is not m0
    assert (again.velocity, again.offset) == pytest.approx((2.5, 2.75))
    assert again.limits == pytest.approx((-3.0 + 2.75, 8.0 + 2.75))  # dial limits, shifted view
    assert again.dial == pytest.approx(1.25) and again.position == pytest.approx(4.0)


def test_apply_config_restores_yaml_values_keeping_position(tree_dir):
    m0 = build(tree_dir).get("m0")
    m0.move(0.5)
    m0.velocity, m0.acceleration, m0.limits, m0.backlash = 1.0, 3.0, (-1.0, 1.0), 0.2
    m0.apply_config()
    assert (m0.velocity, m0.acceleration, m0.limits, m0.backlash) == (5.0, 50.0, (-10.0, 10.0), 0.0)
    assert m0.controller.read_velocity(m0) == pytest.approx(5000.0)
    assert m0.position == pytest.approx(0.5)
    assert build(tree_dir).get("m0").velocity == 5.0


def test_settings_to_config_writes_yaml_and_keeps_comments(tree_dir):
    m0 = build(tree_dir).get("m0")
    m0.velocity, m0.limits = 3.5, (-7.0, 7.5)
    m0.settings_to_config()
    text = (tree_dir / "motors" / "mockup.yml").read_text()
    assert "# mm/s" in text and "# Simulated stepper controller" in text
    node = load_tree(tree_dir)["m0"]
    assert (node["velocity"], node["low_limit"], node["high_limit"]) == (3.5, -7.0, 7.5)
    m0.velocity = 1.0
    m0.apply_config()  # YAML is now the reference
    assert m0.velocity == 3.5


def test_settings_to_config_writes_values_as_a_person_would(tree_dir):
    """Values computed by the axis carry float noise (1.3 - 1.1 = 0.19999999999999996):
    the YAML gets them at the axis' resolution (steps_per_unit 1000, tolerance 0.001),
    as a person would write them, and reads back equal."""
    m0 = build(tree_dir).get("m0")
    m0.move(1.1)
    m0.position_to(1.3)
    assert m0.offset != 0.2  # the noise is there
    m0.limits = (-3.3, 8.1)  # stored in dial: -3.3 - offset, noisy too
    m0.velocity = 0.1 + 0.2
    m0.settings_to_config()
    text = (tree_dir / "motors" / "mockup.yml").read_text()
    for line in ("offset: 0.2", "low_limit: -3.5", "high_limit: 7.9", "velocity: 0.3"):
        assert re.search(rf"^ +{line} *(#.*)?$", text, re.M), (line, text)
    node = load_tree(tree_dir)["m0"]
    assert (node["offset"], node["low_limit"], node["high_limit"], node["velocity"]) == (0.2, -3.5, 7.9, 0.3)
