"""Cryo-con simulators for a controller's `simulator:` block (served by sinstruments).

- `ThermalCryoCon` (the default): the makers' simulator (`cryocon.simulator.CryoCon`,
  its command parser and replies) with a cryostat behind it, so that it behaves like the
  instrument on a real load: each input reads a thermal mass (core.regulation.plant:
  first order + transport delay + noise) warmed by the heater of the loop whose source it
  is; the loop's own PID (`PGAIN`, `IGAIN`, `DGAIN`) runs at 10 Hz when `CONTROL` is on
  and its TYPE is PID or RAMPP; RAMPP ramps the working setpoint at `RATE` (per minute)
  and `RAMP?` says ON meanwhile; MAN holds `PMANUAL` %; `RANGE` HI/MID/LOW scales the
  heater (100 %, 10 %, 1 % of its power); `OUTPWR?` is the heater output in %. The makers'
  plain simulator answers temperatures drawn at random from a list (and 1 in 3 a fault
  string), and no PID or ramp: enough for the protocol, not for a loop.
- the makers' own: `simulator: {class: CryoCon, package: cryocon.simulator}`.

Options of the block: `plant:` (core.regulation.plant.ThermalModel: heat_capacity,
loss, max_power, ambient (the cold stage, in K), delay, noise), `channels`, `loops`
(the makers' initial values, e.g. `loops: {1: {source: A}}`).
"""

from __future__ import annotations

import time
from typing import Any

import gevent
from cryocon.simulator import CryoCon
from simple_pid import PID

from ..plant import ThermalModel, ThermalPlant
from ..ramp import SoftRamp

#: a small sample on a cold stage at 80 K: 50 W heater, 4 s time constant, 1 K per %
DEFAULT_PLANT = {"heat_capacity": 2.0, "loss": 0.5, "max_power": 50.0, "ambient": 80.0,
                 "delay": 0.2, "noise": 0.005}
RANGE_SCALE = {"HI": 1.0, "MID": 0.1, "LOW": 0.01}
FIRMWARE_PERIOD = 0.1


class _Loop:
    def __init__(self) -> None:
        self.pid = PID(10.0, 2.0, 0.0, sample_time=None, output_limits=(0.0, 100.0))
        self.ramp = SoftRamp()
        self.output = 0.0  # % of the range's full scale


