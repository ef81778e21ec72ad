"""`Regulation <instance>`: the Tango server of the configured regulation loops, inputs
and outputs."""

from __future__ import annotations

from blisstango.core import green

green.patch()

import sys  # noqa: E402

import tango  # noqa: E402

from blisstango.core.config.release import release_all  # noqa: E402
from blisstango.core.config.root import built_process_objects  # noqa: E402

from ..serve import freeze_startup_objects, serve  # noqa: E402
from .io_devices import Input, Output  # noqa: E402
from .loop_device import Loop  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    try:
        # BY_DEVICE: events pushed under the device monitor (servers.pusher)
        return serve("Regulation", (Loop, Input, Output), argv, serial_model=tango.SerialModel.BY_DEVICE,
                     post_init_callback=freeze_startup_objects)
    finally:  # the hardware keeps what it has; its state is saved
        release_all(built_process_objects(), "object")


if __name__ == "__main__":
    sys.exit(main())
