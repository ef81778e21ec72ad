"""Counters: what scans count, grouped by the controller that reads them."""

from .calc import CalcCounter
from .counter import Counter, CounterController
from .integrating import (
           IntegratingCounter,
           IntegratingCounterController,
           TimerIntegratingController,
)
from .measurement_group import MeasurementGroup, MeasurementGroups
from .sampling import SamplingCounter, SamplingCounterController, SamplingMode
from .simulation import SimulationCounter, SimulationCounterController
from .tango_attr import TangoAttrCounter

__all__ = ["CalcCounter", "Counter", "CounterController", "IntegratingCounter",
           "IntegratingCounterController", "TimerIntegratingController", "MeasurementGroup",
           "MeasurementGroups", "SamplingCounter", "SamplingCounterController", "SamplingMode",
           "SimulationCounter", "SimulationCounterController", "TangoAttrCounter"]
