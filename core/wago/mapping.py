"""A Wago object's logical mapping turned into its process-image (register) map.

The YAML lists the modules in slot order with the logical names of their channels, as
BLISS writes it::

    mapping:
      - type: 750-504
        logical_names: valve_cmd, shutter_cmd, heater, spare
      - type: 750-469
        logical_names: [tc1, tc2]

A name used several times gets logical channels 0, 1, ... in order of appearance; names
get keys 0, 1, ... in order of first appearance (BLISS's DevName2Key). The coupler
packs its process image per kind: digital inputs (bits), digital outputs (bits), analog
inputs (words), analog outputs (words), each from offset 0 in slot order; a module's
unnamed channels keep their place. Over Modbus (see AREAS): discrete inputs from 0,
coils written from 0 and read back from 0x200, input registers from 0, holding
registers written from 0 and read back as input registers from 0x200.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .conversion import Reading
from .errors import WagoChannelError, WagoConfigError
from .modules import MODULES, STATUS, UNSUPPORTED, ModuleType, describe, module

DI, DO, AI, AO = "DI", "DO", "AI", "AO"

#: BLISS's area codes in DevLog2Hard / DevHard2Log: ('I' or 'O') << 8 | ('B' or 'W')
AREA_CODES = {DI: 0x4942, DO: 0x4F42, AI: 0x4957, AO: 0x4F57}
AREA_NAMES = {DI: "digital input", DO: "digital output", AI: "analog input", AO: "analog output"}


@dataclass(frozen=True)
class Area:
    """Where a process-image area is read and written over Modbus."""

    read: str            # "discrete_inputs" | "coils" | "input_registers" | "holding_registers"
    read_base: int
    write: str | None    # "coils" | "registers" | None (inputs)
    write_base: int = 0


#: the addressing of a 750-342/352/842... coupler
AREAS = {
    DI: Area("discrete_inputs", 0, None),
    DO: Area("coils", 0x200, "coils", 0),
    AI: Area("input_registers", 0, None),
    AO: Area("input_registers", 0x200, "registers", 0),
}
#: a PFC100 (750-8001) reads its outputs back at offset 0
AREAS_8001 = {**AREAS, DO: Area("coils", 0, "coils", 0), AO: Area("holding_registers", 0, "registers", 0)}

DEFAULT_COUPLER = "750-842"


@dataclass(frozen=True)
class NameInfo:
    """What a client shows of a logical name: its Tango attribute in the Wago server."""

    name: str
    size: int             # channels (a spectrum when > 1)
    digital: bool         # every channel a bit
    writable: bool        # every channel an output
    unit: str
    format: str
    description: str


@dataclass(frozen=True)
class Channel:
    """One logical channel: `name` channel `index`, on a module channel, at offsets of an area."""

    name: str
    index: int
    key: int
    slot: int             # 0 = first module after the coupler
    module: ModuleType
    module_channel: int
    area: str             # DI, DO, AI, AO
    offsets: tuple[int, ...]
    reading: Reading

    @property
    def output(self) -> bool:
        return self.area in (DO, AO)

    @property
    def digital(self) -> bool:
        return self.area in (DI, DO)

    @property
    def label(self) -> str:
        return f"{self.name}[{self.index}]"


def parse_names(value: Any) -> list[str]:
    """logical_names as BLISS writes them ("a, b, c") or as a YAML list."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return [str(item).strip() for item in items]


