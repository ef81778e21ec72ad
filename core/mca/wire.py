"""How a block of MCA points travels in one Tango DevEncoded value (ReadData).

format: "mca/1 <first> <count> <elements> <bins>"; data: the spectra as little-endian
uint32 (count, elements, bins) followed by the statistics as little-endian float64
(count, elements, 8) in STAT_FIELDS order. count 0 carries no data.
"""

from __future__ import annotations

import numpy as np

from .counters import McaBlock
from .modes import STAT_FIELDS

MAGIC = "mca/1"
NSTATS = len(STAT_FIELDS)


def encode(block: McaBlock | None, first: int, elements: int, bins: int) -> tuple[str, bytes]:
    if block is None or block.count == 0:
        return f"{MAGIC} {first} 0 {elements} {bins}", b""
    spectra = np.ascontiguousarray(block.spectra, dtype="<u4")
    stats = np.ascontiguousarray(block.stats, dtype="<f8")
    return (f"{MAGIC} {block.first} {block.count} {spectra.shape[1]} {spectra.shape[2]}",
            spectra.tobytes() + stats.tobytes())


def decode(value: tuple[str, bytes]) -> McaBlock | None:
    fmt, data = value
    parts = str(fmt).split()
    if len(parts) != 5 or parts[0] != MAGIC:
        raise ValueError(f"not an MCA block: format {fmt!r}")
    first, count, elements, bins = (int(p) for p in parts[1:])
    if count == 0:
        return None
    buf = memoryview(data) if not isinstance(data, memoryview) else data
    nspec = count * elements * bins * 4
    expected = nspec + count * elements * NSTATS * 8
    if len(buf) != expected:
        raise ValueError(f"MCA block of {count} x {elements} x {bins}: {len(buf)} bytes, expected {expected}")
    spectra = np.frombuffer(buf[:nspec], dtype="<u4").reshape(count, elements, bins)
    stats = np.frombuffer(buf[nspec:], dtype="<f8").reshape(count, elements, NSTATS)
    return McaBlock(first, spectra, stats)
