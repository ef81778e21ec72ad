"""Scanning engine: acquisition chains of masters and slaves, Scan, standard scans."""

from .acquisition import (
           AcquisitionMaster,
           AcquisitionObject,
           AcquisitionSlave,
           NodeStats,
           TriggerMode,
)
from .chain import AcquisitionChain
from .channels import AcquisitionChannel
from .context import ScanContext, current_context, set_context
from .masters import SoftwarePositionTriggerMaster, StepMaster, TimerMaster
from .presets import ScanPreset, WatchdogCallback
from .scan import EndReason, Scan, ScanAborted, ScanState

__all__ = ["AcquisitionMaster", "AcquisitionObject", "AcquisitionSlave", "NodeStats", "TriggerMode",
           "AcquisitionChain", "AcquisitionChannel", "ScanContext", "current_context", "set_context",
           "SoftwarePositionTriggerMaster", "StepMaster", "TimerMaster", "ScanPreset", "WatchdogCallback",
           "EndReason", "Scan", "ScanAborted", "ScanState"]
