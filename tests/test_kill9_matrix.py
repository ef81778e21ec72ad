"""The kill -9 matrix (issue 19, point 2): every process of the demo stack killed with
SIGKILL in the middle of a scan, one after the other, on one stack.

What a user relies on, for each: the scan ends — never hangs — and when the lost process
was in the scan's path it ends as FAILURE with a sentence naming the object and the server
("m0's server AxisManager/demo stopped answering ... and is being restarted"); the stack's
supervisor restarts the process; the next scan works with nobody doing anything; the file
holds every point the data Redis holds, its entry closed. Processes outside the scan's path
(BeaconDB, the Redis servers, the file writer) do not end the scan at all.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

import h5py
import numpy as np
import pytest
import tango
from helpers.demo_stack import DemoStack
from helpers.nexus import wait_complete
from helpers.procs import pid_alive
from helpers.waiting import wait_until

from blisstango.clients.scan_events import RecordFollower
from blisstango.core.data import ScanReader

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@dataclass(frozen=True)
class Victim:
    process: str          # as `blisstango status` names it ("redis:data" for a Redis server)
    scan: tuple[str, ...]  # the ScanServer command and its arguments
    names: tuple[str, ...] = ()  # what the error must name; () = the scan is not affected
    after: float = 3.0    # s from the kill to the scan's end (a scan that goes on: its own length)

    def __str__(self) -> str:
        return self.process


SCAN = ("loopscan", "150", "0.02", "diode")
MATRIX = [
    Victim("AxisManager/demo", ("ascan", "m0", "0", "8", "150", "0.02", "diode"), ("m0", "AxisManager/demo")),
    Victim("Mca/default", ("loopscan", "300", "0.02", "mca1"), ("mca1", "Mca/default")),
    Victim("Regulation/demo", ("loopscan", "300", "0.02", "sample_tc"), ("sample_tc", "Regulation/demo")),
    Victim("Wago/wago1", ("loopscan", "300", "0.02", "wago1"), ("wago1", "Wago/wago1")),
    Victim("wago-emulator/wago1", ("loopscan", "300", "0.02", "wago1"), ("wago1", "the device closed")),
    Victim("LimaBridge/cam1", ("timescan", "0.05", "cam1", "npoints=300"), ("cam1", "LimaBridge/cam1")),
    Victim("LimaSimulator/cam1_sim", ("timescan", "0.05", "cam1", "npoints=300"),
           ("cam1", "LimaSimulator/cam1_sim")),
    Victim("ScanServer/demo", SCAN, ("ScanServer demo", "died during it")),
    Victim("NexusWriter/default", SCAN),
    Victim("BeaconDB", SCAN),
    Victim("redis:settings", SCAN),
    Victim("redis:data", SCAN),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from conftest import DEMO_CONFIG

    with DemoStack(tmp_path_factory.mktemp("kill9"), DEMO_CONFIG) as s:
        yield s


def _pid(stack: DemoStack, process: str) -> int:
    if process.startswith("redis:"):
        st = stack.status()
        url = stack.beacon().read_attribute("DataRedisUrl" if process == "redis:data" else "SettingsRedisUrl").value
        port = url.rsplit(":", 1)[1].split("/")[0]
        return dict(zip((u.rsplit(":", 1)[1].split("/")[0] for u in st["redis"]["urls"]), st["redis"]["pids"]))[port]
    return stack.pid(process)


def _restarted(stack: DemoStack, process: str, old: int) -> int:
    def new_pid():
        try:
            pid = _pid(stack, process)
        except (KeyError, tango.DevFailed):
            return 0
        return pid if pid and pid != old and pid_alive(pid) else 0
    pid = wait_until(new_pid, 60, f"{process} restarted by the supervisor")
    assert not pid_alive(old)
    return pid


def _run(dev: tango.DeviceProxy, follower: RecordFollower, command: str, *args: str):
    number = getattr(dev, command)(list(args))
    return number, follower.record(number, 30)


@pytest.mark.parametrize("victim", MATRIX, ids=str)
def test_kill_9_mid_scan(stack, victim: Victim):
    dev = stack.device("demo/scan/demo", timeout_ms=60000)
    wait_until(lambda: dev.state() != tango.DevState.RUNNING, 60, "the ScanServer idle")
    # asked before the scan (`blisstango status`, Beacon): slow on a loaded machine, and
    # the kill must come in the middle of the scan, not after its end
    old = _pid(stack, victim.process)
    data_redis = stack.data_redis()
    follower = RecordFollower(dev)
    try:
        number, rec = _run(dev, follower, *victim.scan)
        key = wait_until(lambda: rec.key, 30, "the scan's key")
        wait_until(lambda: rec.npoints >= 3, 30, f"3 points of scan {number}")
        os.kill(old, signal.SIGKILL)
        killed = time.monotonic()
        reader = ScanReader(data_redis, key)
        if victim.process == "ScanServer/demo":
            # its followers are gone with it: the restarted server ends the scan in Redis
            wait_until(lambda: reader.info.get("state") == "CLOSED", 60, "the scan closed by the new ScanServer")
        else:
            rec = follower.wait_end(number, 60)
            took = time.monotonic() - killed
        info = ScanReader(reader.redis, key).info
    finally:
        follower.close()

    if victim.names:
        assert info["end_reason"] == "FAILURE", info
        for name in victim.names:
            assert name in info["error"], info["error"]
        if victim.process != "ScanServer/demo":
            assert took < victim.after, f"the scan ended {took:.1f} s after the kill"
            assert rec.end_reason == "FAILURE" and rec.error == info["error"]
            state = wait_until(lambda: (s := dev.state()) != tango.DevState.RUNNING and s, 10, "the scan's end state")
            assert state == tango.DevState.ALARM and victim.names[0] in dev.status()
    else:
        assert info["end_reason"] == "SUCCESS", info.get("error")
        assert info["npoints_done"] == int(victim.scan[1])

    _restarted(stack, victim.process, old)
    # every point the data Redis holds is in the file, and the entry is closed
    wait_complete(info["filename"], f"{info['scan_nb']}.1", timeout=90)
    in_redis = {name.rsplit(":", 1)[-1]: reader.read_all(name)
                for name, ch in info["channels"].items() if ch["kind"] == "data" and not ch["shape"]}
    with h5py.File(info["filename"], "r", locking=False) as f:
        entry = f[f"{info['scan_nb']}.1"]
        assert entry["end_reason"][()].decode() == info["end_reason"]
        measurement = entry["measurement"]
        on_disk = {name: measurement[name][()] for name in in_redis if name in measurement}
        lost = {name: measurement[name].attrs.get("lost_points") for name in on_disk}
    assert on_disk, f"none of {sorted(in_redis)} in the file"
    for name, values in on_disk.items():
        if victim.process == "redis:data":
            # the data Redis keeps nothing across a restart (a cache, no persistence): the
            # points published before the kill are gone from it, the file has every one
            assert len(values) == info["npoints_done"], (name, len(values), info["npoints_done"])
            # points it lost before the writer read them are NaN and named, never shifted
            if np.isnan(values).any():
                assert lost.get(name), (name, "NaN points not named in lost_points")
        else:
            np.testing.assert_array_equal(values, in_redis[name], err_msg=name)

    # the next scan works with nobody doing anything, once the stack answers again
    stack.wait_ready(60)
    wait_until(lambda: dev.state() != tango.DevState.RUNNING, 60, "the ScanServer idle")
    follower = RecordFollower(dev)
    try:
        command, *args = victim.scan
        args = [a if a != "npoints=300" else "npoints=3" for a in args]
        if command == "loopscan":
            args[0] = "3"
        elif command == "ascan":
            args[3] = "3"
        number, rec = _run(dev, follower, command, *args)
        rec = follower.wait_end(number, 60)
    finally:
        follower.close()
    assert rec.end_reason == "SUCCESS", rec.error
    assert rec.npoints >= 3
