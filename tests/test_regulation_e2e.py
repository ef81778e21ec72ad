"""The Regulation server through TANGO_HOST, in a real stack (`blisstango up` of the demo
beamline: Redis, BeaconDB, AxisManager, Regulation, ScanServer, NexusWriter): a setpoint
step against what the plant model predicts, a sensor disconnected and reconnected, kill -9
of the server, bad values refused, Beacon locks, the self-regulating oven."""

from __future__ import annotations

import json
import os
import signal
import statistics
import threading
import time

import pytest
import tango
from helpers.demo_stack import DemoStack

from blisstango.core.regulation import ThermalModel
from blisstango.core.regulation.prediction import step_response

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

LOOP, INPUT, OUTPUT = "demo/loop/sample_temp", "demo/input/sample_tc", "demo/output/heater_power"


#: a loop made of other servers' objects: its input a Wago channel (Wago server), its
#: output an AxisManager axis, served by the Regulation server through their clients
EXTERNAL = """\
- name: wago_tc
  class: ExternalInput
  device: $wago1
  counter: thermocouple1
  unit: degC
  tango: {server: demo}
- name: m1_out
  class: ExternalOutput
  device: $m1
  unit: mm
  low_limit: -2.0
  high_limit: 2.0
  tango: {server: demo}
- name: m1_loop
  class: SoftLoop
  input: $wago_tc
  output: $m1_out
  P: 1.0
  I: 0.0
  D: 0.0
  frequency: 5
  deadband: 0.5
  tango: {server: demo}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    st = DemoStack(tmp_path_factory.mktemp("regulation"))
    (st.config / "regulation" / "external.yml").write_text(EXTERNAL)
    cryo = st.config / "regulation" / "cryocon.yml"         # its controller regulates through restarts
    cryo.write_text(cryo.read_text().replace("      wait_mode: deadband\n",
                                             "      wait_mode: deadband\n      restart_safe: false\n", 1))
    st.up()
    yield st
    st.down()


class Events:
    """Change events of some attributes of one device, with their server timestamps."""

    def __init__(self, dev: tango.DeviceProxy, *attrs: str) -> None:
        self.dev = dev
        self.values: dict[str, list[tuple[float, object]]] = {a: [] for a in attrs}
        self.changed = threading.Condition()
        self.ids = [dev.subscribe_event(a, tango.EventType.CHANGE_EVENT, self._on) for a in attrs]

    def _on(self, ev) -> None:
        if ev.err or ev.attr_value is None:
            return
        name = ev.attr_name.rsplit("/", 1)[-1].lower()
        with self.changed:
            self.values[name].append((ev.attr_value.time.totime(), ev.attr_value.value))
            self.changed.notify_all()

    def wait_for(self, attr: str, predicate, timeout: float, since: int = 0):
        """The first value of attr (from index `since`) for which predicate holds."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for t, v in self.values[attr][since:]:
                    if predicate(v):
                        return t, v
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.dev.name()}/{attr}: no such event within {timeout} s; "
                                       f"got {[v for _, v in self.values[attr][-10:]]}")
                self.changed.wait(left)

    def close(self) -> None:
        for i in self.ids:
            self.dev.unsubscribe_event(i)


def theil_sen(points: list[tuple[float, float]]) -> float:
    """Median of the slopes between point pairs: one late event cannot bend it."""
    return statistics.median((v2 - v1) / (t2 - t1) for i, (t1, v1) in enumerate(points)
                             for t2, v2 in points[i + 1:] if t2 - t1 > 0.05)


def settle_at(loop: tango.DeviceProxy, value: float) -> None:
    loop.setpoint = value
    assert loop.command_inout("axis_wait", 60.0), f"{loop.name()} did not settle at {value}: {loop.status()}"


