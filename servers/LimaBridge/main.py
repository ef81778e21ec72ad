"""`LimaBridge <instance>`: the configured 2D detectors (plugin `lima`) of this instance,
one device `<domain>/lima/<name>` each, over the LimaCCDs devices their `tango_url` name."""

from __future__ import annotations

from blisstango.core import green

green.patch()

import sys  # noqa: E402

import tango  # noqa: E402

from ..serve import serve  # noqa: E402
from .device import LimaBridge  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    # BY_DEVICE: events pushed under the device monitor (servers.pusher)
    return serve("LimaBridge", (LimaBridge,), argv, serial_model=tango.SerialModel.BY_DEVICE)


if __name__ == "__main__":
    sys.exit(main())
