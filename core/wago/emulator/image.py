"""The process image and identity registers of an emulated 750 coupler, addressed as
the coupler addresses them over Modbus.

Bits (read coils / discrete inputs): 0x000..0x1FF the digital inputs, 0x200..0x3FF the
digital outputs read back. Bit writes at either range set the digital outputs.
Words (read holding / input registers): 0x000..0x0FF the input image (analog input words,
then the digital inputs packed 16 to a word), 0x200..0x2FF the output image (analog
output words, then the digital outputs packed); word writes at either range set the
output image. 0x2000..0x2008 constants, 0x2010..0x2014 identity, 0x2030.. module list.
An address beyond the modules' image is refused (illegal data address), as on a coupler.
"""

from __future__ import annotations

from ..identity import FIRMWARE, MODULE_LIST, MODULE_LIST_WORDS, ORDER, SERIES
from ..mapping import AI, AO, DI, DO, WagoMapping

OUTPUT_BASE = 0x200
CONSTANTS = {0x2000: 0x0000, 0x2001: 0xFFFF, 0x2002: 0x1234, 0x2003: 0xAAAA, 0x2004: 0x5555,
             0x2005: 0x7FFF, 0x2006: 0x8000, 0x2007: 0x3FFF, 0x2008: 0x4000}
FIRMWARE_REVISION = 0x0110


class AddressError(LookupError):
    """A Modbus address outside what the coupler serves (-> illegal data address)."""


class CouplerImage:
    """The coupler's memory for a mapping's modules (names only matter to the physics)."""

    def __init__(self, mapping: WagoMapping, coupler: str | None = None) -> None:
        sizes = mapping.area_sizes
        self.bits = {DI: [0] * sizes[DI], DO: [0] * sizes[DO]}
        self.words = {AI: [0] * sizes[AI], AO: [0] * sizes[AO]}
        code = coupler or mapping.coupler.code
        self.order = int(code.split("-")[1])
        modules = [self.order, *(m.identity_code() for m in mapping.slots)]
        self.identity = {**CONSTANTS, FIRMWARE: FIRMWARE_REVISION, SERIES: 750, ORDER: self.order,
                         0x2013: FIRMWARE_REVISION >> 8, 0x2014: FIRMWARE_REVISION & 0xFF}
        for i in range(MODULE_LIST_WORDS):
            self.identity[MODULE_LIST + i] = modules[i] if i < len(modules) else 0

    # ---- bits ---------------------------------------------------------------------------
    def read_bits(self, address: int, count: int) -> list[int]:
        return [self._bit(a) for a in range(address, address + count)]

    def _bit(self, address: int) -> int:
        area, offset = (DO, address - OUTPUT_BASE) if address >= OUTPUT_BASE else (DI, address)
        bits = self.bits[area]
        if not 0 <= offset < len(bits) or address >= 2 * OUTPUT_BASE:
            raise AddressError(address)
        return bits[offset]

    def bit_or_zero(self, address: int) -> int:
        """The bit at address, 0 beyond the image (the rest of a register a read touches)."""
        try:
            return self._bit(address)
        except AddressError:
            return 0

    def write_bits(self, address: int, values: list) -> None:
        offset = address - OUTPUT_BASE if address >= OUTPUT_BASE else address
        outputs = self.bits[DO]
        if address >= 2 * OUTPUT_BASE or offset < 0 or offset + len(values) > len(outputs):
            raise AddressError(address)
        for i, value in enumerate(values):
            outputs[offset + i] = 1 if value else 0

    # ---- words --------------------------------------------------------------------------
    def read_words(self, address: int, count: int) -> list[int]:
        return [self._word(a) for a in range(address, address + count)]

    def _word(self, address: int) -> int:
        if address in self.identity:
            return self.identity[address]
        if address < 0x100:
            return self._image_word(AI, DI, address)
        if OUTPUT_BASE <= address < OUTPUT_BASE + 0x100:
            return self._image_word(AO, DO, address - OUTPUT_BASE)
        raise AddressError(address)

    def _image_word(self, words_area: str, bits_area: str, offset: int) -> int:
        words, bits = self.words[words_area], self.bits[bits_area]
        if offset < len(words):
            return words[offset] & 0xFFFF
        first = (offset - len(words)) * 16
        if first >= len(bits):
            raise AddressError(offset)
        return sum(bit << i for i, bit in enumerate(bits[first:first + 16]))

    def write_words(self, address: int, values: list[int]) -> None:
        offset = address - OUTPUT_BASE if address >= OUTPUT_BASE else address
        if address >= OUTPUT_BASE + 0x100 or 0x100 <= address < OUTPUT_BASE:
            raise AddressError(address)
        words, bits = self.words[AO], self.bits[DO]
        packed_words = (len(bits) + 15) // 16
        if offset + len(values) > len(words) + packed_words:
            raise AddressError(address)
        for i, value in enumerate(values):
            at = offset + i
            if at < len(words):
                words[at] = int(value) & 0xFFFF
                continue
            first = (at - len(words)) * 16
            for b in range(first, min(first + 16, len(bits))):
                bits[b] = (int(value) >> (b - first)) & 1
