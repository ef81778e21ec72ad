"""`Mca <instance>`: the Tango server of the configured multi-channel analyzers."""

from __future__ import annotations

from blisstango.core import green

green.patch()

import sys  # noqa: E402

import tango  # noqa: E402

from ..serve import serve  # noqa: E402
from .device import Mca  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    # BY_DEVICE: spectra and statistics pushed under the device monitor (servers.pusher).
    # Requests to one device still overlap: the executor lets go of the monitor while a
    # command waits in the hub (ReadData waiting for a running acquisition's points while
    # pulses, StopAcquisition or a GUI's reads are served)
    return serve("Mca", (Mca,), argv, serial_model=tango.SerialModel.BY_DEVICE)


if __name__ == "__main__":
    sys.exit(main())
