"""`Mca <instance>`: the Tango server of the configured multi-channel analyzers."""

from __future__ import annotations

from blisstango.core import green

green.patch()

import sys  # noqa: E402

import tango  # noqa: E402

from .. import executor  # noqa: E402
from ..serve import serve  # noqa: E402
from .device import Mca  # noqa: E402


def _pre_init() -> None:
    """Requests to one device may overlap: ReadData waits (cooperatively) for the points of
    a running acquisition while pulses, StopAcquisition or a GUI's reads are served. Every
    request runs in this process' gevent hub, so nothing else needs Tango's per-device
    lock. Requests reach the hub through the one persistent watcher of servers.executor."""
    tango.Util.instance().set_serial_model(tango.SerialModel.NO_SYNC)
    executor.install()


def main(argv: list[str] | None = None) -> int:
    return serve("Mca", (Mca,), argv, pre_init_callback=_pre_init)


if __name__ == "__main__":
    sys.exit(main())
