"""A session's procedures: its functions run by name, with live output, from any client.

catalogue (which functions are procedures), arguments (text -> values, never evaluated),
output (print() of a run caught per greenlet tree), runner (one run at a time: start,
stop, abort, result, error), scan_functions (scans and alignment bound to the session's
ScanServer). The Tango face is the Procedures device of the ScanServer
(servers/ScanServer/procedures.py). This package module stays light (the ScanServer's
descriptor reads DEVICE_FAMILY when any tree is validated): import from the submodules.
"""

#: family of a session's Procedures device `<domain>/procedure/<session>` (a sub-device
#: of the session's ScanServer)
DEVICE_FAMILY = "procedure"
