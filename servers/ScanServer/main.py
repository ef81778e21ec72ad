"""`ScanServer <instance>`: the Tango server running the scans of its session(s)."""

from __future__ import annotations

from blisstango.core import green

green.patch()

import logging  # noqa: E402
import sys  # noqa: E402

from .. import executor  # noqa: E402
from ..serve import serve  # noqa: E402
from .device import ScanServer  # noqa: E402
from .procedures import Procedures  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # requests reach the hub through the one persistent watcher of servers.executor
    return serve("ScanServer", (ScanServer, Procedures), argv, pre_init_callback=executor.install)


if __name__ == "__main__":
    sys.exit(main())
