"""Regulation objects built from YAML (the `regulation` plugin) with settings in a real
Redis: the demo's furnace and loops, write-back of runtime parameters into the YAML,
external inputs/outputs over a counter and an axis, and the loop axis in a real scan."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest
from helpers.config_trees import copy_demo

from blisstango.core.beacon import connection
from blisstango.core.config import ConfigError, ObjectFactory, load_tree
from blisstango.core.regulation import FurnaceSimulator, Loop, SoftLoop

DEMO_OBJECTS = ("furnace", "sample_tc", "heater_power", "sample_temp", "oven", "oven_tc",
                "oven_heater", "oven_temp", "m0", "mockctrl")


@pytest.fixture
def fresh_settings(redis_servers):
    """Settings of the demo's objects start from their YAML values."""
    r = connection.get_redis("settings")
    r.delete(*[f"settings:{n}" for n in DEMO_OBJECTS], *[f"settings:mockctrl.{n}" for n in ("m0", "m1")])
    yield r


def test_demo_furnace_and_loops_are_built_initialized_and_safe(tmp_path, fresh_settings):
    tree = load_tree(copy_demo(tmp_path / "demo"))
    factory = ObjectFactory(tree)
    loop = factory.get("sample_temp")
    assert isinstance(loop, SoftLoop) and not isinstance(factory.get("furnace"), type(None))
    ctrl = factory.get("furnace")
    assert isinstance(ctrl, FurnaceSimulator)
    assert loop.input is factory.get("sample_tc") and loop.output is factory.get("heater_power")
    assert (loop.kp, loop.ki, loop.kd, loop.sampling_frequency) == (0.05, 0.02, 0.0, 10.0)
    assert loop.limits == (0.0, 120.0) and loop.wait_mode is Loop.WaitMode.DEADBAND
    assert loop.state == "OFF" and ctrl.plant.power == 0.0
    assert loop.output.limits == (0.0, 100.0) and loop.unit == "degC"
    oven = factory.get("oven_temp")
    assert type(oven) is Loop and oven.controller is factory.get("oven")
    assert factory.get("oven").get_kp(oven) == 0.05       # YAML gains sent to the controller
    assert oven.state == "OFF"
    assert [c.name for c in loop.counters] == ["sample_tc", "heater_power", "sample_temp"]


def test_runtime_parameters_persist_and_are_written_back_into_the_yaml(tmp_path, fresh_settings):
    root = copy_demo(tmp_path / "demo")
    factory = ObjectFactory(load_tree(root))
    loop = factory.get("sample_temp")
    loop.kp, loop.ki, loop.ramprate = 0.07, 0.1 + 0.2, 4.0       # 0.30000000000000004
    loop.wait_mode = "RAMP"
    loop.limits = (10.0, 100.0)
    loop.output.ramprate = 50.0
    # a new process builds the same objects: the settings supersede the YAML
    again = ObjectFactory(load_tree(root)).get("sample_temp")
    assert (again.kp, again.ramprate, again.wait_mode, again.limits) == (0.07, 4.0, Loop.WaitMode.RAMP, (10.0, 100.0))
    assert again.output.ramprate == 50.0
    before = (root / "regulation" / "furnace.yml").read_text()
    written = again.settings_to_config()
    again.output.settings_to_config()
    text = (root / "regulation" / "furnace.yml").read_text()
    assert written["I"] == 0.3 and "  I: 0.3\n" in text                      # read as a person writes
    assert "  P: 0.07                 # PID gains" in text                    # comment kept
    assert "wait_mode: ramp" in text and "setpoint_low_limit: 10.0" in text
    assert "      ramprate: 50.0" in text                                     # the output's own key
    assert text.count("\n") == before.count("\n") + 1                         # only the new key added
    reread = ObjectFactory(load_tree(root)).get("sample_temp")
    fresh_settings.delete("settings:sample_temp", "settings:heater_power")
    rebuilt = ObjectFactory(load_tree(root)).get("sample_temp")               # no settings left
    assert (rebuilt.kp, rebuilt.ki, rebuilt.ramprate, rebuilt.limits) == (0.07, 0.3, 4.0, (10.0, 100.0))
    assert rebuilt.output.ramprate == 50.0 and reread.kp == 0.07


