"""core/regulation without any server: plant physics, ramp, SoftLoop control behaviour on
the simulated furnace (virtual clock), failures, validation, settings, the hardware path."""

from __future__ import annotations

import math

import gevent
import numpy as np
import pytest

from blisstango.core.motion.errors import LimitError
from blisstango.core.regulation import (
    MAX_FAILURES,
    FurnaceSimulator,
    Input,
    Loop,
    Output,
    RegulationError,
    RegulationValueError,
    SelfRegulatingFurnace,
    SetpointLimitError,
    SoftLoop,
    SoftRamp,
    ThermalModel,
    ThermalPlant,
    WaitMode,
)
from blisstango.core.regulation.prediction import VirtualClock, step_response

MODEL = ThermalModel(heat_capacity=5.0, loss=2.0, max_power=200.0, ambient=25.0, delay=0.2, noise=0.02)
GOOD = {"P": 0.05, "I": 0.02, "D": 0.0, "frequency": 10.0, "low_limit": 0.0, "high_limit": 1.0,
        "ramprate": 10.0, "deadband": 0.5, "deadband_time": 1.0, "deadband_idle_factor": 0.0,
        "setpoint_low_limit": 0.0, "setpoint_high_limit": 120.0}
BAD = {**GOOD, "P": 1.0, "I": 1.0}
HEATER = {"unit": "%", "low_limit": 0.0, "high_limit": 100.0}


class Store:
    """In-memory settings shared by name, as Redis would be across a restart."""

    def __init__(self) -> None:
        self.data: dict[str, dict] = {}

    def __call__(self, name: str, defaults: dict):
        store = self

        class _Hash:
            def __init__(self) -> None:
                self.name, self.defaults = name, dict(defaults)
                store.data.setdefault(name, {})

            def get_all(self):
                return {**self.defaults, **store.data[name]}

            def get(self, key, default=None):
                return self.get_all().get(key, default)

            def __setitem__(self, key, value):
                if value is None:
                    store.data[name].pop(key, None)
                else:
                    store.data[name][key] = value

            def clear(self):
                store.data[name].clear()

        return _Hash()


def furnace(clock, store=None, cls=FurnaceSimulator, model=MODEL, seed=1):
    store = store or Store()
    ctrl = cls("furnace", {"plant": model.as_dict(), "seed": seed}, settings_factory=store, clock=clock)
    ctrl.initialize_controller()
    sensor = Input(ctrl, {"name": "sample_tc", "unit": "degC"}, settings_factory=store)
    heater = Output(ctrl, {"name": "heater_power", **HEATER}, settings_factory=store)
    return ctrl, sensor, heater, store


def soft_loop(clock, config=GOOD, store=None, model=MODEL):
    ctrl, sensor, heater, store = furnace(clock, store, model=model)
    loop = SoftLoop({"name": "sample_temp", **config}, sensor, heater, settings_factory=store,
                    clock=clock, manual=True)
    loop.initialize()
    return loop, ctrl, store


def run(loop, clock, seconds, record=None):
    """Step the loop at its frequency on the virtual clock."""
    period = 1.0 / loop.sampling_frequency
    for _ in range(int(round(seconds / period))):
        clock.t += period
        loop.step()
        if record is not None:
            record.append((clock.t, loop.last_input, loop.last_output, loop.working_setpoint, loop.state))


# -- the plant ------------------------------------------------------------------------------
def test_plant_follows_the_first_order_solution_with_its_delay():
    clock = VirtualClock()
    plant = ThermalPlant(ThermalModel(noise=0.0), clock)          # tau = 10/2 = 5 s, delay 0.2 s
    plant.set_power(50.0)                                          # steady: 25 + 50 * 1 = 75 degC
    clock.t = 0.19
    assert plant.temperature() == pytest.approx(25.0)              # not felt before the delay
    for t in (1.0, 5.0, 20.0):
        clock.t = t
        expected = 75.0 + (25.0 - 75.0) * math.exp(-(t - 0.2) / 5.0)
        assert plant.temperature() == pytest.approx(expected, abs=1e-9)
    clock.t = 200.0
    assert plant.temperature() == pytest.approx(75.0, abs=1e-6)
    plant.set_power(0.0)                                           # heater off: back to ambient
    clock.t = 260.0
    assert plant.temperature() == pytest.approx(25.0, abs=1e-3)


