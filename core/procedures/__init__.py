"""A session's procedures: its functions run by name, with live output, from any client.

catalogue (which functions are procedures), arguments (text -> values, never evaluated),
output (print() of a run caught per greenlet tree), runner (one run at a time: start,
stop, abort, result, error), scan_functions (scans and alignment bound to the session's
ScanServer). The Tango face is the Procedures device of the ScanServer
(servers/ScanServer/procedures.py).
"""

from .arguments import BoundCall, ProcedureArgumentError, bind
from .catalogue import Procedure, find_procedures
from .output import OutputLines, capture
from .runner import (
    ABORTED,
    FAILED,
    RUNNING,
    STOPPED,
    SUCCESS,
    ProcedureAborted,
    ProcedureBusy,
    ProcedureRun,
    ProcedureRunner,
    ProcedureStopped,
    runner_for,
)

__all__ = ["ABORTED", "FAILED", "RUNNING", "STOPPED", "SUCCESS", "BoundCall", "OutputLines", "Procedure",
           "ProcedureAborted", "ProcedureArgumentError", "ProcedureBusy", "ProcedureRun", "ProcedureRunner",
           "ProcedureStopped", "bind", "capture", "find_procedures", "runner_for"]
