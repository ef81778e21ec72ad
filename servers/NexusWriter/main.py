"""`NexusWriter <instance>`: writes every session's scans from the data Redis to NeXus files."""

from __future__ import annotations

from blisstango.core import green

green.patch()

import sys  # noqa: E402

from tango import GreenMode  # noqa: E402
from tango.server import run  # noqa: E402

from .device import NexusWriter  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv if argv is None else argv)
    args[0] = "NexusWriter"
    run((NexusWriter,), args=args, green_mode=GreenMode.Gevent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