def test_plant_sensor_noise_and_disconnection():
    clock = VirtualClock()
    plant = ThermalPlant(ThermalModel(noise=0.05), clock, seed=3)
    reads = np.array([plant.read_sensor() for _ in range(4000)])
    assert reads.mean() == pytest.approx(25.0, abs=0.005)
    assert reads.std() == pytest.approx(0.05, rel=0.1)
    plant.connected = False
    with pytest.raises(OSError, match="disconnected"):
        plant.read_sensor()


def test_plant_restored_from_a_snapshot_went_on_heating_meanwhile(monkeypatch):
    clock = VirtualClock()
    plant = ThermalPlant(ThermalModel(noise=0.0, delay=0.0), clock, temperature=40.0, power=50.0)
    snap = plant.snapshot()
    import time as _time
    monkeypatch.setattr(_time, "time", lambda: snap["time"] + 5.0)     # 5 s without a simulator
    again = ThermalPlant(ThermalModel(noise=0.0, delay=0.0), clock)
    again.restore(snap)
    assert again.power == 50.0
    assert again.temperature() == pytest.approx(75.0 + (40.0 - 75.0) * math.exp(-1.0), abs=1e-6)


def test_thermal_model_refuses_unknown_or_non_physical_parameters():
    with pytest.raises(ValueError, match="unknown plant parameter.*mass"):
        ThermalModel.from_config({"mass": 3})
    with pytest.raises(ValueError, match="loss must be > 0"):
        ThermalModel.from_config({"loss": 0})


# -- the ramp ------------------------------------------------------------------------------
def test_soft_ramp_moves_at_its_rate_and_stops_where_it_is():
    clock = VirtualClock()
    ramp = SoftRamp(clock)
    ramp.rate = 2.0
    ramp.start(10.0, 20.0)
    clock.t = 2.5
    assert ramp.value() == pytest.approx(15.0) and ramp.is_ramping()
    ramp.rate = 5.0                                      # from where it is, at the new rate
    clock.t = 3.5
    assert ramp.value() == pytest.approx(20.0) and not ramp.is_ramping()
    ramp.start(20.0, 10.0)
    clock.t = 4.5
    assert ramp.value() == pytest.approx(15.0)
    ramp.stop()
    clock.t = 9.0
    assert ramp.value() == pytest.approx(15.0) and not ramp.is_ramping()
    ramp.rate = 0.0
    ramp.start(15.0, 30.0)
    assert ramp.value() == 30.0 and not ramp.is_ramping()


# -- control behaviour ------------------------------------------------------------------------
def test_step_25_to_60_ramps_at_its_rate_then_settles_as_the_model_predicts():
    clock = VirtualClock()
    loop, _, _ = soft_loop(clock)
    rec: list = []
    loop.setpoint = 60.0
    assert loop.state == "MOVING" and loop.is_regulating()
    run(loop, clock, 20.0, rec)
    t = np.array([r[0] for r in rec])
    wsp = np.array([r[3] for r in rec])
    ramping = wsp < 60.0
    # the working setpoint ramps at 10 degC/s from the input's value (25) to 60
    np.testing.assert_allclose(wsp[ramping], 25.0 + 10.0 * t[ramping], atol=0.05)
    assert t[ramping][-1] == pytest.approx(3.5, abs=0.11)
    assert loop.state == "READY" and loop.settled
    step = loop.last_step()
    predicted = step_response(MODEL, GOOD, HEATER, 25.0, 60.0, 20.0)
    assert predicted.settling_time is not None
    # noise (0.02 rms) is the only difference from the noise-free prediction
    assert step["overshoot"] <= predicted.overshoot + 5 * MODEL.noise
    assert step["settling_time"] <= predicted.settling_time + 2 / loop.sampling_frequency
    assert abs(rec[-1][1] - 60.0) < loop.deadband


