"""Motion framework: axes with BLISS semantics over controllers that speak steps."""

from .axis import Axis, Motion, start_motions
from .calc import CalcAxis, CalcController
from .controller import Controller
from .encoder import Encoder
from .errors import EncoderDiscrepancyError, LimitError, MotionError
from .group import Group, combined_state
from .hooks import MotionHook
from .shutter import Shutter
from .state import AxisState

__all__ = [
    "Axis", "AxisState", "CalcAxis", "CalcController", "Controller", "Encoder",
    "EncoderDiscrepancyError", "Group", "LimitError", "Motion", "MotionError", "MotionHook",
    "Shutter", "combined_state", "start_motions",
]
