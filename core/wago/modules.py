"""The catalogue of WAGO 750-series modules: what each one puts in the process image.

Per order code: digital input and output bits, analog input and output words, logical
channels (normal and extended mode), how a reading converts (see conversion.py) and the
data sheet's short description. The figures are the modules' (the same 93 codes BLISS
knows); couplers and controllers are listed so that `main_module` can name them.

A coupler identifies its modules in registers 0x2030...: an analog or special module by
its number (469 for a 750-469); a digital module only by a code, since it carries no
order number: bit 15 set, bits 8..14 its size in bits, bit 1 output, bit 0 input.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .conversion import Digital, FullScale, Reading, StatusByte, Temperature, TwoWords


@dataclass(frozen=True)
class ModuleType:
    code: str             # "750-469"
    digital_in: int       # bits in the input process image
    digital_out: int      # bits in the output process image
    analog_in: int        # words in the input process image
    analog_out: int       # words in the output process image
    channels: int         # logical channels, normal mode
    channels_ext: int     # logical channels, extended mode (diagnostics, status/control)
    reading: str          # digital, fs10, fs20, fs4-20, fs30, thc, raw, ssi24/32, counter, 637, 653, cpu
    description: str

    @property
    def number(self) -> int:
        """469 for 750-469, 562 for 750-562-UP."""
        return int(self.code.split("-")[1])

    @property
    def is_coupler(self) -> bool:
        return self.reading == "cpu"

    @property
    def is_digital(self) -> bool:
        return self.reading == "digital"

    def identity_code(self) -> int:
        """The word a coupler reports for this module in its 0x2030 module list."""
        if not self.is_digital:
            return self.number
        size = max(self.digital_in, self.digital_out)
        return 0x8000 | size << 8 | (0x2 if self.digital_out else 0) | (0x1 if self.digital_in else 0)

    def matches(self, code: int) -> bool:
        """Whether a module reporting `code` can be this one (a digital module reports only
        its direction and size, so a 750-504 and a 750-516 look alike)."""
        if not self.is_digital:
            return code == self.number
        if not code & 0x8000:
            return False
        size = (code >> 8) & 0x7F
        direction = (code & 0x2 and self.digital_out) or (code & 0x1 and self.digital_in)
        return bool(direction) and size in (self.digital_in, self.digital_out, self.channels)

    def channel_reading(self) -> Reading:
        """The conversion of this module's value channels (not of status words)."""
        return self._reading

    @cached_property
    def _reading(self) -> Reading:
        kind = self.reading
        unit = "mA" if "mA" in self.description else "V"
        if kind == "digital":
            return Digital()
        if kind == "thc":
            return Temperature()
        if kind.startswith("ssi"):
            return TwoWords(bits=int(kind[3:]))
        if kind in ("counter", "637"):
            return TwoWords(bits=32)
        if kind == "fs4-20":
            return FullScale(span=16, offset=4, low=4, high=20, unit=unit)
        if kind.startswith("fs"):
            span = float(kind[2:])
            if self.code == "750-562-UP":
                return FullScale(span=span, low=0, high=span, base=65535, unipolar=True, unit=unit)
            base = 20000 if self.code == "750-477" else 32767
            low = -span if "+-" in self.description else 0.0
            return FullScale(span=span, low=low, high=span, base=base, unit=unit)
        return Reading()


STATUS = StatusByte()