def test_devices_exported_with_bliss_names_units_and_state(stack):
    loop, inp, out = stack.device(LOOP), stack.device(INPUT), stack.device(OUTPUT)
    db = tango.DeviceProxy(f"tango://{stack.tango_host}/sys/database/2")
    assert db.DbGetDeviceAlias(LOOP) == "sample_temp"
    assert loop.info().dev_class == "Loop" and inp.info().dev_class == "Input"
    assert out.info().dev_class == "Output"
    assert loop.get_attribute_config("setpoint").unit == "degC"
    assert loop.get_attribute_config("output_value").unit == "%"
    assert loop.get_attribute_config("ramprate").unit == "degC/s"
    assert inp.get_attribute_config("value").unit == "degC"
    attrs = {a.lower() for a in loop.get_attribute_list()}
    assert {"setpoint", "working_setpoint", "kp", "ki", "kd", "deadband", "deadband_time", "is_in_deadband",
            "ramprate", "is_ramping", "is_regulating", "wait_mode", "sampling_frequency", "pid_range_low",
            "pid_range_high", "deadband_idle_factor", "axis_position", "axis_state"} <= attrs
    cmds = {c.lower() for c in loop.get_command_list()}
    assert {"stop", "abort", "start_regulation", "stop_regulation", "start_ramping", "stop_ramping",
            "axis_stop"} <= cmds
    assert loop.target_input_device_name == INPUT and loop.target_output_device_name == OUTPUT
    assert 20 < inp.value < 30 and inp.state() == tango.DevState.ON


def test_setpoint_step_ramps_settles_and_matches_the_model(stack):
    loop = stack.device(LOOP)
    settle_at(loop, 25.0)
    ev = Events(loop, "state", "working_setpoint", "input_value")
    try:
        ev.wait_for("state", lambda s: s == tango.DevState.ON, 10)
        since = {a: len(v) for a, v in ev.values.items()}
        loop.setpoint = 60.0
        ev.wait_for("state", lambda s: s == tango.DevState.MOVING, 10, since["state"])
        t_on, _ = ev.wait_for("state", lambda s: s == tango.DevState.ON, 60, since["state"])
        step = json.loads(loop.last_step)
    finally:
        ev.close()
    # the working setpoint ramps at the configured rate (10 degC/s)
    ramp = [(t, v) for t, v in ev.values["working_setpoint"][since["working_setpoint"]:] if 26.0 < v < 59.0]
    assert len(ramp) >= 10, ramp
    assert theil_sen(ramp) == pytest.approx(10.0, rel=0.03)
    assert ev.values["working_setpoint"][-1][1] == pytest.approx(60.0)
    # the input entered the deadband and the loop settled: State ON, the axis ready
    assert abs(stack.device(INPUT).value - 60.0) <= loop.deadband and loop.is_in_deadband
    assert loop.axis_state == "READY"
    # overshoot and settling time, as the device reports them, against the plant model:
    # the same gains on the noise-free model sampled at the loop's period and at twice it
    # (a loaded host), plus 5 sigma of sensor noise for the overshoot, 2 periods for settling
    cfg = json.loads(stack.beacon().GetObjectConfig("sample_temp"))
    plant = json.loads(stack.beacon().GetObjectConfig("furnace"))["plant"]
    heater = json.loads(stack.beacon().GetObjectConfig("heater_power"))
    model = ThermalModel.from_config(plant)
    predicted = [step_response(model, cfg, heater, 25.0, 60.0, 30.0, period_scale=s) for s in (1.0, 2.0)]
    period = 1.0 / cfg["frequency"]
    max_overshoot = max(p.overshoot for p in predicted) + 5 * model.noise
    max_settling = max(p.settling_time for p in predicted) + 2 * period
    report = (f"measured overshoot {step['overshoot']:.3f} degC, settling {step['settling_time']:.2f} s; "
              f"model: {[p.as_dict() for p in predicted]}")
    print(report)
    assert step["target"] == 60.0 and abs(step["start"] - 25.0) < 0.5
    assert step["overshoot"] <= max_overshoot, report
    assert step["settling_time"] <= max_settling, report
    # what the clients saw agrees with the report: no input event past it, ON when settled
    seen = max(v for _, v in ev.values["input_value"][since["input_value"]:])
    assert seen <= 60.0 + step["overshoot"] + 1e-9
    assert t_on - step["epoch"] == pytest.approx(step["settling_time"], abs=0.5)


