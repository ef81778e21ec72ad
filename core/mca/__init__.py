"""Multi-channel analyzers, the BLISS way: one base class so every brand looks alike.

`BaseMCA` is the API scans and shells use (elements, spectrum size and range,
calibration, preset and trigger modes, mapping buffer, ROIs, statistics, counters);
`McaController` keeps that API's parameters checked and persisted for an MCA driven in
this process (the fluorescence simulator is one); `RemoteMca` is the same API over an
Mca Tango device.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: name -> submodule: the package imports nothing until a name is asked for, so a client
#: wanting only the attribute names (the GUI's MCA panel: device_names) does not pull in
#: counters, scanning, motion and Redis (0.8 s of the GUI's start-up measured)
_WHERE = {"BaseMCA": "base", "Calibration": "calibration", "McaController": "controller",
          "RoiMcaCounter": "counters", "RoiSumMcaCounter": "counters", "SpectrumMcaCounter": "counters",
          "StatisticsMcaCounter": "counters", "McaError": "errors", "McaParameterError": "errors",
          "STAT_FIELDS": "modes", "PresetMode": "modes", "Stats": "modes", "TriggerMode": "modes",
          "RoiConfig": "rois"}

__all__ = ["BaseMCA", "Calibration", "McaController", "RoiMcaCounter", "RoiSumMcaCounter",
           "SpectrumMcaCounter", "StatisticsMcaCounter", "McaError", "McaParameterError",
           "STAT_FIELDS", "PresetMode", "Stats", "TriggerMode", "RoiConfig"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .base import BaseMCA
    from .calibration import Calibration
    from .controller import McaController
    from .counters import RoiMcaCounter, RoiSumMcaCounter, SpectrumMcaCounter, StatisticsMcaCounter
    from .errors import McaError, McaParameterError
    from .modes import STAT_FIELDS, PresetMode, Stats, TriggerMode
    from .rois import RoiConfig