class WagoMapping:
    """The register map of one Wago object (modules = [(code, [names...]), ...] in slot order)."""

    def __init__(self, modules: Iterable[tuple[str, list[str]]], *, name: str = "wago",
                 main_module: str | None = None, extended_mode: bool = False,
                 ignore_missing: bool = False, file: str | None = None, line: int | None = None) -> None:
        self.name = name
        self.extended_mode = bool(extended_mode)
        self._where = (file, line)
        self.coupler = self._coupler(main_module)
        self.coupler_explicit = main_module is not None
        self.slots: list[ModuleType] = []
        self.areas: dict[str, list[tuple[str, int] | None]] = {DI: [], DO: [], AI: [], AO: []}
        self._occurrences: dict[str, int] = {}
        self.keys: dict[str, int] = {}
        self._placed: list[tuple[str, int, int, ModuleType, int, str, int]] = []
        for slot, (code, names) in enumerate(modules):
            self._add_module(slot, code, list(names), ignore_missing)
        self.channels = self._channels()
        self._by_name: dict[str, list[Channel]] = {}
        for ch in self.channels:
            self._by_name.setdefault(ch.name, []).append(ch)
        for chans in self._by_name.values():
            chans.sort(key=lambda c: c.index)

    @classmethod
    def from_config(cls, cfg: dict, *, name: str | None = None, file: str | None = None,
                    line: int | None = None) -> WagoMapping:
        """From a Wago object's YAML (mapping, main_module, extended_mode, ignore_missing)."""
        name = name or str(cfg.get("name", "wago"))
        entries = cfg.get("mapping")
        if not isinstance(entries, list) or not entries:
            raise WagoConfigError(f"wago {name}: `mapping` must list the modules "
                                  "(- type: 750-xxx, logical_names: a, b)", file, line)
        modules = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or "type" not in entry:
                raise WagoConfigError(f"wago {name}: mapping entry {i + 1} needs `type` (750-xxx) and "
                                      "`logical_names`", file, line)
            modules.append((str(entry["type"]).strip(), parse_names(entry.get("logical_names"))))
        return cls(modules, name=name, main_module=cfg.get("main_module"),
                   extended_mode=bool(cfg.get("extended_mode", False)),
                   ignore_missing=bool(cfg.get("ignore_missing", False)), file=file, line=line)

    # ---- building -----------------------------------------------------------------------
    def _fail(self, message: str) -> WagoConfigError:
        return WagoConfigError(f"wago {self.name}: {message}", *self._where)

    def _coupler(self, code: str | None) -> ModuleType:
        try:
            mod = module(code or DEFAULT_COUPLER)
        except KeyError:
            raise self._fail(f"main_module {code!r} is not a known Wago coupler or controller") from None
        if not mod.is_coupler:
            raise self._fail(f"main_module {mod.code} is a {mod.description}, not a coupler or controller")
        return mod

    def _add_module(self, slot: int, code: str, names: list[str], ignore_missing: bool) -> None:
        where = f"slot {slot + 1} ({code})"
        try:
            mod = module(code)
        except KeyError:
            raise self._fail(f"{where}: unknown module type {code!r}") from None
        if mod.is_coupler:
            raise self._fail(f"{where}: {mod.code} is a coupler; name it as main_module, not in mapping")
        if mod.code in UNSUPPORTED:
            raise self._fail(f"{where}: {UNSUPPORTED[mod.code]}")
        wanted = mod.channels_ext if self.extended_mode else mod.channels
        if any(not n for n in names):
            raise self._fail(f"{where}: empty logical name in {', '.join(names)!r}")
        if len(names) > wanted or (len(names) < wanted and not ignore_missing):
            mode = "extended mode" if self.extended_mode else "normal mode"
            raise self._fail(f"{where}: {describe(mod)} has {wanted} channels in {mode}, "
                             f"{len(names)} logical names given ({', '.join(names)})")
        self.slots.append(mod)
        filled: list[str | None] = [*names, *[None] * (mod.channels_ext - len(names))]
        indexed = [(n, self._next_index(n)) if n else None for n in filled]
        for layout_area, positions in self._layout(mod, indexed):
            for entry in positions:
                self._place(layout_area, entry, slot, mod, indexed)

    def _next_index(self, name: str) -> int:
        self.keys.setdefault(name, len(self.keys))
        index = self._occurrences.get(name, 0)
        self._occurrences[name] = index + 1
        return index

    def _layout(self, mod: ModuleType, ch: list) -> list[tuple[str, list]]:
        """Per area, the module's process-image positions in order: the (name, index) of
        the logical channel there, or None (BLISS's memory table)."""
        ext = self.extended_mode
        if mod.reading == "counter":  # 750-404: status word, value over two words
            if ext:  # value, status, setting value, control
                return [(AI, [ch[1], ch[0], ch[0]]), (AO, [ch[3], ch[2], ch[2]])]
            return [(AI, [ch[0], ch[1], ch[1]]), (AO, [None, None, None])]
        if mod.reading == "637":  # status/control word then data word, per encoder channel
            if ext:
                return [(AI, [ch[1], ch[0], ch[3], ch[2]]), (AO, [ch[5], ch[4], ch[7], ch[6]])]
            return [(AI, [ch[0], ch[1], ch[0], ch[1]]), (AO, [None] * 4)]
        if mod.reading.startswith("ssi"):
            return [(AI, [c for c in ch for _ in (0, 1)])]
        if mod.is_digital:
            if mod.digital_in and mod.digital_out:  # outputs with diagnostic inputs
                if ext:
                    return [(DO, ch[:mod.digital_out]), (DI, ch[mod.digital_out:][:mod.digital_in])]
                return [(DI, [None] * mod.digital_in), (DO, ch[:mod.digital_out])]
            return [(DI, ch[:mod.digital_in])] if mod.digital_in else [(DO, ch[:mod.digital_out])]
        if mod.analog_in:
            return [(AI, ch[:mod.analog_in])]
        return [(AO, ch[:mod.analog_out])]

    def _place(self, area: str, entry, slot: int, mod: ModuleType, indexed: list) -> None:
        offset = len(self.areas[area])
        self.areas[area].append(entry)
        if entry is not None:
            name, index = entry
            self._placed.append((name, index, slot, mod, indexed.index(entry), area, offset))

    def _channels(self) -> list[Channel]:
        grouped: dict[tuple[str, int], list] = {}
        for name, index, slot, mod, module_channel, area, offset in self._placed:
            grouped.setdefault((name, index), []).append((slot, mod, module_channel, area, offset))
        out = []
        for (name, index), places in grouped.items():
            slot, mod, module_channel, area, _ = places[0]
            offsets = tuple(p[4] for p in places if p[3] == area)
            out.append(Channel(name, index, self.keys[name], slot, mod, module_channel, area, offsets,
                               self._reading(mod, module_channel, offsets)))
        return sorted(out, key=lambda c: (c.key, c.index))

    @staticmethod
    def _reading(mod: ModuleType, module_channel: int, offsets: tuple[int, ...]) -> Reading:
        if mod.reading in ("counter", "637"):
            if len(offsets) == 2:  # a 32-bit value (or the 637's two status words)
                return mod.channel_reading()
            # extended mode: one word each; the 637's odd channels are status/control
            return STATUS if mod.reading == "counter" or module_channel % 2 else Reading()
        return mod.channel_reading()

    # ---- looking up -----------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Logical names in key order."""
        return sorted(self.keys, key=self.keys.__getitem__)

    @property
    def area_sizes(self) -> dict[str, int]:
        return {area: len(entries) for area, entries in self.areas.items()}

    def addressing(self) -> dict[str, Area]:
        return AREAS_8001 if self.coupler.code == "750-8001" else AREAS

    def channels_of(self, name: str) -> list[Channel]:
        try:
            return self._by_name[name]
        except KeyError:
            raise WagoChannelError(f"{self.name}: no logical name {name!r}; known: "
                                   f"{', '.join(self.names)}") from None

    def channel(self, name: str, index: int = 0) -> Channel:
        chans = self.channels_of(name)
        if not 0 <= index < len(chans):
            raise WagoChannelError(f"{self.name}: {name} has no channel {index} "
                                   f"(channels 0..{len(chans) - 1})")
        return chans[index]

    def key_of(self, name: str) -> int:
        self.channels_of(name)
        return self.keys[name]

    def name_of(self, key: int) -> str:
        for name, k in self.keys.items():
            if k == key:
                return name
        raise WagoChannelError(f"{self.name}: no logical key {key} (keys 0..{len(self.keys) - 1})")

    def log2hard(self, key: int, index: int) -> tuple[int, int, int, int, int]:
        """(offset, area code, module number, slot, module channel): BLISS's DevLog2Hard."""
        ch = self.channel(self.name_of(key), index)
        return ch.offsets[0], AREA_CODES[ch.area], ch.module.number, ch.slot, ch.module_channel

    def hard2log(self, area_code: int, offset: int) -> tuple[int, int]:
        """(key, logical channel) at `offset` of the area: BLISS's DevHard2Log."""
        area = next((a for a, code in AREA_CODES.items() if code == area_code), None)
        if area is None:
            raise WagoChannelError(f"{self.name}: area code {area_code:#06x} is none of "
                                   + ", ".join(f"{c:#06x} ({AREA_NAMES[a]})" for a, c in AREA_CODES.items()))
        entries = self.areas[area]
        if not 0 <= offset < len(entries) or entries[offset] is None:
            raise WagoChannelError(f"{self.name}: no logical channel at {AREA_NAMES[area]} offset {offset}")
        name, index = entries[offset]
        return self.keys[name], index

    def name_info(self, name: str, units: dict | None = None) -> NameInfo:
        """Size, kind, unit (YAML `units` first, else the module's), format, description."""
        chans = self.channels_of(name)
        digital = all(c.digital for c in chans)
        unit = str((units or {}).get(name) or ("" if digital else chans[0].reading.unit))
        fmt = "%d" if digital or chans[0].reading.kind in ("ssi", "status", "raw") else (
            "%.1f" if chans[0].reading.kind == "thc" else "%.4f")
        modules = sorted({f"{c.module.code} slot {c.slot + 1}" for c in chans})
        kinds = sorted({AREA_NAMES[c.area] for c in chans})
        text = f"{' and '.join(kinds)} ({', '.join(modules)})"
        if all(c.output for c in chans):
            text += f", takes {chans[0].reading.range_text()}"
        return NameInfo(name, len(chans), digital, all(c.output for c in chans), unit, fmt, text)

    def describe_modules(self) -> list[str]:
        return [f"slot {i + 1}: {describe(m)}" for i, m in enumerate(self.slots)]


def catalogue_codes() -> list[str]:
    return sorted(MODULES)