def test_sensor_disconnected_faults_safely_and_start_regulation_resumes(stack):
    loop, inp, out = stack.device(LOOP), stack.device(INPUT), stack.device(OUTPUT)
    settle_at(loop, 45.0)
    assert out.value > 0
    ev = Events(loop, "state")
    try:
        n = len(ev.values["state"])
        assert "disconnected" in inp.controller_cmd("disconnect_sensor")
        ev.wait_for("state", lambda s: s == tango.DevState.FAULT, 10, n)
        status = loop.status()
        assert "sample_temp: regulation stopped after 3 consecutive failures of input sample_tc" in status
        assert "sensor disconnected" in status and "heater_power set to its safe value 0" in status
        assert out.value == 0.0 and not loop.is_regulating
        assert inp.state() == tango.DevState.FAULT
        with pytest.raises(tango.DevFailed, match="sample_tc does not answer"):
            loop.start_regulation()                       # still unplugged: refused, says why
        inp.controller_cmd("connect_sensor")
        n = len(ev.values["state"])
        loop.start_regulation()
        ev.wait_for("state", lambda s: s == tango.DevState.MOVING, 10, n)
        ev.wait_for("state", lambda s: s == tango.DevState.ON, 60, n)
    finally:
        ev.close()
    assert loop.is_regulating and loop.setpoint == 45.0 and out.value > 0


def kill_9_and_wait_for_the_restart(stack) -> None:
    pid = stack.pid("Regulation/demo")
    os.kill(pid, signal.SIGKILL)
    # every device of the server: the database gives a device the old process' address
    # until the new one has exported it, and the loop may be exported before the output
    devices = [d.name for d in stack.tango_view().devices.values() if d.server == "Regulation/demo"]
    deadline = time.monotonic() + 60
    while True:                                       # the launcher restarts it
        try:
            if stack.pid("Regulation/demo") != pid and all(stack.device(d, 2000).state() is not None
                                                           for d in devices):
                break
        except (tango.DevFailed, KeyError):
            pass
        assert time.monotonic() < deadline, stack.log("Regulation_demo")
        time.sleep(0.2)


def test_kill_9_restarted_server_never_heats_and_keeps_every_parameter(stack):
    loop, inp, out = stack.device(LOOP), stack.device(INPUT), stack.device(OUTPUT)
    params = {"kp": 0.06, "ki": 0.025, "kd": 0.001, "deadband": 0.4, "deadband_time": 0.8, "ramprate": 8.0,
              "deadband_idle_factor": 0.1, "sampling_frequency": 20.0, "pid_range_high": 0.9,
              "setpoint_high_limit": 110.0}
    for name, value in params.items():
        loop.write_attribute(name, value)
    loop.wait_mode = "RAMP"
    out.ramprate = 0.0
    out.safe_value = 0.0
    loop.setpoint = 70.0
    ev = Events(loop, "input_value")
    try:
        ev.wait_for("input_value", lambda v: v > 50.0, 30)
    finally:
        ev.close()
    assert out.value > 0 and loop.is_regulating
    kill_9_and_wait_for_the_restart(stack)
    loop, inp, out = stack.device(LOOP), stack.device(INPUT), stack.device(OUTPUT)
    assert loop.state() == tango.DevState.OFF and not loop.is_regulating
    assert out.value == 0.0 == out.safe_value
    for name, value in params.items():
        assert loop.read_attribute(name).value == pytest.approx(value), name
    assert loop.wait_mode == "1" and loop.setpoint == 70.0
    # the furnace was hot (its state survives the server, as hardware does) and now cools
    first = inp.value
    assert first > 40.0
    ev = Events(stack.device(INPUT), "value")
    try:
        ev.wait_for("value", lambda v: v < first - 2.0, 10)
    finally:
        ev.close()
    assert loop.state() == tango.DevState.OFF and out.value == 0.0
    loop.command_inout("ApplyConfig")                  # the YAML values again for the other tests
    assert loop.kp == 0.05 and loop.wait_mode == "2"


