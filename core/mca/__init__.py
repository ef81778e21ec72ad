"""Multi-channel analyzers, the BLISS way: one base class so every brand looks alike.

`BaseMCA` is the API scans and shells use (elements, spectrum size and range,
calibration, preset and trigger modes, mapping buffer, ROIs, statistics, counters);
`McaController` keeps that API's parameters checked and persisted for an MCA driven in
this process (the fluorescence simulator is one); `RemoteMca` is the same API over an
Mca Tango device.
"""

from .base import BaseMCA
from .calibration import Calibration
from .controller import McaController
from .counters import RoiMcaCounter, RoiSumMcaCounter, SpectrumMcaCounter, StatisticsMcaCounter
from .errors import McaError, McaParameterError
from .modes import STAT_FIELDS, PresetMode, Stats, TriggerMode
from .rois import RoiConfig

__all__ = ["BaseMCA", "Calibration", "McaController", "RoiMcaCounter", "RoiSumMcaCounter",
           "SpectrumMcaCounter", "StatisticsMcaCounter", "McaError", "McaParameterError",
           "STAT_FIELDS", "PresetMode", "Stats", "TriggerMode", "RoiConfig"]
