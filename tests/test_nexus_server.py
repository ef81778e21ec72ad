"""The NexusWriter server: a real process registered in a real BeaconDB (from the demo
configuration), finding the data Redis through TANGO_HOST, writing scans published to it."""

from __future__ import annotations

import json
import time

import h5py
import numpy as np
import pytest
import redis
import tango
from helpers.config_trees import copy_demo
from helpers.nexus import (
    NexusWriterServer,
    WriterProcess,
    assert_same_files,
    point_values,
    publish_scan,
    wait_complete,
)
from helpers.tango_db import BeaconDBProcess
from helpers.waiting import wait_until

from blisstango.core.beacon import BEACON_DEVICE

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def stack(tmp_path):
    """BeaconDB on a copy of the demo tree, its embedded Redis, and `NexusWriter default`."""
    cfg = copy_demo(tmp_path / "cfg")
    db = BeaconDBProcess(tmp_path / "beacondb", config=cfg, extra=[]).start()
    writer = None
    try:
        writer = NexusWriterServer(db.tango_host, tmp_path).start()
        beacon = tango.DeviceProxy(f"tango://{db.tango_host}/{BEACON_DEVICE}")
        data = redis.Redis.from_url(beacon.read_attribute("DataRedisUrl").value)
        yield db, writer, data
        data.close()
    finally:
        if writer is not None:
            writer.stop()
        db.stop()


@pytest.mark.e2e
def test_device_registered_by_the_configuration(stack):
    db_proc, writer, _data = stack
    db = tango.Database("127.0.0.1", db_proc.port)
    assert list(db.get_device_name("NexusWriter/default", "NexusWriter")) == ["demo/writer/default"]
    assert not [d for d in db.get_device_exported("demo/writer/*") if d != "demo/writer/default"]
    dev = tango.DeviceProxy(writer.device)
    assert dev.state() == tango.DevState.ON
    assert dev.DataRedisUrl.startswith("redis://")
    assert dev.ScansWritten == 0 and dev.CurrentFile == ""


@pytest.mark.e2e
def test_scan_written_with_state_and_current_file_through_tango(stack, tmp_path):
    _db, writer, data = stack
    dev = tango.DeviceProxy(writer.device)
    states: list = []
    eid = dev.subscribe_event("State", tango.EventType.CHANGE_EVENT,
                              lambda ev: ev.err or states.append(ev.attr_value.value))
    path = tmp_path / "data" / "demo_data.h5"
    seen = {}

    def probe(i):
        if i == 400:
            time.sleep(0.5)  # several event and flush periods
            seen["state"] = dev.state()
            seen["file"] = dev.CurrentFile
            seen["progress"] = json.loads(dev.Progress)

    n = 600
    key = publish_scan(data, "demo", str(path), n, block=10, period=0.003, on_point=probe)
    wait_until(lambda: dev.ScansWritten == 1, what="ScansWritten == 1")
    assert seen["state"] == tango.DevState.RUNNING and seen["file"] == str(path)
    assert 0 < seen["progress"][key]["points"]["sim:diode"] <= n
    assert dev.state() == tango.DevState.ON
    assert dev.CurrentFile == str(path) and dev.CurrentScan == f"{key} 1.1"
    assert json.loads(dev.ScanProgress(key))["points"] == {c: n for c in point_values(0)}
    wait_until(lambda: tango.DevState.ON in states[1:], timeout=5, what=f"State ON event after RUNNING in {states}")
    dev.unsubscribe_event(eid)
    assert tango.DevState.RUNNING in states
    with h5py.File(path, "r") as f:
        assert np.array_equal(f["1.1/measurement/diode"][()],
                              np.concatenate([point_values(i)["sim:diode"] for i in range(n)]))
        assert f["1.1/plotselect"].attrs["signal"] == "diode"
    with pytest.raises(tango.DevFailed, match="not known to this writer"):
        dev.ScanProgress("demo-99-nope")