@pytest.mark.parametrize("attr, value, reason, text", [
    ("setpoint", 500.0, "SetpointLimitError",
     "sample_temp: setpoint 500 degC is above the high limit 120 degC (allowed [0, 120] degC)"),
    ("setpoint", -10.0, "SetpointLimitError", "sample_temp: setpoint -10 degC is below the low limit 0 degC"),
    ("ramprate", -1.0, "RegulationValueError",
     "sample_temp: ramprate -1.0 is outside the allowed range [0, +inf] degC/s"),
    ("deadband", -0.5, "RegulationValueError",
     "sample_temp: deadband -0.5 is outside the allowed range [0, +inf] degC"),
    ("sampling_frequency", 0.0, "RegulationValueError",
     "sample_temp: sampling_frequency 0.0 is outside the allowed range (0, 1000] Hz"),
    ("sampling_frequency", -3.0, "RegulationValueError", "sample_temp: sampling_frequency -3.0 is outside"),
])
def test_bad_values_are_refused_naming_the_loop_and_range(stack, attr, value, reason, text):
    loop = stack.device(LOOP)
    names = ("setpoint", "ramprate", "deadband", "sampling_frequency", "is_regulating", "working_setpoint")
    before = {n: loop.read_attribute(n).value for n in names}
    with pytest.raises(tango.DevFailed) as err:
        loop.write_attribute(attr, value)
    assert err.value.args[0].reason == reason and text in err.value.args[0].desc
    after = {n: loop.read_attribute(n).value for n in names}
    assert after == before


def test_a_locked_loop_moves_only_for_its_holder(stack):
    from blisstango.core.beacon import connection
    from blisstango.core.beacon.locks import Lock

    loop = stack.device(LOOP)
    settings_url = stack.beacon().read_attribute("SettingsRedisUrl").value
    connection.configure(settings_url=settings_url)
    try:
        owner = "ScanServer demo: scan 7 (test)"
        with Lock("sample_temp_axis", owner=owner, timeout=0):
            with pytest.raises(tango.DevFailed, match="sample_temp_axis: locked by 'ScanServer demo: scan 7"):
                loop.setpoint = 40.0
            with pytest.raises(tango.DevFailed, match="locked by"):
                loop.command_inout("axis_move", ["41.0"])
            loop.command_inout("axis_move", [f"@{owner}", "42.0"])
            assert loop.setpoint == 42.0
        loop.setpoint = 43.0                             # released: anybody again
        assert loop.setpoint == 43.0
    finally:
        connection.reset()
        loop.stop_regulation()


def test_self_regulating_oven_regulates_in_its_controller(stack):
    loop, out = stack.device("demo/loop/oven_temp"), stack.device("demo/output/oven_heater")
    assert loop.state() == tango.DevState.OFF and out.value == 0.0
    loop.setpoint = 40.0
    time.sleep(1.0)
    assert loop.is_regulating and loop.is_ramping and loop.state() == tango.DevState.MOVING
    assert 25.0 < loop.working_setpoint < 40.0        # the controller's own ramp, 2 degC/s
    assert out.value > 0                              # its own PID heats
    loop.stop_regulation()
    assert loop.state() == tango.DevState.OFF and out.value == 0.0


def test_output_refuses_a_safe_value_outside_its_limits(stack):
    out = stack.device(OUTPUT)
    with pytest.raises(tango.DevFailed) as err:
        out.safe_value = 150.0
    assert err.value.args[0].reason == "RegulationValueError"
    assert "heater_power: safe value 150.0 is outside the allowed range [0, 100] %" in err.value.args[0].desc
    assert out.safe_value == 0.0


def test_settings_to_config_writes_the_loop_parameters_into_its_yaml(stack):
    loop = stack.device(LOOP)
    path = stack.config / "regulation" / "furnace.yml"
    before = path.read_text()
    loop.kp = 0.055
    loop.deadband = 0.45
    loop.command_inout("SettingsToConfig")
    text = path.read_text()
    assert "  P: 0.055                # PID gains" in text and "  deadband: 0.45" in text
    assert text.count("\n") == before.count("\n")          # keys changed in place, comments kept
    loop.command_inout("ApplyConfig")                      # settings forgotten: the YAML's values
    assert loop.kp == 0.055 and loop.deadband == 0.45


