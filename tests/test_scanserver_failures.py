"""ScanServer when the hardware server dies mid-scan: kill -9 of the AxisManager."""

import json
import os
import signal
import time

import h5py
import numpy as np
import pytest
import tango
from helpers.demo_stack import DemoStack
from helpers.nexus import wait_complete
from helpers.waiting import wait_until

from blisstango.clients.scan_events import RecordFollower
from blisstango.core.data import ScanReader

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
def stack(tmp_path, demo_config):
    s = DemoStack(tmp_path, demo_config)
    try:
        s.up()
        yield s
    finally:
        s.down()


def _wait_axis_back(stack, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if stack.device("demo/axis/m0").state() == tango.DevState.ON:
                return
        except tango.DevFailed:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("AxisManager not restarted by the launcher:\n" + stack.log("AxisManager_demo"))
        time.sleep(0.2)


def _kill9_mid_scan(stack, dev, follower, ascan_args, server, npoints=5):
    """Start an ascan, kill -9 `server` once npoints points have arrived; (the scan's
    number, its record)."""
    n = dev.ascan(ascan_args)
    rec = follower.record(n)
    wait_until(lambda: rec.npoints >= npoints, 30, f"{npoints} points of scan {n}")
    os.kill(stack.pid(server), signal.SIGKILL)
    return n, rec


def test_kill9_axismanager_mid_scan(stack):
    dev = stack.device("demo/scan/demo", timeout_ms=120000)
    follower = RecordFollower(dev)
    try:
        n, rec = _kill9_mid_scan(stack, dev, follower, ["m0", "0", "8", "40", "0.05", "diode"],
                                 "AxisManager/demo")
        killed = time.monotonic()
        while dev.state() == tango.DevState.RUNNING and time.monotonic() - killed < 20:
            time.sleep(0.02)
        ended_after = time.monotonic() - killed
        rec = follower.wait_end(n, 10)
    finally:
        follower.close()
    assert ended_after <= 3.0, f"scan still running {ended_after:.1f} s after the kill"
    assert dev.state() == tango.DevState.ALARM
    assert "m0" in dev.status() and "FAILURE" in dev.status()
    assert rec.end_reason == "FAILURE" and "m0" in rec.error
    assert 5 <= rec.npoints < 41

    info = json.loads(dev.ScanInfo)
    reader = ScanReader(stack.data_redis(), info["key"])
    assert reader.info["end_reason"] == "FAILURE" and "m0" in reader.info["error"]
    for channel, values in rec.data.items():
        np.testing.assert_array_equal(reader.read_all(channel)[:len(values)], np.array(values))

    wait_complete(info["filename"], f"{n}.1", timeout=60)
    with h5py.File(info["filename"], "r", locking=False) as f:
        entry = f[f"{n}.1"]
        assert entry["end_reason"][()].decode() == "FAILURE"
        m0 = entry["measurement/m0"][()]
        assert len(m0) >= rec.npoints
        np.testing.assert_array_equal(m0[:rec.npoints], rec.data["axis:m0"][:rec.npoints])

    # the ScanServer stays usable: once the launcher restarted the AxisManager, scans work again
    _wait_axis_back(stack)
    follower = RecordFollower(dev)
    try:
        n2 = dev.ascan(["m0", "2", "3", "4", "0", "diode"])
        assert dev.WaitScan(60)
        rec2 = follower.wait_end(n2, 30)
    finally:
        follower.close()
    assert rec2.end_reason == "SUCCESS", rec2.error
    assert rec2.npoints == 5 and n2 == n + 1
    assert dev.state() == tango.DevState.ON


def test_setup_file_error_is_reported_and_scans_still_work(tmp_path, demo_config):
    s = DemoStack(tmp_path, demo_config)
    setup = s.config / "sessions" / "demo_setup.py"
    setup.write_text(setup.read_text() + "x = 1\nundefined_name + 1\n")
    lines = setup.read_text().count("\n")
    try:
        s.up()
        dev = s.device("demo/scan/demo", timeout_ms=60000)
        assert dev.state() == tango.DevState.ALARM
        status = dev.status()
        assert "demo_setup.py" in status and f"line {lines}" in status and "NameError" in status
        n = dev.loopscan(["2", "0", "diode"])
        assert dev.WaitScan(30)
        assert json.loads(dev.ScanInfo)["end_reason"] == "SUCCESS" and n >= 1
        assert dev.state() == tango.DevState.ON
    finally:
        s.down()


def test_kill9_nexuswriter_mid_scan_file_still_complete(stack):
    """Acquisition never waits for the writer; the restarted writer completes the entry."""
    dev = stack.device("demo/scan/demo", timeout_ms=120000)
    follower = RecordFollower(dev)
    try:
        n, rec = _kill9_mid_scan(stack, dev, follower, ["m1", "0", "10", "30", "0.02", "diode2"],
                                 "NexusWriter/default")
        assert dev.WaitScan(120)
        rec = follower.wait_end(n, 10)
    finally:
        follower.close()
    assert rec.end_reason == "SUCCESS" and rec.npoints == 31
    info = json.loads(dev.ScanInfo)
    wait_complete(info["filename"], f"{n}.1", timeout=90)   # written by the restarted writer
    with h5py.File(info["filename"], "r", locking=False) as f:
        meas = f[f"{n}.1"]["measurement"]
        np.testing.assert_array_equal(meas["m1"][()], rec.data["axis:m1"])
        np.testing.assert_array_equal(meas["diode2"][()], rec.data["simulation:diode2"])
        assert f[f"{n}.1"]["end_reason"][()].decode() == "SUCCESS"
