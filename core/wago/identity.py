"""A coupler's identity registers, and the check of its plugged modules against a mapping.

Every 750 coupler and controller answers, for holding and input register reads alike:
0x2010 firmware revision, 0x2011 series (750), 0x2012 order number (352, 842, ...),
0x2030.. (65 words) the coupler's own number then one word per plugged module, 0 after
the last (see modules.py for how digital modules are coded).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import WagoModuleMismatch
from .mapping import WagoMapping
from .modules import describe, describe_code

FIRMWARE, SERIES, ORDER, MODULE_LIST = 0x2010, 0x2011, 0x2012, 0x2030
MODULE_LIST_WORDS = 65


@dataclass(frozen=True)
class CouplerIdentity:
    firmware: int
    series: int
    order: int
    modules: tuple[int, ...]  # one code per plugged module, slot order

    @property
    def coupler(self) -> str:
        return f"{self.series}-{self.order}"

    def describe(self) -> list[str]:
        return [f"slot {i + 1}: {describe_code(code)}" for i, code in enumerate(self.modules)]


def read_identity(link) -> CouplerIdentity:
    """Read the identity registers through a ModbusTcp link."""
    firmware, series, order = link.read_input_registers(FIRMWARE, 3)
    words = link.read_holding_registers(MODULE_LIST, MODULE_LIST_WORDS)
    modules = []
    for word in words[1:]:  # words[0] is the coupler itself
        if not word:
            break
        modules.append(word)
    return CouplerIdentity(firmware, series, order, tuple(modules))


def mismatches(mapping: WagoMapping, identity: CouplerIdentity) -> list[str]:
    """Each difference between the configured and the plugged modules, in words."""
    out = []
    if mapping.coupler_explicit and identity.order != mapping.coupler.number:
        out.append(f"coupler: the configuration names {describe(mapping.coupler)} (main_module) but the "
                   f"coupler reports 750-{identity.order}")
    plugged, configured = identity.modules, mapping.slots
    for i in range(max(len(plugged), len(configured))):
        if i >= len(plugged):
            out.append(f"slot {i + 1}: the configuration names {describe(configured[i])} but the coupler "
                       f"has no module there ({len(plugged)} plugged)")
        elif i >= len(configured):
            out.append(f"slot {i + 1}: the coupler has {describe_code(plugged[i])} that the configuration "
                       "does not name")
        elif not configured[i].matches(plugged[i]):
            out.append(f"slot {i + 1}: the configuration names {describe(configured[i])} but the coupler "
                       f"reports {describe_code(plugged[i])}")
    return out


def check(mapping: WagoMapping, identity: CouplerIdentity, address: str) -> None:
    """Raise WagoModuleMismatch naming every differing slot and both module codes."""
    found = mismatches(mapping, identity)
    if found:
        raise WagoModuleMismatch(f"{mapping.name}: the modules plugged in the coupler at {address} are not "
                                 f"those configured: {'; '.join(found)}")