_CATALOGUE = [
    # code, DI bits, DO bits, AI words, AO words, channels, channels extended, reading, description
    ("750-342", 0, 0, 0, 0, 2, 2, "cpu", "Ethernet TCP/IP fieldbus coupler"),
    ("750-352", 0, 0, 0, 0, 2, 2, "cpu", "Ethernet fieldbus coupler"),
    ("750-362", 0, 0, 0, 0, 2, 2, "cpu", "Modbus TCP fieldbus coupler"),
    ("750-363", 0, 0, 0, 0, 2, 2, "cpu", "EtherNet/IP fieldbus coupler"),
    ("750-842", 0, 0, 0, 0, 2, 2, "cpu", "Ethernet programmable controller"),
    ("750-852", 0, 0, 0, 0, 2, 2, "cpu", "Ethernet programmable controller"),
    ("750-881", 0, 0, 0, 0, 2, 2, "cpu", "Ethernet programmable controller"),
    ("750-891", 0, 0, 0, 0, 2, 2, "cpu", "Modbus TCP programmable controller"),
    ("750-8001", 0, 0, 0, 0, 2, 2, "cpu", "PFC100 programmable controller"),
    ("750-400", 2, 0, 0, 0, 2, 2, "digital", "2 Channel Digital Input"),
    ("750-401", 2, 0, 0, 0, 2, 2, "digital", "2 Channel Digital Input"),
    ("750-402", 4, 0, 0, 0, 4, 4, "digital", "4 Channel Digital Input"),
    ("750-403", 4, 0, 0, 0, 4, 4, "digital", "4 Channel Digital Input"),
    ("750-404", 0, 0, 3, 3, 2, 4, "counter", "32 bit Counter"),
    ("750-405", 2, 0, 0, 0, 2, 2, "digital", "2 Channel Digital Input"),
    ("750-406", 2, 0, 0, 0, 2, 2, "digital", "2 Channel Digital Input"),
    ("750-408", 4, 0, 0, 0, 4, 4, "digital", "4 Channel Digital Input"),
    ("750-409", 4, 0, 0, 0, 4, 4, "digital", "4 Channel Digital Input"),
    ("750-410", 2, 0, 0, 0, 2, 2, "digital", "2 Channel Digital Input"),
    ("750-411", 2, 0, 0, 0, 2, 2, "digital", "2 Channel Digital Input"),
    ("750-412", 2, 0, 0, 0, 2, 2, "digital", "2 Channel Digital Input"),
    ("750-414", 4, 0, 0, 0, 4, 4, "digital", "4 Channel Digital Input"),
    ("750-415", 4, 0, 0, 0, 4, 4, "digital", "4 Channel Digital Input"),
    ("750-422", 4, 0, 0, 0, 4, 4, "digital", "4 Channel Digital Input"),
    ("750-430", 8, 0, 0, 0, 8, 8, "digital", "8 Channel Digital Input"),
    ("750-436", 8, 0, 0, 0, 8, 8, "digital", "8 Channel Digital Input"),
    ("750-452", 0, 0, 2, 0, 2, 2, "fs20", "2 Channel 0/20mA Input"),
    ("750-454", 0, 0, 2, 0, 2, 2, "fs4-20", "2 Channel 4/20mA Input"),
    ("750-455", 0, 0, 4, 0, 4, 4, "fs4-20", "4 Channel 4/20mA Input"),
    ("750-456", 0, 0, 2, 0, 2, 2, "fs10", "2 Channel +-10V Differential Input"),
    ("750-457", 0, 0, 4, 0, 4, 4, "fs10", "4 Channel +-10V Input"),
    ("750-458", 0, 0, 8, 0, 8, 8, "thc", "8 Channel Ktype Thermocouple Input"),
    ("750-459", 0, 0, 4, 0, 4, 4, "fs10", "4 Channel 0/10V Input"),
    ("750-461", 0, 0, 2, 0, 2, 2, "thc", "2 Channel PT100 Input"),
    ("750-462", 0, 0, 2, 0, 2, 2, "thc", "2 Channel Thermocouple Input"),
    ("750-464", 0, 0, 4, 0, 4, 4, "raw", "4 Channel Resistance Measurement Input"),
    ("750-465", 0, 0, 2, 0, 2, 2, "fs20", "2 Channel 0/20mA Input"),
    ("750-466", 0, 0, 2, 0, 2, 2, "fs4-20", "2 Channel 4/20mA Input"),
    ("750-467", 0, 0, 2, 0, 2, 2, "fs10", "2 Channel 0/10V Input"),
    ("750-468", 0, 0, 4, 0, 4, 4, "fs10", "4 Channel 0/10V Input"),
    ("750-469", 0, 0, 2, 0, 2, 2, "thc", "2 Channel Ktype Thermocouple Input"),
    ("750-471", 0, 0, 4, 0, 4, 4, "fs4-20", "4 Channel 4/20mA 16bit Input"),
    ("750-472", 0, 0, 2, 0, 2, 2, "fs20", "2 Channel 0/20mA 16bit Input"),
    ("750-473", 0, 0, 2, 0, 2, 2, "fs4-20", "2 Channel 4/20mA Input"),
    ("750-474", 0, 0, 2, 0, 2, 2, "fs4-20", "2 Channel 4/20mA 15bit Input"),
    ("750-476", 0, 0, 2, 0, 2, 2, "fs10", "2 Channel +-10V Input"),
    ("750-477", 0, 0, 2, 0, 2, 2, "fs20", "2 Channel 0/10V Differential Input"),
    ("750-478", 0, 0, 2, 0, 2, 2, "fs10", "2 Channel 0/10V Input"),
    ("750-479", 0, 0, 2, 0, 2, 2, "fs10", "2 Channel +-10V Input"),
    ("750-480", 0, 0, 2, 0, 2, 2, "fs20", "2 Channel 0/20mA Input"),
    ("750-483", 0, 0, 2, 0, 2, 2, "fs30", "2 Channel 0/30V Differential Input"),
    ("750-485", 0, 0, 2, 0, 2, 2, "fs4-20", "2 Channel 4/20mA Input"),
    ("750-492", 0, 0, 2, 0, 2, 2, "fs4-20", "2 Channel 4/20mA Differential Input"),
    ("750-497", 0, 0, 8, 0, 8, 8, "fs10", "8 Channel Analog Input"),
    ("750-498", 0, 0, 8, 0, 8, 8, "thc", "8 Channel Ktype Thermocouple Input"),
    ("750-501", 0, 2, 0, 0, 2, 2, "digital", "2 Channel Digital Output"),
    ("750-502", 0, 2, 0, 0, 2, 2, "digital", "2 Channel Digital Output"),
    ("750-504", 0, 4, 0, 0, 4, 4, "digital", "4 Channel Digital Output"),
    # 506/507/508: diagnostic bits in the input image, named only in extended mode
    ("750-506", 4, 4, 0, 0, 2, 6, "digital", "2 Channel Digital Output"),
    ("750-507", 2, 2, 0, 0, 2, 4, "digital", "2 Channel Digital Output"),
    ("750-508", 2, 2, 0, 0, 2, 4, "digital", "2 Channel Digital Output"),
    ("750-509", 0, 2, 0, 0, 2, 2, "digital", "2 Channel Digital Output"),
    ("750-511", 0, 0, 0, 2, 2, 2, "fs10", "2 Channel 24V Output"),
    ("750-512", 0, 2, 0, 0, 2, 2, "digital", "2 Normally Open Relay Output"),
    ("750-513", 0, 2, 0, 0, 2, 2, "digital", "2 Normally Open Relay Output"),
    ("750-514", 0, 2, 0, 0, 2, 2, "digital", "2 Changeover Relay Output"),
    ("750-515", 0, 4, 0, 0, 4, 4, "digital", "4 Changeover Relay Output"),
    ("750-516", 0, 4, 0, 0, 4, 4, "digital", "4 Channel Digital Output"),
    ("750-517", 0, 2, 0, 0, 2, 2, "digital", "2 Changeover Relay Output"),
    ("750-519", 0, 4, 0, 0, 4, 4, "digital", "4 Channel Digital Output"),
    ("750-530", 0, 8, 0, 0, 8, 8, "digital", "8 Channel Digital Output"),
    ("750-531", 0, 4, 0, 0, 4, 4, "digital", "4 Channel Digital Output"),
    ("750-534", 0, 8, 0, 0, 8, 8, "digital", "8 Channel Digital Output"),
    ("750-536", 0, 8, 0, 0, 8, 8, "digital", "8 Channel Digital Output"),
    ("750-550", 0, 0, 0, 2, 2, 2, "fs10", "2 Channel 0/10V Output"),
    ("750-552", 0, 0, 0, 2, 2, 2, "fs20", "2 Channel 0/20mA Output"),
    ("750-553", 0, 0, 0, 4, 4, 4, "fs20", "4 Channel 0/20mA Output"),
    ("750-554", 0, 0, 0, 2, 2, 2, "fs4-20", "2 Channel 4/20mA Output"),
    ("750-556", 0, 0, 0, 2, 2, 2, "fs10", "2 Channel +-10V Output"),
    ("750-557", 0, 0, 0, 4, 4, 4, "fs10", "4 Channel +-10V Output"),
    ("750-562", 0, 0, 0, 2, 2, 2, "fs10", "2 Channel +-10V 16bit Output"),
    ("750-562-UP", 0, 0, 0, 2, 2, 2, "fs10", "2 Channel 0/10V 16bit Output"),
    ("750-630", 0, 0, 2, 0, 1, 1, "ssi24", "24 bit SSI encoder"),
    ("750-630-24", 0, 0, 2, 0, 1, 1, "ssi24", "24 bit SSI encoder"),
    ("750-630-32", 0, 0, 2, 0, 1, 1, "ssi32", "32 bit SSI encoder"),
    ("750-637", 0, 0, 4, 4, 2, 8, "637", "32 bit Incremental encoder"),
    ("750-653", 0, 0, 2, 2, 1, 1, "653", "RS485 Serial Interface"),
    ("750-1406", 16, 0, 0, 0, 16, 16, "digital", "16 Channel Digital Input 24V"),
    ("750-1416", 8, 0, 0, 0, 8, 8, "digital", "8 Channel Digital Input"),
    ("750-1417", 8, 0, 0, 0, 8, 8, "digital", "8 Channel Digital Input"),
    ("750-1418", 8, 0, 0, 0, 8, 8, "digital", "8 Channel Digital Input"),
    ("750-1515", 0, 8, 0, 0, 8, 8, "digital", "8 Channel Digital Output"),
    ("750-1516", 0, 8, 0, 0, 8, 8, "digital", "8 Channel Digital Output"),
]

