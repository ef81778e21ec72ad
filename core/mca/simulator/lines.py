"""X-ray emission lines (keV) and absorption edges of the elements the simulator knows.

Energies from the X-ray Data Booklet (LBNL, tables 1-1 and 1-2); relative intensities
rounded from its table 1-3 (K alpha1 = 100). A line is emitted only when the beam energy
is above the edge of its shell.
"""

from __future__ import annotations

#: element -> (atomic number, edge energy, [(line, energy, relative intensity)])
LINES: dict[str, tuple[int, float, list[tuple[str, float, float]]]] = {
    "Ar": (18, 3.2059, [("Ka1", 2.95770, 1.0), ("Ka2", 2.95563, 0.5), ("Kb1", 3.19050, 0.10)]),
    "Ca": (20, 4.0381, [("Ka1", 3.69168, 1.0), ("Ka2", 3.68809, 0.5), ("Kb1", 4.01276, 0.13)]),
    "Ti": (22, 4.9664, [("Ka1", 4.51084, 1.0), ("Ka2", 4.50486, 0.5), ("Kb1", 4.93181, 0.15)]),
    "Cr": (24, 5.9892, [("Ka1", 5.41472, 1.0), ("Ka2", 5.40551, 0.5), ("Kb1", 5.94671, 0.15)]),
    "Mn": (25, 6.5390, [("Ka1", 5.89875, 1.0), ("Ka2", 5.88765, 0.5), ("Kb1", 6.49045, 0.17)]),
    "Fe": (26, 7.1120, [("Ka1", 6.40384, 1.0), ("Ka2", 6.39084, 0.5), ("Kb1", 7.05798, 0.17)]),
    "Co": (27, 7.7089, [("Ka1", 6.93032, 1.0), ("Ka2", 6.91530, 0.51), ("Kb1", 7.64943, 0.17)]),
    "Ni": (28, 8.3328, [("Ka1", 7.47815, 1.0), ("Ka2", 7.46089, 0.51), ("Kb1", 8.26466, 0.17)]),
    "Cu": (29, 8.9789, [("Ka1", 8.04778, 1.0), ("Ka2", 8.02783, 0.51), ("Kb1", 8.90529, 0.17)]),
    "Zn": (30, 9.6586, [("Ka1", 8.63886, 1.0), ("Ka2", 8.61578, 0.51), ("Kb1", 9.57200, 0.17)]),
    "Ga": (31, 10.3671, [("Ka1", 9.25174, 1.0), ("Ka2", 9.22482, 0.51), ("Kb1", 10.2642, 0.18)]),
    "As": (33, 11.8667, [("Ka1", 10.54372, 1.0), ("Ka2", 10.50799, 0.51), ("Kb1", 11.7262, 0.19)]),
    "Se": (34, 12.6578, [("Ka1", 11.2224, 1.0), ("Ka2", 11.1814, 0.52), ("Kb1", 12.4959, 0.19)]),
    "Sr": (38, 16.1046, [("Ka1", 14.1650, 1.0), ("Ka2", 14.0979, 0.52), ("Kb1", 15.8355, 0.20)]),
    # L3-edge emitters: L alpha1 = 1
    "Au": (79, 11.9187, [("La1", 9.7133, 1.0), ("La2", 9.6280, 0.11), ("Lb1", 11.4423, 0.67),
                         ("Lb2", 11.5847, 0.23), ("Lg1", 13.3817, 0.13)]),
    "Pb": (82, 13.0352, [("La1", 10.5515, 1.0), ("La2", 10.4495, 0.11), ("Lb1", 12.6137, 0.66),
                         ("Lb2", 12.6226, 0.25), ("Lg1", 14.7644, 0.11)]),
}


def _entry(element: str):
    try:
        return LINES[element]
    except KeyError:
        raise ValueError(f"unknown element {element!r}; the simulator knows {', '.join(LINES)}") from None


def edge_energy(element: str) -> float:
    return _entry(element)[1]


def emission_lines(element: str, beam_energy: float | None = None) -> list[tuple[str, float, float]]:
    """(line, energy keV, relative intensity) of the element; none when the beam energy is
    below the edge (nothing is excited)."""
    _z, edge, lines = _entry(element)
    if beam_energy is not None and beam_energy <= edge:
        return []
    return list(lines)


def atomic_number(element: str) -> int:
    return _entry(element)[0]


def fluorescence_yield(element: str) -> float:
    """Probability that a core hole relaxes by emitting a photon (K or L shell), from the
    usual Z**4 / (a + Z**4) fit."""
    z = atomic_number(element)
    a = 1.12e6 if _entry(element)[2][0][0].startswith("K") else 1.0e8
    return z ** 4 / (a + z ** 4)