def test_a_loop_over_other_servers_objects_uses_their_servers(stack):
    """ExternalInput over a Wago channel and ExternalOutput over an AxisManager axis go
    through those servers (their clients), not through a second copy of the hardware in
    the Regulation server: the Output moves the AxisManager's m1, the Input reads what
    the Wago device reads."""
    wago, m1 = stack.device("demo/wago/wago1"), stack.device("demo/axis/m1")
    loop, inp, out = (stack.device("demo/loop/m1_loop"), stack.device("demo/input/wago_tc"),
                      stack.device("demo/output/m1_out"))
    assert loop.state() == tango.DevState.OFF and m1.position == 0.0       # built with the output safe
    assert inp.value == pytest.approx(wago.thermocouple1, abs=0.5)
    out.set_value = 1.5
    assert m1.position == pytest.approx(1.5) and out.value == pytest.approx(1.5)
    out.set_value = 7.0                                                     # clamped to the output's limits
    assert m1.position == pytest.approx(2.0)
    # regulating above the room's temperature: the PID output saturates at the high limit
    ev = Events(m1, "position")
    try:
        out.set_value = 0.5                                                 # events flow (probe)
        ev.wait_for("position", lambda v: v == pytest.approx(0.5), 10)
        n = len(ev.values["position"])
        loop.setpoint = wago.thermocouple1 + 20.0
        ev.wait_for("position", lambda v: v == pytest.approx(2.0), 10, n)
    finally:
        ev.close()
    assert loop.is_regulating and loop.state() == tango.DevState.MOVING
    loop.stop_regulation()
    assert m1.position == pytest.approx(0.0) and loop.state() == tango.DevState.OFF


def test_kill_9_a_restart_safe_false_loop_goes_on_in_its_controller(stack):
    """cryo_loop has `restart_safe: false` in this stack: the Cryo-con goes on regulating
    while its server is killed, and the restarted server takes the loop up as it is —
    regulating, setpoint and parameters kept, heater not cut — and watches it settle."""
    loop, heater = stack.device("demo/loop/cryo_loop"), stack.device("demo/output/cryo_heater")
    loop.deadband = 0.5
    loop.setpoint = 84.0
    assert loop.is_regulating
    kill_9_and_wait_for_the_restart(stack)
    loop, heater = stack.device("demo/loop/cryo_loop"), stack.device("demo/output/cryo_heater")
    try:
        assert loop.is_regulating and loop.state() in (tango.DevState.MOVING, tango.DevState.ON), loop.status()
        assert loop.setpoint == 84.0 and loop.deadband == 0.5
        assert loop.command_inout("axis_wait", 60.0), loop.status()           # watched: it settles there
        assert loop.state() == tango.DevState.ON and abs(loop.input_value - 84.0) <= 0.5
        assert heater.value > 0.0                                              # holding 84 K above the stage
    finally:
        loop.stop_regulation()
        loop.command_inout("ApplyConfig")


def test_trend_events_only_when_a_value_changes(stack):
    """A loop that does not regulate pushes its noisy input at the trend rate, but its
    setpoint, working setpoint and output (unchanged) once: the subscription's own event,
    and the server's first push if its last one was older than this subscription (the
    GUI's CPU is not spent on repeated values; before, every value came 10 times a second)."""
    loop = stack.device(LOOP)
    loop.stop_regulation()
    assert loop.state() == tango.DevState.OFF
    ev = Events(loop, "input_value", "setpoint", "working_setpoint", "output_value")
    try:
        ev.wait_for("input_value", lambda v: True, 10, 12)   # 12 changes of the noisy thermocouple
        counts = {a: len(v) for a, v in ev.values.items()}
    finally:
        ev.close()
    assert all(counts[a] <= 2 for a in ("setpoint", "working_setpoint", "output_value")), counts
    assert {v for _, v in ev.values["output_value"]} == {0.0}