class ThermalCryoCon(CryoCon):
    """The makers' Cryo-con 24C simulator on a thermal load; see the module docstring."""

    def __init__(self, name: str, plant: dict | None = None, **opts: Any) -> None:
        super().__init__(name, **opts)
        model = ThermalModel.from_config({**DEFAULT_PLANT, **(plant or {})})
        self._plants = {ch: ThermalPlant(model) for ch in self._config["channels"]}
        self._fw = {n: _Loop() for n in self._config["loops"]}
        for loop in self._config["loops"].values():
            loop.setdefault("pgain", "10.0")
            loop.setdefault("igain", "2.0")
            loop.setdefault("dgain", "0.0")
            loop.setdefault("pmanual", "0.0")
            loop["output power"] = "0.0"
        self._firmware = gevent.spawn(self._run)

    # -- the instrument's own regulation ---------------------------------------------------
    def _run(self) -> None:
        next_t = time.monotonic()
        while True:
            for n, loop in self._config["loops"].items():
                try:
                    self._step(n, loop)
                except Exception:  # noqa: BLE001 - a bad value sent by a client: heater off
                    self._fw[n].output = 0.0
            next_t += FIRMWARE_PERIOD
            gevent.sleep(max(0.0, next_t - time.monotonic()))

    def _step(self, n: str, loop: dict) -> None:
        fw = self._fw[n]
        kind = str(loop["type"]).upper()
        engaged = self._config["control"] in ("ON", True)
        plant = self._plants.get(str(loop["source"]).upper())
        if not engaged or kind == "OFF" or plant is None:
            fw.output = 0.0
        elif kind == "MAN":
            fw.output = min(100.0, max(0.0, float(loop["pmanual"])))
        else:
            wsp = fw.ramp.value() if kind == "RAMPP" else None
            fw.pid.setpoint = float(loop["setpoint"]) if wsp is None else wsp
            fw.pid.tunings = (float(loop["pgain"]), float(loop["igain"]), float(loop["dgain"]))
            fw.output = fw.pid(plant.temperature())
        loop["output power"] = f"{fw.output:.2f}"
        if plant is not None:
            plant.set_power(fw.output * RANGE_SCALE.get(str(loop["range"]).upper(), 1.0))

    def _start_ramp(self, n: str) -> None:
        loop, fw = self._config["loops"][n], self._fw[n]
        plant = self._plants.get(str(loop["source"]).upper())
        here = fw.ramp.value() if fw.ramp.is_ramping() else (plant.temperature() if plant else 0.0)
        fw.ramp.rate = float(loop["rate"]) / 60.0
        fw.ramp.start(here, float(loop["setpoint"]))
        fw.pid.reset()

    # -- the commands it adds to, or changes in, the makers' simulator -----------------------------
    def get_input(self, request: Any) -> str:
        channels, _, variable = request.args.partition(":")
        if variable and not variable.upper().startswith("TEMP"):
            return super().get_input(request)
        values = []
        for ch in channels.split(","):
            plant = self._plants.get(ch.strip().upper())
            values.append("-------" if plant is None or not plant.connected else f"{plant.read_sensor():.4f}")
        return ";".join(values)

    def get_loop(self, request: Any) -> str:
        n, _, variable = request.args.partition(":")
        variable = variable.upper()
        loop = self._config["loops"][n]
        for prefix in ("PGA", "IGA", "DGA", "PMAN"):
            if variable.startswith(prefix):
                return loop[{"PGA": "pgain", "IGA": "igain", "DGA": "dgain", "PMAN": "pmanual"}[prefix]]
        if variable.startswith("RAMP"):
            ramping = str(loop["type"]).upper() == "RAMPP" and self._fw[n].ramp.is_ramping()
            return "ON" if ramping else "OFF"
        return super().get_loop(request)

    def set_loop(self, request: Any) -> str | None:
        arg, value = request.args.split(" ", 1)
        n, _, variable = arg.partition(":")
        variable = variable.upper()
        loop = self._config["loops"][n]
        for prefix, key in (("PGA", "pgain"), ("IGA", "igain"), ("DGA", "dgain"), ("PMAN", "pmanual")):
            if variable.startswith(prefix):
                float(value)
                loop[key] = value.strip()
                return None
        if variable.startswith("OUTP"):
            return "NACK"  # the heater output is the regulation's, not a setting
        result = super().set_loop(request)
        if variable.startswith("SETP") or (variable.startswith("TYP") and value.strip().upper() == "RAMPP"):
            if str(loop["type"]).upper() == "RAMPP":
                self._start_ramp(n)
        return result

    def control(self, request: Any) -> str | None:
        was = self._config["control"] in ("ON", True)
        result = super().control(request)
        if not request.query and not was:
            for n, loop in self._config["loops"].items():
                self._fw[n].pid.reset()
                if str(loop["type"]).upper() == "RAMPP":
                    self._start_ramp(n)
        return result


def simulator_device(name: str, config: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """The sinstruments device for a Cryo-con's `simulator:` block: loops with their
    outputs' numbers, sourced from the loop's input, channels with the inputs' units."""
    inputs = {str(i.get("name")): str(i.get("channel", "")).upper() for i in config.get("inputs", []) or []}
    outputs = {str(o.get("name")): str(o.get("channel")) for o in config.get("outputs", []) or []}
    loops: dict[str, dict] = {n: {} for n in outputs.values()}
    for item in config.get("ctrl_loops", []) or []:
        out, inp = str(item.get("output", "")).lstrip("$"), str(item.get("input", "")).lstrip("$")
        if out in outputs and inp in inputs:
            loops[outputs[out]]["source"] = inputs[inp]
    for n, given in (options.pop("loops", None) or {}).items():
        loops.setdefault(str(n), {}).update(given)
    channels: dict[str, dict] = {ch: {} for ch in "ABCD"}
    for item in config.get("inputs", []) or []:
        if item.get("unit") and str(item["unit"]).upper() in ("K", "C", "F", "S"):
            channels[str(item["channel"]).upper()]["unit"] = str(item["unit"]).upper()
    for ch, given in (options.pop("channels", None) or {}).items():
        channels.setdefault(str(ch).upper(), {}).update(given)
    return {"class": "ThermalCryoCon", "package": "blisstango.core.regulation.cryocon.simulator",
            **options, "loops": loops or {"1": {}}, "channels": channels}
