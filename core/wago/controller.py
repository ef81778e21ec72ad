"""WagoController: one Wago coupler over Modbus TCP, read and written by logical names.

At every connection it reads the coupler's identity and refuses to go on if the plugged
modules are not the configured ones. Reads fetch whole process-image areas (one Modbus
request each) and keep them for `cache_period` seconds for cached reads. Writes are
checked first (an output, a value in the module's range) and nothing is written unless
every value of the request passes. A lost link is made again, with back-off, by the
next request; errors meanwhile say what failed and when the next attempt is due.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from ..comm.backoff import Backoff
from ..comm.modbus import ModbusTcp, split_url
from .conversion import to_signed
from .errors import WagoChannelError, WagoConfigError, WagoValueError
from .identity import CouplerIdentity, check, read_identity
from .mapping import AI, AO, AREA_NAMES, DI, DO, Channel, WagoMapping
from .modules import describe

#: the most a Modbus request may read: 125 registers, 2000 bits
_CHUNK = {DI: 2000, DO: 2000, AI: 125, AO: 125}


class WagoController:
    """WagoController(mapping, ModbusTcp(host, port)); see from_config for the YAML."""

    def __init__(self, mapping: WagoMapping, link: ModbusTcp, *, cache_period: float = 1.0) -> None:
        self.mapping = mapping
        self.name = mapping.name
        self.link = link
        link.name = f"{mapping.name} ({link.address})"
        link.on_connect = self._on_connect
        self.cache_period = float(cache_period)
        self.identity: CouplerIdentity | None = None
        self.polling_time = 2.0                # s between the Wago server's polls
        self.units: dict[str, str] = {}         # YAML `units`, per logical name
        self.counter_names: list[str] | None = None
        self._cache: dict[str, tuple[float, list]] = {}
        self._areas = mapping.addressing()

    @classmethod
    def from_config(cls, cfg: dict, *, name: str | None = None, file: str | None = None,
                    line: int | None = None, url: str | None = None, timeout: float | None = None,
                    backoff: Backoff | None = None) -> WagoController:
        """From a Wago object's YAML: `modbustcp: {url: host[:port], timeout: s}`, `mapping`,
        `main_module`, `cache_period` (s); url/timeout arguments override the YAML."""
        mapping = WagoMapping.from_config(cfg, name=name, file=file, line=line)
        comm = cfg.get("modbustcp") or {}
        target = url or (comm.get("url") if isinstance(comm, dict) else None)
        if not target:
            raise WagoConfigError(f"wago {mapping.name}: `modbustcp: {{url: host[:port]}}` is missing", file, line)
        host, port = split_url(target)
        seconds = timeout if timeout is not None else float(comm.get("timeout", 1.0))
        link = ModbusTcp(host, port, timeout=seconds, backoff=backoff)
        polling = float(cfg.get("polling_time", 2.0))
        ctrl = cls(mapping, link, cache_period=float(cfg.get("cache_period", polling)))
        ctrl.polling_time = polling
        ctrl.units = dict(cfg.get("units") or {})
        ctrl.counter_names = _names(cfg.get("counter_names"))
        for key, names in (("units", list(ctrl.units)), ("counter_names", ctrl.counter_names or [])):
            unknown = [n for n in names if n not in mapping.keys]
            if unknown:
                raise WagoConfigError(f"wago {mapping.name}: {key} names {', '.join(unknown)}, not logical "
                                      f"names of the mapping ({', '.join(mapping.names)})", file, line)
        return ctrl

    # ---- connection ---------------------------------------------------------------------
    def _on_connect(self, link: ModbusTcp) -> None:
        identity = read_identity(link)
        check(self.mapping, identity, link.address)
        self.identity = identity
        self._cache.clear()

    def connect(self) -> CouplerIdentity:
        """Connect (if not connected) and check the plugged modules; returns the identity."""
        self.link.connect()
        assert self.identity is not None
        return self.identity

    def close(self) -> None:
        self.link.close()

    @property
    def connected(self) -> bool:
        return self.link.connected

    # ---- reading --------------------------------------------------------------------------
    def area(self, area: str, cached: bool = False) -> list:
        """The whole area's raw process image: bits (0/1) or words."""
        if cached:
            hit = self._cache.get(area)
            if hit is not None and time.monotonic() - hit[0] <= self.cache_period:
                return hit[1]
        size = len(self.mapping.areas[area])
        where = self._areas[area]
        reader = getattr(self.link, f"read_{where.read}")
        values: list = []
        while len(values) < size:
            count = min(_CHUNK[area], size - len(values))
            values.extend(int(v) for v in reader(where.read_base + len(values), count))
        self._cache[area] = (time.monotonic(), values)
        return values

    def _images(self, channels: Iterable[Channel], cached: bool) -> dict[str, list]:
        return {a: self.area(a, cached) for a in sorted({c.area for c in channels})}

    def read(self, name: str, cached: bool = False) -> list:
        """Physical values of every channel of a logical name (channel order)."""
        chans = self.mapping.channels_of(name)
        images = self._images(chans, cached)
        return [c.reading.to_physical([images[c.area][o] for o in c.offsets]) for c in chans]

    def read_many(self, names: Sequence[str], cached: bool = False) -> dict[str, list]:
        """{name: channel values} for several names, each area read once."""
        chans = {n: self.mapping.channels_of(n) for n in names}
        images = self._images((c for cs in chans.values() for c in cs), cached)
        return {n: [c.reading.to_physical([images[c.area][o] for o in c.offsets]) for c in cs]
                for n, cs in chans.items()}

    def read_raw(self, name: str, cached: bool = False) -> list[int]:
        """Each channel's first process-image word (or bit), as a signed 16-bit number:
        BLISS's DevReadDigi."""
        chans = self.mapping.channels_of(name)
        images = self._images(chans, cached)
        return [to_signed(images[c.area][c.offsets[0]]) for c in chans]

    # ---- writing --------------------------------------------------------------------------
    def write(self, name: str, *values: Any) -> None:
        """Write every channel of an output name: write("valve_cmd", 1),
        write("dac", 1.5, 2.5) for a two-channel name."""
        chans = self.mapping.channels_of(name)
        if len(values) == 1 and isinstance(values[0], list | tuple):
            values = tuple(values[0])
        if len(values) != len(chans):
            raise WagoValueError(f"{self.name}: {name} has {len(chans)} channel(s), "
                                 f"{len(values)} value(s) given")
        self.write_channels(list(zip(chans, values)))

    def write_channels(self, items: Sequence[tuple[Channel, Any]]) -> None:
        """Check every (channel, value), then write them all."""
        for ch, value in items:
            self._check_write(ch, value)
        for ch, value in items:
            where = self._areas[ch.area]
            raw = ch.reading.to_raw(value)
            if ch.area == DO:
                self.link.write_coil(where.write_base + ch.offsets[0], bool(raw[0]))
            else:
                for offset, word in zip(ch.offsets, raw):
                    self.link.write_registers(where.write_base + offset, [word])
            self._cache.pop(ch.area, None)

    def _check_write(self, ch: Channel, value: Any) -> None:
        if not ch.output:
            outputs = sorted({c.name for c in self.mapping.channels if c.output})
            raise WagoChannelError(f"{self.name}: {ch.label} is {_an(AREA_NAMES[ch.area])} of "
                                   f"{describe(ch.module)} in slot {ch.slot + 1}: only outputs can be "
                                   f"written ({', '.join(outputs) or 'none configured'})")
        why = ch.reading.check(value)
        if why:
            raise WagoValueError(f"{self.name}: {ch.label} = {_show(value)} {why}: {describe(ch.module)} "
                                 f"in slot {ch.slot + 1} takes {ch.reading.range_text()}")

    # ---- BLISS's key-based command set (the Tango server's DevXxx) -----------------------
    def keys(self) -> list[int]:
        return sorted(self.mapping.keys.values())

    def read_phys(self, key: int, cached: bool = True) -> list:
        return self.read(self.mapping.name_of(int(key)), cached)

    def read_digi(self, key: int, cached: bool = True) -> list[int]:
        return self.read_raw(self.mapping.name_of(int(key)), cached)

    def write_phys(self, array: Sequence[float]) -> None:
        """[key, channel, value, channel, value, ...] (BLISS's DevWritePhys)."""
        values = list(array)
        if len(values) < 3 or len(values) % 2 == 0:
            raise WagoValueError(f"{self.name}: DevWritePhys takes [key, channel, value, channel, value, ...]: "
                                 f"{len(values)} number(s) given [{', '.join(_show(v) for v in values)}]")
        key = _integer(self.name, "key", values[0])
        name = self.mapping.name_of(key)
        items = []
        for i in range(1, len(values), 2):
            index = _integer(self.name, f"channel of {name}", values[i])
            items.append((self.mapping.channel(name, index), values[i + 1]))
        self.write_channels(items)

    def __repr__(self) -> str:
        state = "connected" if self.connected else "not connected"
        return f"<WagoController {self.name} {self.link.address} {state}>"


def _show(value: Any) -> str:
    """A value as a person typed it: 12 and 12.5 for numbers (numpy's too), repr otherwise."""
    if isinstance(value, bool) or isinstance(value, str):
        return repr(value)
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return repr(value)


def _names(value: Any) -> list[str] | None:
    if value is None:
        return None
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return [str(i).strip() for i in items if str(i).strip()]


def _an(what: str) -> str:
    return f"an {what}" if what[0] in "aeiou" else f"a {what}"


def _integer(name: str, what: str, value: Any) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise WagoValueError(f"{name}: {what} {_show(value)} is not a number") from None
    if not number.is_integer():
        raise WagoValueError(f"{name}: {what} {_show(value)} is not an integer")
    return int(number)


__all__ = ["WagoController", "AI", "AO", "DI", "DO"]
