"""`NexusWriter <instance>`: writes every session's scans from the data Redis to NeXus files."""

from __future__ import annotations

from blisstango.core import green

green.patch()

import sys  # noqa: E402

import tango  # noqa: E402

from ..serve import serve  # noqa: E402
from .device import NexusWriter  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    # BY_DEVICE: events pushed under the device monitor (servers.pusher)
    return serve("NexusWriter", (NexusWriter,), argv, serial_model=tango.SerialModel.BY_DEVICE)


if __name__ == "__main__":
    sys.exit(main())
