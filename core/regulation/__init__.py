"""Regulation: Input, Output and Loop (BLISS's model), the SoftLoop running the PID here,
the loop as an axis, and simulated furnaces as hardware controllers."""

from .axis import LoopAxis, axis_name
from .controller import Controller
from .errors import RegulationError, RegulationValueError, SetpointLimitError
from .furnace import FurnaceSimulator, SelfRegulatingFurnace
from .io import ExternalInput, ExternalOutput, Input, Output
from .loop import MAX_FAILURES, Loop, WaitMode
from .plant import SensorDisconnected, ThermalModel, ThermalPlant
from .ramp import SoftRamp
from .softloop import SoftLoop

__all__ = ["Controller", "ExternalInput", "ExternalOutput", "FurnaceSimulator", "Input", "Loop",
           "LoopAxis", "MAX_FAILURES", "Output", "RegulationError", "RegulationValueError",
           "SelfRegulatingFurnace", "SensorDisconnected", "SetpointLimitError", "SoftLoop",
           "SoftRamp", "ThermalModel", "ThermalPlant", "WaitMode", "axis_name"]
