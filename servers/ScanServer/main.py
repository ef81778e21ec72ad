"""`ScanServer <instance>`: the Tango server running the scans of its session(s)."""

from __future__ import annotations

from blisstango.core import green

green.patch()

import logging  # noqa: E402
import sys  # noqa: E402

from tango import GreenMode  # noqa: E402
from tango.server import run  # noqa: E402

from .device import ScanServer  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = list(sys.argv if argv is None else argv)
    args[0] = "ScanServer"
    run((ScanServer,), args=args, green_mode=GreenMode.Gevent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