MODULES: dict[str, ModuleType] = {row[0]: ModuleType(*row) for row in _CATALOGUE}

#: modules whose process image this package does not handle (BLISS does not either)
UNSUPPORTED = {"750-653": "the RS485 module's serial protocol is not supported"}


def module(code: str) -> ModuleType:
    """The catalogue entry of an order code ("750-469", also "469")."""
    text = str(code).strip()
    if not text.startswith("750-"):
        text = f"750-{text}"
    try:
        return MODULES[text]
    except KeyError:
        raise KeyError(f"unknown Wago module {code!r}") from None


def describe_code(code: int) -> str:
    """A coupler's module-list word in words: "750-469 (2 Channel Ktype Thermocouple
    Input)", "a 4 channel digital output (code 0x8402)", "no module"."""
    if not code:
        return "no module"
    if code & 0x8000:
        size = (code >> 8) & 0x7F
        kind = {1: "input", 2: "output", 3: "input/output"}.get(code & 0x3, "module")
        return f"a {size} channel digital {kind} (code {code:#06x})"
    found = next((m for m in MODULES.values() if m.number == code and not m.is_digital), None)
    return f"750-{code} ({found.description})" if found else f"750-{code}"


def describe(mod: ModuleType) -> str:
    return f"{mod.code} ({mod.description})"
