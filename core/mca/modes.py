"""BLISS's MCA vocabulary: trigger and preset modes, and the per-element statistics."""

from __future__ import annotations

import enum
from typing import NamedTuple

from .errors import McaParameterError


class TriggerMode(enum.Enum):
    SOFTWARE = 1  # one acquisition per trigger(), ended by the preset
    SYNC = 2      # mapping: every trigger pulse ends a pixel and starts the next
    GATE = 3      # mapping: a pixel lasts as long as the gate is open


class PresetMode(enum.Enum):
    NONE = 1      # until stop_acquisition()
    REALTIME = 2  # preset_value seconds of real time
    LIVETIME = 3  # preset_value seconds of (energy) live time
    EVENTS = 4    # preset_value events in the spectrum
    TRIGGERS = 5  # preset_value triggers seen by the fast channel


class Stats(NamedTuple):
    """Statistics of one element for one acquisition (BLISS field order)."""

    realtime: float
    trigger_livetime: float
    energy_livetime: float
    triggers: int
    events: int
    icr: float
    ocr: float
    deadtime: float


STAT_FIELDS: tuple[str, ...] = Stats._fields


def make_stats(realtime: float, trigger_livetime: float, energy_livetime: float, triggers: int,
               events: int) -> Stats:
    """Stats with the rates derived as XIA and BLISS define them: icr = triggers /
    trigger_livetime, ocr = events / realtime, deadtime = 1 - ocr / icr."""
    icr = triggers / trigger_livetime if trigger_livetime > 0 else 0.0
    ocr = events / realtime if realtime > 0 else 0.0
    deadtime = 1.0 - ocr / icr if icr > 0 else 0.0
    return Stats(float(realtime), float(trigger_livetime), float(energy_livetime), int(triggers), int(events),
                 float(icr), float(ocr), float(deadtime))


def parse_mode(enum_cls: type[enum.Enum], value, mca: str, parameter: str, supported=None) -> enum.Enum:
    """value (member, name in any case, or number) as a member of enum_cls that is also in
    `supported`; McaParameterError naming the allowed names otherwise."""
    allowed = list(supported) if supported is not None else list(enum_cls)
    member = None
    if isinstance(value, enum_cls):
        member = value
    elif isinstance(value, str):
        member = enum_cls.__members__.get(value.strip().upper())
    elif isinstance(value, int) and not isinstance(value, bool):
        member = next((m for m in enum_cls if m.value == value), None)
    if member is None or member not in allowed:
        raise McaParameterError(mca, parameter, getattr(value, "name", value), [m.name for m in allowed])
    return member
