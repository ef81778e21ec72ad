"""A fluorescence simulator configuration shared by the MCA tests (Fe, Cu, Zn spots on sx/sy)."""

from __future__ import annotations

import copy

CONFIG = {
    "class": "FluorescenceSimulator",
    "elements": 4,
    "spectrum_size": 4096,
    "calibration": [0.0, 0.005, 0.0],
    "beam": {"energy": 12.0},
    "detector": {"noise": 0.1, "tau": 1.0e-6, "tau_fast": 1.0e-7, "solid_angles": [1.0, 0.97, 0.94, 0.91]},
    "sample": {"axes": ["sx", "sy"], "scatter_rate": 2000.0, "background_rate": 50.0,
               "spots": [{"element": "Fe", "x": -1.0, "y": 1.0, "fwhm": 0.8, "rate": 3.0e5},
                         {"element": "Cu", "x": 1.5, "y": 1.0, "fwhm": 0.8, "rate": 1.0e5},
                         {"element": "Zn", "x": 0.0, "y": -1.5, "fwhm": 0.8, "rate": 1.0e5}]},
    "rois": {"Fe": [1250, 1312], "Cu": [1590, 1630], "Zn": [1708, 1748]},
}
SPOTS = {"Fe": (-1.0, 1.0), "Cu": (1.5, 1.0), "Zn": (0.0, -1.5)}


def config(**changes) -> dict:
    cfg = copy.deepcopy(CONFIG)
    cfg.update(changes)
    return cfg


def simulator(name: str = "mca1", positions: dict | None = None, settings: dict | None = None, **changes):
    from blisstango.core.mca.simulator import FluorescenceSimulator
    from blisstango.core.mca.simulator.sources import FixedPositions

    pos = FixedPositions(positions if positions is not None else {"sx": -1.0, "sy": 1.0})
    return FluorescenceSimulator(name, config(**changes), settings=settings if settings is not None else {},
                                 positions=pos)
