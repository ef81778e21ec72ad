"""`AxisManager <instance>`: the Tango server of the configured motion axes."""

from __future__ import annotations

from blisstango.core import green

green.patch()

import sys  # noqa: E402

import tango  # noqa: E402

from blisstango.core.motion import write_behind  # noqa: E402

from ..serve import serve  # noqa: E402
from .axis_device import BlissAxis  # noqa: E402
from .manager_device import AxisManagerDevice  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    write_behind.enable()  # this process owns its axes: settings writes off the hot path
    # BY_DEVICE: events pushed under the device monitor (servers.pusher)
    status = serve("AxisManager", (BlissAxis, AxisManagerDevice), argv, serial_model=tango.SerialModel.BY_DEVICE)
    write_behind.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
