"""Change events pushed from a gevent server's hub while clients read the same
attributes. cppTango copies a read value into its reply in the request thread; a push
sets that attribute's value meanwhile. With nothing serialising the two (PyTango runs
green servers NO_SYNC), the server died of heap corruption within seconds here, and the
AxisManager twice in a 30-min soak (Position pushed while read 50 times a second).
servers.serve.green_requests puts every gevent server BY_DEVICE and the executor lets go
of the monitor while a request waits in the hub."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import tango
from helpers.procs import NoDbServer
from helpers.waiting import wait_until

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent


@pytest.fixture
def server(tmp_path):
    srv = NoDbServer(HERE / "helpers" / "push_race_server.py", "test/push/1", tmp_path / "push_race.log")
    try:
        tango.DeviceProxy(srv.name).ping()
        yield srv.name, srv.proc, srv.log
    finally:
        srv.stop()


def read_in_threads(name: str, attrs: list[str], threads: int, until) -> list[str]:
    """Read `attrs` from `threads` clients as fast as they can until until() is true;
    the first error of each client."""
    errors: list[str] = []

    def client() -> None:
        dev = tango.DeviceProxy(name)
        while not until():
            try:
                dev.read_attributes(attrs)
            except tango.DevFailed as exc:
                errors.append(exc.args[0].desc)
                return

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return errors


def test_reads_racing_pushes_of_the_same_attributes_leave_the_server_whole(server):
    name, proc, log = server
    dev = tango.DeviceProxy(name)
    received = []
    dev.subscribe_event("S", tango.EventType.CHANGE_EVENT, lambda ev: received.append(ev.err))
    start_pushed = dev.Pushed
    # 20 000 pushes under reads (unprotected, the server died within ~2000)
    errors = read_in_threads(name, ["X", "S"], 4, lambda: proc.poll() is not None or dev.Pushed > start_pushed + 20000)
    assert proc.poll() is None, f"the server died (exit {proc.returncode}); log {log}:\n" + log.read_text()[-3000:]
    assert errors == []
    assert list(dev.Failures) == []  # no 'Value for attribute S has not been updated'
    assert received and not any(received[1:])


def hold_finished(dev: tango.DeviceProxy, request: int) -> bool:
    try:
        dev.command_inout_reply(request)  # without a timeout: does not wait
    except tango.AsynReplyNotArrived:
        return False
    return True


def test_a_long_command_blocks_neither_reads_nor_events_of_its_device(server):
    name, proc, log = server
    holder, reader = tango.DeviceProxy(name), tango.DeviceProxy(name)
    holder.set_timeout_millis(10000)
    request = holder.command_inout_asynch("Hold", 4.0)
    wait_until(lambda: reader.Holding, 10, "Hold running in the server")
    seen = []
    while not hold_finished(holder, request):
        # Hold lasts longer than cppTango's 3.2 s monitor timeout: a held monitor fails this
        seen.append(reader.X)
    assert proc.poll() is None
    # pushes went on in the hub during the whole command: X kept changing
    assert len(set(seen)) > 10, seen[:20]
