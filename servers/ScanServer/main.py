"""`ScanServer <instance>`: the Tango server running the scans of its session(s)."""

from __future__ import annotations

from blisstango.core import green

green.patch()

import logging  # noqa: E402
import sys  # noqa: E402

import tango  # noqa: E402

from ..serve import serve  # noqa: E402
from .device import ScanServer  # noqa: E402
from .procedures import Procedures  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # BY_DEVICE: events pushed and attributes made under the device monitor (servers.pusher);
    # a command waiting in the hub (WaitScan) lets go of it (servers.executor)
    return serve("ScanServer", (ScanServer, Procedures), argv, serial_model=tango.SerialModel.BY_DEVICE)


if __name__ == "__main__":
    sys.exit(main())
