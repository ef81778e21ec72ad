"""Simulated furnaces, as regulation hardware controllers over the ThermalPlant physics.

FurnaceSimulator: a heater output and a sensor input and nothing else, like a power
supply and a thermometer: a SoftLoop regulates it. SelfRegulatingFurnace: the same
furnace behind a controller that regulates by itself (PID, setpoint and ramp in the
"firmware"), like a Eurotherm or a Cryo-con: a hardware Loop drives it.

The plant's state (temperature, heater power, wall-clock time) is kept in
`settings:<controller>` (field `plant`): real hardware outlives the server process, so a
restarted server finds the furnace where the last one left it, heater still at its last
power until the server makes it safe. `disconnect_sensor` / `connect_sensor` (the Tango
controller_cmd) pull and plug the sensor's cable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import gevent
from simple_pid import PID

from blisstango.core.beacon.settings import object_settings

from .controller import Controller
from .plant import ThermalModel, ThermalPlant
from .ramp import SoftRamp

#: seconds between two saves of the plant state while it changes
PERSIST_PERIOD = 0.5


class FurnaceSimulator(Controller):
    """Heater (output, % of max power) and sensor (input, degC) of one thermal plant."""

    custom_commands = ("disconnect_sensor", "connect_sensor", "plant_state")

    def __init__(self, name: str, config: dict[str, Any],
                 settings_factory: Callable[[str, dict], Any] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(name, config)
        self.clock = clock
        self.model = ThermalModel.from_config(config.get("plant"))
        seed = config.get("seed")
        self.plant = ThermalPlant(self.model, clock, seed=None if seed is None else int(seed))
        self._store = (settings_factory or object_settings)(name, {})
        self._save_pending: gevent.Greenlet | None = None

    # -- life cycle -------------------------------------------------------------------------
    def initialize_controller(self) -> None:
        snap = self._store.get("plant")
        if snap:
            self.plant.restore(snap)

    def close(self) -> None:
        self._save()

    def _save_soon(self) -> None:
        if self._save_pending is None:
            self._save_pending = gevent.spawn_later(PERSIST_PERIOD, self._save)

    def _save(self) -> None:
        self._save_pending = None
        try:
            self._store["plant"] = self.plant.snapshot()
        except Exception:  # noqa: BLE001 - a lost save costs precision, never the regulation
            pass

    # -- hardware ---------------------------------------------------------------------------
    def read_input(self, tinput: Any) -> float:
        return self.plant.read_sensor()

    def state_input(self, tinput: Any) -> str:
        return "READY" if self.plant.connected else "FAULT"

    def read_output(self, toutput: Any) -> float:
        return self.plant.power

    def set_output_value(self, toutput: Any, value: float) -> None:
        before = self.plant.power
        self.plant.set_power(value)
        if self.plant.power != before:
            self._save_soon()

    # -- custom commands ------------------------------------------------------------------
    def disconnect_sensor(self) -> str:
        self.plant.connected = False
        return f"{self.name}: sensor disconnected"

    def connect_sensor(self) -> str:
        self.plant.connected = True
        return f"{self.name}: sensor connected"

    def plant_state(self) -> str:
        return json.dumps({**self.plant.snapshot(), "connected": self.plant.connected,
                           "model": self.model.as_dict()})


class _Firmware:
    """What the self-regulating controller keeps per loop."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.pid = PID(sample_time=None, time_fn=clock, output_limits=(0.0, 1.0))
        self.ramp = SoftRamp(clock)
        self.frequency = 10.0
        self.task: gevent.Greenlet | None = None


