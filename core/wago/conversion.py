"""How a Wago module's process-image words become physical values, and back.

Each reading kind knows how many words (or bits) one value takes, its unit, the range a
written value must lie in, and the two conversions. The rules are the modules' own
(WAGO's data sheets, as BLISS applies them): full-scale analog values are the signed
word scaled by span/base plus the low end of the range; thermocouples and PT100s report
signed tenths of a degree; SSI encoders and counters use two words, low word first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def to_signed(value: int, bits: int = 16) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


class Reading:
    """Base: one value per process-image word (or bit)."""

    kind = "raw"
    unit = ""
    words = 1
    digital = False
    #: physical range a written value must lie in (None: the 16-bit word's range)
    low: float | None = None
    high: float | None = None

    def to_physical(self, raw: list[int]) -> float | int:
        return raw[0] & 0xFFFF

    def to_raw(self, value: float) -> list[int]:
        return [int(value) & 0xFFFF]

    def check(self, value: float) -> str | None:
        """Why value cannot be written ("is not a number", ...), None when it can."""
        if not _finite_number(value):
            return "is not a number"
        low, high = self.limits()
        if not low <= float(value) <= high:
            return "is out of range"
        return None

    def limits(self) -> tuple[float, float]:
        if self.low is not None and self.high is not None:
            return self.low, self.high
        return 0.0, float((1 << (16 * self.words)) - 1)

    def range_text(self) -> str:
        low, high = self.limits()
        unit = f" {self.unit}" if self.unit else ""
        return f"{low:g}..{high:g}{unit}"


@dataclass(frozen=True)
class Digital(Reading):
    """One bit: 0 or 1."""

    kind = "digital"
    digital = True
    low = 0.0
    high = 1.0

    def to_physical(self, raw: list[int]) -> int:
        return 1 if raw[0] else 0

    def to_raw(self, value: float) -> list[int]:
        return [1 if value else 0]

    def check(self, value: float) -> str | None:
        if isinstance(value, bool) or (_finite_number(value) and float(value) in (0.0, 1.0)):
            return None
        return "is not 0 or 1"

    def range_text(self) -> str:
        return "0 or 1"


@dataclass(frozen=True)
class FullScale(Reading):
    """value = word * span / base + offset (the word signed unless unipolar); a written
    value must lie in low..high (0..10 V, -10..10 V, 4..20 mA)."""

    span: float
    low: float
    high: float
    offset: float = 0.0
    base: int = 32767
    unipolar: bool = False
    unit: str = "V"

    kind = "fs"

    def to_physical(self, raw: list[int]) -> float:
        word = raw[0] & 0xFFFF if self.unipolar else to_signed(raw[0])
        return word * self.span / self.base + self.offset

    def to_raw(self, value: float) -> list[int]:
        return [int(round((float(value) - self.offset) * self.base / self.span)) & 0xFFFF]


@dataclass(frozen=True)
class Temperature(Reading):
    """Signed tenths of a degree (thermocouples, PT100)."""

    kind = "thc"
    unit = "degC"
    low = -3276.8
    high = 3276.7

    def to_physical(self, raw: list[int]) -> float:
        return to_signed(raw[0]) / 10.0

    def to_raw(self, value: float) -> list[int]:
        return [int(round(float(value) * 10)) & 0xFFFF]


@dataclass(frozen=True)
class TwoWords(Reading):
    """A signed value of `bits` bits over two words, low word first (SSI encoders,
    counter values)."""

    bits: int = 32
    kind = "ssi"
    words = 2

    def to_physical(self, raw: list[int]) -> int:
        return to_signed((raw[0] & 0xFFFF) | (raw[1] & 0xFFFF) << 16, self.bits)

    def to_raw(self, value: float) -> list[int]:
        word = int(value) & ((1 << self.bits) - 1)
        return [word & 0xFFFF, word >> 16 & 0xFFFF]

    def limits(self) -> tuple[float, float]:
        return float(-(1 << (self.bits - 1))), float((1 << (self.bits - 1)) - 1)


@dataclass(frozen=True)
class StatusByte(Reading):
    """The status (or control) byte of a counter or encoder channel."""

    kind = "status"
    low = 0.0
    high = 255.0

    def to_physical(self, raw: list[int]) -> int:
        return raw[0] & 0xFF

    def to_raw(self, value: float) -> list[int]:
        return [int(value) & 0xFF]


def _finite_number(value: object) -> bool:
    try:
        return not isinstance(value, str) and math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