@pytest.mark.e2e
def test_unwritable_path_sets_fault_with_path_and_error(stack, tmp_path):
    _db, writer, data = stack
    dev = tango.DeviceProxy(writer.device)
    blocker = tmp_path / "plain_file"
    blocker.write_text("not a folder")
    bad = blocker / "demo_data.h5"
    key = publish_scan(data, "demo", str(bad), 30, block=5)
    wait_until(lambda: dev.state() == tango.DevState.FAULT, what="State FAULT")
    status = dev.status()
    assert str(bad) in status and "Not a directory" in status
    assert json.loads(dev.ScanProgress(key))["state"] == "FAULT"
    good = tmp_path / "good" / "demo_data.h5"
    publish_scan(data, "demo", str(good), 10, scan_nb=2)
    wait_until(lambda: dev.state() == tango.DevState.ON, what="State ON after a good scan")
    assert dev.ScansWritten == 1


@pytest.mark.e2e
def test_server_killed_mid_scan_and_restarted_writes_the_same_file(stack, tmp_path):
    """kill -9 the NexusWriter server mid-scan, restart it while the scan goes on: its
    file equals that of an undisturbed writer process following the same scan."""
    db, writer, data = stack
    url = data.connection_pool.connection_kwargs
    ref = WriterProcess(f"redis://{url['host']}:{url['port']}/0", "demo", str(tmp_path / "scans"),
                        str(tmp_path / "ref"), tmp_path / "ref_writer.log").start()
    try:
        def chaos(i):
            if i == 400:
                writer.kill()
            elif i == 800:
                writer.start()

        publish_scan(data, "demo", str(tmp_path / "scans" / "data.h5"), 1200, block=10, period=0.004,
                     on_point=chaos)
        wait_complete(tmp_path / "scans" / "data.h5", "1.1")
        wait_complete(tmp_path / "ref" / "data.h5", "1.1")
        assert_same_files(tmp_path / "scans" / "data.h5", tmp_path / "ref" / "data.h5")
        dev = tango.DeviceProxy(writer.device)
        wait_until(lambda: dev.ScansWritten == 1, what="restarted server counts the resumed scan")
    finally:
        ref.stop()


def test_tango_view_one_writer_device_per_instance(tmp_path):
    """Sessions imply the writer; all of them share `<domain>/writer/default` (no device per
    session, no alias), a session may name its own writer instance."""
    from helpers.config_trees import write

    from blisstango.core.config import load_tree
    from blisstango.core.config.servers import implied_servers
    from blisstango.core.config.tango_view import tango_view

    cfg = copy_demo(tmp_path / "cfg")
    write(cfg, "sessions/more.yml", "- name: optics\n  config-objects: [m1]\n"
                                    "- name: sample\n  config-objects: [m0]\n  tango: {writer: fast}\n")
    tree = load_tree(cfg)
    view = tango_view(tree)
    assert not view.errors, view.errors
    writers = {d.name: d for d in view.devices.values() if d.server.startswith("NexusWriter/")}
    assert sorted(writers) == ["demo/writer/default", "demo/writer/fast"]
    assert writers["demo/writer/default"].klass == "NexusWriter" and writers["demo/writer/default"].alias is None
    assert ("NexusWriter", "default") in implied_servers(tree) and ("NexusWriter", "fast") in implied_servers(tree)


@pytest.mark.e2e
def test_server_survives_a_data_redis_restart(stack, tmp_path):
    """kill -9 of Beacon's embedded data redis-server (restarted by its supervisor): the
    server keeps following and writes the next scan."""
    import os
    import signal

    db, writer, data = stack
    dev = tango.DeviceProxy(writer.device)
    pid_file = next(p for p in (db.workdir / "run").rglob("data.pid") if p.parent.name == "redis")
    old_pid = int(pid_file.read_text())
    os.kill(old_pid, signal.SIGKILL)

    def back():
        try:
            return int(pid_file.read_text()) != old_pid and data.ping()
        except (OSError, ValueError, redis.ConnectionError):
            return False

    wait_until(back, what="data redis-server restarted")
    path = tmp_path / "after_restart.h5"
    publish_scan(data, "demo", str(path), 25, block=5)
    wait_until(lambda: dev.ScansWritten == 1, what="scan written after the restart")
    assert dev.state() == tango.DevState.ON and dev.CurrentFile == str(path)
    with h5py.File(path, "r") as f:
        assert f["1.1/measurement/diode"].shape == (25,)