class SelfRegulatingFurnace(FurnaceSimulator):
    """The furnace behind a controller with its own PID, setpoint and ramp."""

    def __init__(self, name: str, config: dict[str, Any],
                 settings_factory: Callable[[str, dict], Any] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(name, config, settings_factory, clock)
        self._fw: dict[str, _Firmware] = {}

    def initialize_loop(self, tloop: Any) -> None:
        self._fw[tloop.name] = _Firmware(self.clock)

    def close(self) -> None:
        for fw in self._fw.values():
            if fw.task is not None:
                fw.task.kill()
        super().close()

    def _loop_fw(self, tloop: Any) -> _Firmware:
        return self._fw[tloop.name]

    # -- PID --------------------------------------------------------------------------------
    def set_kp(self, tloop: Any, kp: float) -> None:
        self._loop_fw(tloop).pid.Kp = kp

    def get_kp(self, tloop: Any) -> float:
        return self._loop_fw(tloop).pid.Kp

    def set_ki(self, tloop: Any, ki: float) -> None:
        self._loop_fw(tloop).pid.Ki = ki

    def get_ki(self, tloop: Any) -> float:
        return self._loop_fw(tloop).pid.Ki

    def set_kd(self, tloop: Any, kd: float) -> None:
        self._loop_fw(tloop).pid.Kd = kd

    def get_kd(self, tloop: Any) -> float:
        return self._loop_fw(tloop).pid.Kd

    def set_sampling_frequency(self, tloop: Any, value: float) -> None:
        self._loop_fw(tloop).frequency = value

    def get_sampling_frequency(self, tloop: Any) -> float:
        return self._loop_fw(tloop).frequency

    def set_pid_range(self, tloop: Any, pid_range: tuple[float, float]) -> None:
        self._loop_fw(tloop).pid.output_limits = pid_range

    def get_pid_range(self, tloop: Any) -> tuple[float, float]:
        return self._loop_fw(tloop).pid.output_limits

    def start_regulation(self, tloop: Any) -> None:
        fw = self._loop_fw(tloop)
        if fw.task is not None:
            return
        pid = fw.pid
        pid.set_auto_mode(False)
        pid.set_auto_mode(True, last_output=tloop.output.to_pid(pid.output_limits, self.plant.power))
        fw.task = gevent.spawn(self._firmware, tloop, fw)

    def stop_regulation(self, tloop: Any) -> None:
        fw = self._loop_fw(tloop)
        task, fw.task = fw.task, None
        if task is not None:
            task.kill()

    def is_regulating(self, tloop: Any) -> bool:
        return self._loop_fw(tloop).task is not None

    def _firmware(self, tloop: Any, fw: _Firmware) -> None:
        """The controller's own regulation: a sensor fault switches the heater off."""
        next_t = self.clock()
        while True:
            with self.lock:
                wsp = fw.ramp.value()
                if wsp is not None:
                    fw.pid.setpoint = wsp
                try:
                    x = self.plant.read_sensor()
                except OSError:
                    self.set_output_value(tloop.output, 0.0)
                else:
                    u = fw.pid(x)
                    self.set_output_value(tloop.output, tloop.output.clamp(tloop.output.from_pid(fw.pid.output_limits, u)))
            next_t += 1.0 / fw.frequency
            gevent.sleep(max(0.0, next_t - self.clock()))

    # -- setpoint and ramp --------------------------------------------------------------------
    def set_setpoint(self, tloop: Any, sp: float) -> None:
        self._loop_fw(tloop).ramp.set(sp)

    def get_setpoint(self, tloop: Any) -> float:
        target = self._loop_fw(tloop).ramp.target
        return float("nan") if target is None else target

    def get_working_setpoint(self, tloop: Any) -> float:
        value = self._loop_fw(tloop).ramp.value()
        return float("nan") if value is None else value

    def start_ramp(self, tloop: Any, sp: float) -> None:
        fw = self._loop_fw(tloop)
        current = fw.ramp.value()
        fw.ramp.start(self.plant.temperature() if current is None or fw.task is None else current, sp)

    def stop_ramp(self, tloop: Any) -> None:
        self._loop_fw(tloop).ramp.stop()

    def is_ramping(self, tloop: Any) -> bool:
        return self._loop_fw(tloop).ramp.is_ramping()

    def set_ramprate(self, tloop: Any, rate: float) -> None:
        self._loop_fw(tloop).ramp.rate = rate

    def get_ramprate(self, tloop: Any) -> float:
        return self._loop_fw(tloop).ramp.rate
