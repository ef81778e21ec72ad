"""What the emulated coupler's inputs are wired to: valves that take time to travel,
thermocouples heated through a relay, fixed inputs. Each element advances its state to
the time of a request before the coupler answers it, so readings follow from time alone
(no background loop) and an output written at time t starts acting at t.

The Wago object's `emulator:` YAML section::

    emulator:
      valves:                  # the position switches follow the output after travel_time
        - {output: valve_cmd, open: valve_open, closed: valve_closed, travel_time: 0.8}
      heaters:                 # first-order thermal lag towards ambient (+ power when on)
        - {relay: heater, thermocouples: [tc1], ambient: 22, power: 60, time_constant: 8}
      inputs: {tc2: 24.5, gauge: 3.2}   # other inputs: fixed physical values
      plugged: [750-504, 750-478]        # optional: the modules the coupler really has,
                                         # when they are not the mapping's (no physics then)
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from ..errors import WagoConfigError
from ..mapping import DI, DO, Channel, WagoMapping
from .image import CouplerImage


def _channel(mapping: WagoMapping, name: str, what: str, area: str | tuple[str, ...]) -> Channel:
    areas = (area,) if isinstance(area, str) else area
    chans = [c for c in mapping.channels if c.name == name]
    if not chans:
        raise WagoConfigError(f"wago {mapping.name}: emulator {what} {name!r} is not a logical name of the mapping")
    if chans[0].area not in areas:
        raise WagoConfigError(f"wago {mapping.name}: emulator {what} {name!r} is not a "
                              f"{' or '.join(areas)} channel (it is {chans[0].area})")
    return chans[0]


@dataclass
class Valve:
    """A pneumatic valve or shutter: its open/closed switches follow the output."""

    output: Channel
    open: Channel | None
    closed: Channel | None
    travel_time: float
    position: float = 0.0  # 0 closed .. 1 open

    def advance(self, image: CouplerImage, dt: float) -> None:
        target = image.bits[DO][self.output.offsets[0]]
        step = dt / self.travel_time if self.travel_time > 0 else 1.0
        self.position = min(1.0, self.position + step) if target else max(0.0, self.position - step)
        if self.open is not None:
            image.bits[DI][self.open.offsets[0]] = int(self.position >= 1.0)
        if self.closed is not None:
            image.bits[DI][self.closed.offsets[0]] = int(self.position <= 0.0)


@dataclass
class Heater:
    """Thermocouples on something a relay heats: dT/dt = (ambient + power*on - T) / tau."""

    relay: Channel
    thermocouples: list[Channel]
    ambient: float = 22.0
    power: float = 60.0
    time_constant: float = 10.0
    noise: float = 0.0
    temperature: float = field(default=math.nan)

    def advance(self, image: CouplerImage, dt: float) -> None:
        if math.isnan(self.temperature):
            self.temperature = self.ambient
        on = image.bits[DO][self.relay.offsets[0]]
        target = self.ambient + (self.power if on else 0.0)
        decay = math.exp(-dt / self.time_constant) if self.time_constant > 0 else 0.0
        self.temperature = target + (self.temperature - target) * decay
        for tc in self.thermocouples:
            value = self.temperature + (random.gauss(0.0, self.noise) if self.noise else 0.0)
            set_input(image, tc, value)


def set_input(image: CouplerImage, ch: Channel, value: float) -> None:
    """Put a physical value on an input channel (its words or bit)."""
    if ch.area == DI:
        image.bits[DI][ch.offsets[0]] = 1 if value else 0
        return
    for offset, word in zip(ch.offsets, ch.reading.to_raw(value)):
        image.words[ch.area][offset] = word


class Physics:
    """Every wired element of one emulated coupler, advanced together."""

    def __init__(self, mapping: WagoMapping, spec: dict | None, image: CouplerImage, now: float) -> None:
        spec = spec or {}
        self.elements: list[Valve | Heater] = []
        for v in spec.get("valves") or []:
            opened = _channel(mapping, v["open"], "valve open switch", DI) if v.get("open") else None
            closed = _channel(mapping, v["closed"], "valve closed switch", DI) if v.get("closed") else None
            self.elements.append(Valve(_channel(mapping, v["output"], "valve output", DO), opened, closed,
                                       float(v.get("travel_time", 1.0))))
        for h in spec.get("heaters") or []:
            tcs = h.get("thermocouples") or []
            tcs = [tcs] if isinstance(tcs, str) else tcs
            self.elements.append(Heater(
                _channel(mapping, h["relay"], "heater relay", DO),
                [_channel(mapping, t, "heated thermocouple", ("AI",)) for t in tcs],
                ambient=float(h.get("ambient", 22.0)), power=float(h.get("power", 60.0)),
                time_constant=float(h.get("time_constant", 10.0)), noise=float(h.get("noise", 0.0))))
        for name, value in (spec.get("inputs") or {}).items():
            set_input(image, _channel(mapping, name, "input", (DI, "AI")), float(value))
        self.image = image
        self.last = now
        self.advance(now)

    def advance(self, now: float) -> None:
        dt = max(0.0, now - self.last)
        self.last = now
        for element in self.elements:
            element.advance(self.image, dt)
