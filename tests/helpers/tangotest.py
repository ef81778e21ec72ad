"""Debian's C++ TangoTest as a device server without a database, for tests that need a
real non-Python Tango device."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpers.procs import ServerProcess, free_port
from helpers.waiting import device_answers

TANGOTEST = "/usr/lib/tango/TangoTest"


class TangoTestNoDb(ServerProcess):
    """`TangoTest <instance> -nodb` serving sys/tg_test/1 on a free port; .access is the
    device's full name (tango://host:port/sys/tg_test/1#dbase=no)."""

    def __init__(self, instance: str, log: Path) -> None:
        self.instance, self.log = instance, Path(log)
        self.port = free_port()
        self.access = f"tango://127.0.0.1:{self.port}/sys/tg_test/1#dbase=no"

    def start(self, timeout: float = 30.0) -> TangoTestNoDb:
        self.launch([TANGOTEST, self.instance, "-nodb", "-dlist", "sys/tg_test/1",
                     "-ORBendPoint", f"giop:tcp:127.0.0.1:{self.port}"])
        self.wait_ready(lambda: device_answers(self.access), f"TangoTest {self.instance}", timeout)
        return self


@contextmanager
def tangotest_nodb(instance: str, log: Path) -> Iterator[str]:
    """A started TangoTestNoDb; yields its device's full name, stops it after."""
    server = TangoTestNoDb(instance, log).start()
    try:
        yield server.access
    finally:
        server.stop()