def test_badly_tuned_gains_oscillate_and_never_settle():
    clock = VirtualClock()
    loop, _, _ = soft_loop(clock, BAD)
    rec: list = []
    loop.setpoint = 60.0
    run(loop, clock, 40.0, rec)
    tail = np.array([r[1] for r in rec[len(rec) // 2:]])
    assert tail.max() - tail.min() > 10 * loop.deadband          # a sustained oscillation
    assert not loop.settled and loop.state == "MOVING"
    assert loop.last_step()["settling_time"] is None
    predicted = step_response(MODEL, BAD, HEATER, 25.0, 60.0, 40.0)
    assert predicted.settling_time is None                        # the model says so too


def test_deadband_wait_and_ramp_wait():
    clock = VirtualClock()
    loop, _, _ = soft_loop(clock)
    loop.wait_mode = "RAMP"
    loop.setpoint = 40.0
    run(loop, clock, 1.4)
    assert not loop.axis_ready()
    run(loop, clock, 0.2)                                          # ramp over at 1.5 s
    assert loop.axis_ready() and not loop.settled                  # input still on its way
    loop.wait_mode = WaitMode.DEADBAND
    assert not loop.axis_ready()
    run(loop, clock, 10.0)
    assert loop.axis_ready() and loop.settled


def test_stop_holds_the_working_setpoint_and_abort_does_the_same():
    clock = VirtualClock()
    loop, _, _ = soft_loop(clock)
    loop.setpoint = 60.0
    run(loop, clock, 1.0)
    loop.stop()
    assert loop.setpoint == pytest.approx(35.0, abs=0.2) and not loop.is_ramping()
    assert loop.is_regulating()
    loop.setpoint = 50.0
    run(loop, clock, 0.5)
    loop.abort()
    assert loop.setpoint == pytest.approx(loop.working_setpoint) and loop.is_regulating()


def test_stop_regulation_sets_the_output_safe():
    clock = VirtualClock()
    loop, ctrl, _ = soft_loop(clock)
    loop.setpoint = 60.0
    run(loop, clock, 2.0)
    assert ctrl.plant.power > 0
    loop.stop_regulation()
    assert ctrl.plant.power == 0.0 and loop.state == "OFF" and not loop.is_regulating()


# -- failures --------------------------------------------------------------------------------
def test_three_input_failures_stop_the_loop_safe_and_start_regulation_resumes():
    clock = VirtualClock()
    loop, ctrl, _ = soft_loop(clock)
    loop.setpoint = 60.0
    run(loop, clock, 5.0)
    assert ctrl.plant.power > 0
    ctrl.command("disconnect_sensor")
    for i in range(MAX_FAILURES - 1):
        run(loop, clock, 0.1)
        assert loop.is_regulating(), f"stopped after {i + 1} failures"
    run(loop, clock, 0.1)
    assert not loop.is_regulating() and loop.state == "FAULT"
    assert "3 consecutive failures of input sample_tc" in loop.fault
    assert "disconnected" in loop.fault and "safe value 0" in loop.fault
    assert ctrl.plant.power == 0.0
    ctrl.command("connect_sensor")
    loop.start_regulation()
    assert loop.fault == "" and loop.is_regulating() and loop.setpoint == 60.0
    run(loop, clock, 10.0)
    assert loop.state == "READY"


def test_a_failure_streak_shorter_than_three_is_forgiven():
    clock = VirtualClock()
    loop, ctrl, _ = soft_loop(clock)
    loop.setpoint = 30.0
    for _ in range(3):
        ctrl.command("disconnect_sensor")
        run(loop, clock, 0.2)          # two failed samples
        ctrl.command("connect_sensor")
        run(loop, clock, 0.1)          # one good one resets the count
    assert loop.is_regulating() and loop.fault == ""


def test_three_output_failures_stop_the_loop_and_say_why():
    clock = VirtualClock()
    loop, ctrl, _ = soft_loop(clock)
    loop.setpoint = 60.0
    run(loop, clock, 0.5)
    real = ctrl.set_output_value
    ctrl.set_output_value = lambda o, v: (_ for _ in ()).throw(OSError("power supply interlock"))
    run(loop, clock, 0.3)
    assert loop.state == "FAULT" and "output heater_power" in loop.fault
    assert "power supply interlock" in loop.fault and "safe value" in loop.fault
    ctrl.set_output_value = real


def test_unknown_controller_command_names_the_known_ones():
    ctrl, *_ = furnace(VirtualClock())
    with pytest.raises(ValueError, match="furnace: unknown command 'explode'.*disconnect_sensor"):
        ctrl.command("explode")


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("attr, value, match", [
    ("setpoint", 500.0, r"sample_temp: setpoint 500 degC is above the high limit 120 degC \(allowed \[0, 120\] degC\)"),
    ("setpoint", -1.0, r"sample_temp: setpoint -1 degC is below the low limit 0 degC"),
    ("setpoint", math.nan, r"sample_temp: setpoint nan is not a finite number \(allowed \[0, 120\]"),
    ("ramprate", -1.0, r"sample_temp: ramprate -1.0 is outside the allowed range \[0, \+inf\] degC/s"),
    ("deadband", -0.1, r"sample_temp: deadband -0.1 is outside the allowed range \[0, \+inf\] degC"),
    ("deadband_time", -2, r"sample_temp: deadband_time -2 is outside the allowed range \[0, \+inf\] s"),
    ("sampling_frequency", 0.0, r"sample_temp: sampling_frequency 0.0 is outside the allowed range \(0, 1000\] Hz"),
    ("sampling_frequency", -5, r"sampling_frequency -5 is outside"),
    ("kp", -1, r"sample_temp: kp -1 is outside the allowed range \[0, \+inf\]"),
    ("deadband_idle_factor", 2, r"deadband_idle_factor 2 is outside the allowed range \[0, 1\]"),
    ("wait_mode", "SOMETIMES", r"sample_temp: wait_mode must be RAMP \(1\) or DEADBAND \(2\)"),
])
def test_bad_values_are_refused_and_change_nothing(attr, value, match):
    clock = VirtualClock()
    loop, ctrl, store = soft_loop(clock)
    before = (loop.parameters(), dict(store.data["sample_temp"]), loop.is_regulating(), ctrl.plant.power)
    err = SetpointLimitError if attr == "setpoint" else RegulationValueError
    with pytest.raises(err, match=match):
        setattr(loop, attr, value)
    assert (loop.parameters(), dict(store.data["sample_temp"]), loop.is_regulating(), ctrl.plant.power) == before
    assert math.isnan(loop.setpoint)
    if attr == "setpoint":
        assert isinstance(err("x"), LimitError)     # the loop axis' limits, as any axis'


def test_output_limits_clamp_and_safe_value_must_lie_inside():
    ctrl, _, heater, _ = furnace(VirtualClock())
    assert heater.set_value(150.0) == 100.0 and ctrl.plant.power == 100.0
    assert heater.set_value(-5.0) == 0.0
    with pytest.raises(RegulationValueError, match=r"heater_power: safe value 120.0 is outside the allowed range \[0, 100\] %"):
        heater.safe_value = 120.0
    with pytest.raises(RegulationValueError, match="low limit 50 must be below high limit 10"):
        heater.limits = (50, 10)


# -- settings and restart -------------------------------------------------------------------
def test_parameters_persist_and_a_rebuilt_loop_starts_off_with_the_output_safe():
    clock = VirtualClock()
    loop, ctrl, store = soft_loop(clock)
    loop.kp, loop.ki, loop.kd = 0.07, 0.03, 0.001
    loop.ramprate, loop.deadband, loop.deadband_time = 4.0, 0.3, 2.0
    loop.sampling_frequency, loop.wait_mode = 20.0, "ramp"
    loop.pid_range = (0.0, 0.8)
    loop.setpoint = 55.0
    run(loop, clock, 2.0)
    params = loop.parameters()
    assert ctrl.plant.power > 0
    ctrl.close()                                       # the plant state as hardware keeps it
    # a new process: same settings store, the plant where it was, heater at its last power
    again, ctrl2, _ = soft_loop(clock, store=store)
    assert again.parameters() == params and again.setpoint == 55.0
    assert not again.is_regulating() and again.state == "OFF"
    assert ctrl2.plant.power == 0.0                    # initialize() made it safe
    assert again.pid.tunings == (0.07, 0.03, 0.001) and again.pid.output_limits == (0.0, 0.8)


def test_apply_config_forgets_the_settings():
    clock = VirtualClock()
    loop, _, store = soft_loop(clock)
    loop.kp = 0.5
    loop.setpoint = 30.0
    loop.apply_config()
    assert loop.kp == GOOD["P"] and loop.pid.Kp == GOOD["P"] and loop.setpoint == 30.0
    assert set(store.data["sample_temp"]) == {"setpoint"}


# -- the hardware path -----------------------------------------------------------------------
def test_a_self_regulating_controller_regulates_and_ramps_by_itself():
    """Real time, a fast furnace: the controller's firmware runs the PID and the ramp,
    the Loop only sends parameters and watches."""
    fast = ThermalModel(heat_capacity=0.5, loss=2.0, max_power=200.0, delay=0.02, noise=0.01)
    import time
    ctrl, sensor, heater, store = furnace(time.monotonic, cls=SelfRegulatingFurnace, model=fast)
    cfg = {"name": "oven", **GOOD, "P": 0.05, "I": 0.2, "ramprate": 50.0, "deadband_time": 0.2,
           "frequency": 50.0, "monitor_period": 0.02}
    loop = Loop(ctrl, cfg, sensor, heater, settings_factory=store)
    ctrl.initialize_loop(loop)
    loop.initialize()
    assert ctrl.get_kp(loop) == 0.05 and ctrl.get_ramprate(loop) == 50.0
    loop.setpoint = 50.0
    assert ctrl._fw["oven"].task is not None            # the controller's PID runs
    assert loop.is_ramping() and 25.0 <= loop.working_setpoint < 50.0
    assert loop.wait(timeout=30.0)
    assert abs(sensor.read() - 50.0) < loop.deadband and loop.state == "READY"
    loop.stop_regulation()
    assert ctrl._fw["oven"].task is None and ctrl.plant.power == 0.0
    ctrl.close()


def test_hardware_loop_watch_stops_after_three_input_failures():
    import time
    fast = ThermalModel(heat_capacity=0.5, delay=0.02, noise=0.01)
    ctrl, sensor, heater, store = furnace(time.monotonic, cls=SelfRegulatingFurnace, model=fast)
    loop = Loop(ctrl, {"name": "oven", **GOOD, "monitor_period": 0.01}, sensor, heater, settings_factory=store)
    ctrl.initialize_loop(loop)
    loop.initialize()
    loop.setpoint = 40.0
    gevent.sleep(0.05)
    ctrl.command("disconnect_sensor")
    with pytest.raises(RegulationError, match="oven: regulation stopped after 3 consecutive failures of input sample_tc"):
        loop.wait(timeout=5.0)
    assert loop.state == "FAULT" and ctrl.plant.power == 0.0 and ctrl._fw["oven"].task is None
    ctrl.close()
