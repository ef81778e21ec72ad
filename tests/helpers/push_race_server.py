"""A device server for tests/test_server_push_race.py: ``python push_race_server.py <port>``
serves test/push/1 without a database, through servers.serve the way the AxisManager is
served (BY_DEVICE, the QueueExecutor, PushedUnderMonitor). Its hub pushes change events
of a scalar and a spectrum as fast as it can (what the AxisManager does with Position
while it moves) while clients read both. With PUSH_FROM_HUB=1 it pushes the way every
server did before (from the hub, NO_SYNC): the tests show that one dies."""

from __future__ import annotations

import os
import sys
import time

from blisstango.core import green

green.patch()

import gevent  # noqa: E402
import numpy as np  # noqa: E402
import tango  # noqa: E402
from tango.server import Device, attribute, command  # noqa: E402

from blisstango.servers import executor  # noqa: E402
from blisstango.servers.pusher import PushedUnderMonitor  # noqa: E402
from blisstango.servers.serve import serve  # noqa: E402

UNPROTECTED = os.environ.get("PUSH_FROM_HUB") == "1"


BASES = (Device,) if UNPROTECTED else (PushedUnderMonitor, Device)


class PushRace(*BASES):
    def init_device(self) -> None:
        super().init_device()
        self.set_change_event("X", True, False)
        self.set_change_event("S", True, False)
        self.x = 0.0
        self.pushed = 0
        self.failures: list[str] = []
        self.holding = False
        self.set_state(tango.DevState.ON)
        gevent.spawn(self._push_forever)

    def _spectrum(self) -> np.ndarray:
        return np.arange(int(self.x) % 50 + 1, dtype=float)

    def _push_forever(self) -> None:
        while True:
            self.x += 1
            try:
                self.push_change_event("X", self.x, time.time(), tango.AttrQuality.ATTR_CHANGING)
                self.push_change_event("S", self._spectrum())
                self.pushed += 1
            except tango.DevFailed as exc:
                self.failures.append(exc.args[0].desc)
            gevent.sleep(0.0002)

    @attribute(dtype=float)
    def X(self) -> float:  # noqa: N802 - Tango attribute name
        return self.x

    @attribute(dtype=(float,), max_dim_x=64)
    def S(self) -> np.ndarray:  # noqa: N802
        return self._spectrum()

    @attribute(dtype=int)
    def Pushed(self) -> int:  # noqa: N802
        return self.pushed

    @attribute(dtype=(str,), max_dim_x=16)
    def Failures(self) -> list[str]:  # noqa: N802
        return self.failures[:16]

    @command(dtype_in=float)
    def Hold(self, seconds: float) -> None:  # noqa: N802
        """A long command waiting in the hub, as WaitMove or WaitScan do."""
        self.holding = True
        try:
            gevent.sleep(seconds)
        finally:
            self.holding = False

    @attribute(dtype=bool)
    def Holding(self) -> bool:  # noqa: N802
        return self.holding


if __name__ == "__main__":
    port = sys.argv[1]
    argv = ["PushRace", "test", "-nodb", "-dlist", "test/push/1", "-ORBendPoint", f"giop:tcp:127.0.0.1:{port}"]
    if UNPROTECTED:
        sys.exit(serve("PushRace", (PushRace,), argv, pre_init_callback=executor.install))
    sys.exit(serve("PushRace", (PushRace,), argv, serial_model=tango.SerialModel.BY_DEVICE))
