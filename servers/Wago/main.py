"""`Wago <instance>`: the Tango server of the configured Wago couplers, valves and shutters.

A synchronous server, not patched for gevent: requests are served in omniORB's threads,
polling and switch watching in threads of its own; the Modbus client then uses plain
sockets and a thread lock (core.comm.modbus chooses).
"""

from __future__ import annotations

import sys

from tango import GreenMode

from ..serve import serve
from .actuator_device import WagoShutter, WagoValve
from .device import Wago


def main(argv: list[str] | None = None) -> int:
    return serve("Wago", (Wago, WagoValve, WagoShutter), argv, green_mode=GreenMode.Synchronous)


if __name__ == "__main__":
    sys.exit(main())