def test_unknown_class_and_bad_references_name_file_and_line(tmp_path, redis_servers):
    root = tmp_path / "bad"
    (root / "reg").mkdir(parents=True)
    (root / "reg" / "__init__.yml").write_text("plugin: regulation\n")
    (root / "reg" / "a.yml").write_text(textwrap.dedent("""\
        - name: thing
          class: NoSuchController
        - name: lonely
          class: SoftLoop
          input: sample
          output: $thing
        """))
    factory = ObjectFactory(load_tree(root))
    with pytest.raises(ConfigError, match=r"reg/a.yml:2: thing: unknown regulation class 'NoSuchController'"):
        factory.get("thing")
    with pytest.raises(ConfigError, match=r"reg/a.yml:5: lonely: `input` must name an object as \$input_name, got 'sample'"):
        factory.get("lonely")


def test_restart_safe_false_is_refused_on_a_soft_loop(tmp_path, fresh_settings):
    """Only a controller regulating on its own can go on through a server restart."""
    root = copy_demo(tmp_path / "demo")
    path = root / "regulation" / "furnace.yml"
    path.write_text(path.read_text().replace("- name: sample_temp\n", "- name: sample_temp\n  restart_safe: false\n"))
    with pytest.raises(ConfigError, match=r"sample_temp: cannot initialize: sample_temp: restart_safe: false "
                                          r"needs a controller that regulates on its own"):
        ObjectFactory(load_tree(root)).get("sample_temp")


EXTERNAL = """\
- name: ext_in
  class: ExternalInput
  device: $diode
  unit: counts
- name: ext_out
  class: ExternalOutput
  device: $m0
  unit: mm
  low_limit: -5.0
  high_limit: 5.0
- name: ext_loop
  class: SoftLoop
  input: $ext_in
  output: $ext_out
  P: 1.0
  low_limit: -1.0
  high_limit: 1.0
"""


def test_external_input_over_a_counter_and_output_over_an_axis(tmp_path, fresh_settings):
    root = copy_demo(tmp_path / "demo")
    (root / "regulation" / "external.yml").write_text(EXTERNAL)
    fresh_settings.delete("settings:ext_in", "settings:ext_out", "settings:ext_loop")
    factory = ObjectFactory(load_tree(root))
    ext_in, ext_out, m0 = factory.get("ext_in"), factory.get("ext_out"), factory.get("m0")
    diode = factory.get("diode")
    m0.move(2.5)                                   # the diode's peak
    assert ext_in.read() == pytest.approx(diode.controller.read_all(diode)[0], rel=0.05)
    assert ext_in.read() > 9000
    assert ext_out.read() == pytest.approx(2.5)
    # the PID range [-1, 1] maps onto the output's limits [-5, 5]
    assert ext_out.from_pid((-1.0, 1.0), 0.5) == pytest.approx(2.5)
    assert ext_out.set_value(9.0) == 5.0 and m0.position == pytest.approx(5.0)
    loop = factory.get("ext_loop")
    assert loop.state == "OFF" and m0.position == pytest.approx(0.0)   # safe value: 0 clamped


def test_loop_axis_in_an_in_process_ascan_waits_at_each_point_for_the_deadband(tmp_path, fresh_settings, scan_context):
    """A fast furnace (0.25 s time constant): every point's recorded input is within the
    deadband of its target, because the move waited until the deadband held."""
    from blisstango.core.scanning import scans

    root = copy_demo(tmp_path / "demo")
    furnace = root / "regulation" / "furnace.yml"
    furnace.write_text(furnace.read_text().replace("heat_capacity: 5.0", "heat_capacity: 0.5")
                       .replace("delay: 0.2 ", "delay: 0.02").replace("deadband_time: 1.0", "deadband_time: 0.3")
                       .replace("frequency: 10.0", "frequency: 50.0").replace("I: 0.02", "I: 0.2"))
    factory = ObjectFactory(load_tree(root))
    loop = factory.get("sample_temp")
    axis = loop.axis
    assert axis.name == "sample_temp_axis" and axis.unit == "degC" and axis.limits == (0.0, 120.0)
    scan = scans.ascan(axis, 30, 40, 4, 0.0, *loop.counters, save=False)
    targets = np.linspace(30, 40, 5)
    recorded = scan.get_data("sample_tc:sample_tc")
    assert len(recorded) == 5
    assert np.all(np.abs(recorded - targets) <= loop.deadband), recorded
    np.testing.assert_allclose(scan.get_data("axis:sample_temp_axis"), recorded, atol=0.2)
    np.testing.assert_allclose(scan.get_data("sample_temp:sample_temp"), targets)  # working setpoints
    assert loop.state == "READY" and loop.setpoint == 40.0
    with pytest.raises(Exception, match=r"sample_temp: setpoint 130 degC is above the high limit 120 degC"):
        scans.ascan(axis, 110, 130, 2, 0.0, *loop.counters, save=False)
    assert loop.setpoint == 40.0                     # refused before anything moved
    loop.stop_regulation()
    assert not math.isnan(loop.setpoint)
