"""Standard Tango clients against BeaconDB: tango_admin, Debian's C++ TangoTest (register,
start, attributes, change events), and a kill -9 of BeaconDB under writing clients."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tango
from helpers.config_trees import copy_demo
from helpers.procs import kill_tree, start
from helpers.tango_db import BeaconDBProcess, wait_view

pytestmark = pytest.mark.e2e

TANGOTEST = "/usr/lib/tango/TangoTest"
HELPERS = Path(__file__).parent / "helpers"


def admin(db, *args: str) -> subprocess.CompletedProcess:
    """tango_admin reads TANGO_HOST from the environment only."""
    return subprocess.run(["tango_admin", *args], env={**os.environ, **db.env},
                          capture_output=True, text=True, timeout=30)


def wait_exported(db: tango.Database, device: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if device in db.get_device_exported(device):
            return
        time.sleep(0.1)
    raise TimeoutError(f"{device} not exported after {timeout} s")


@pytest.fixture
def tangotest(beacondb, tmp_path):
    """TangoTest/test registered with tango_admin and running against BeaconDB."""
    assert admin(beacondb, "--add-server", "TangoTest/test", "TangoTest", "sys/tg_test/1").returncode == 0
    proc = start([TANGOTEST, "test"], tmp_path / "tangotest.log", env=beacondb.env)
    db = tango.Database("127.0.0.1", beacondb.port)
    wait_exported(db, "sys/tg_test/1")
    yield proc
    kill_tree(proc.pid)
    proc.wait()


def test_tango_admin_commands(beacondb):
    assert admin(beacondb, "--ping-database").returncode == 0
    assert admin(beacondb, "--add-server", "Foo/bar", "FooClass", "foo/bar/1,foo/bar/2").returncode == 0
    listed = admin(beacondb, "--server-list")
    assert listed.returncode == 0 and "Foo" in listed.stdout.split()
    assert admin(beacondb, "--check-device", "foo/bar/2").returncode == 0
    assert admin(beacondb, "--check-device", "foo/bar/9").returncode != 0
    db = tango.Database("127.0.0.1", beacondb.port)
    assert sorted(db.get_device_name("Foo/bar", "FooClass")) == ["foo/bar/1", "foo/bar/2"]
    assert admin(beacondb, "--delete-server", "Foo/bar").returncode == 0
    assert "Foo" not in admin(beacondb, "--server-list").stdout.split()
    assert admin(beacondb, "--check-device", "foo/bar/1").returncode != 0


def test_tangotest_serves_attributes_and_change_events(beacondb, tangotest, monkeypatch):
    monkeypatch.setenv("TANGO_HOST", beacondb.tango_host)
    dev = tango.DeviceProxy("sys/tg_test/1")
    assert dev.state() == tango.DevState.RUNNING
    dev.write_attribute("ampli", 3.0)
    assert dev.read_attribute("ampli").value == 3.0
    # Change events need polling and a change criterion: both are stored in the database.
    cfg = dev.get_attribute_config("short_scalar")
    cfg.events.ch_event.abs_change = "1"
    dev.set_attribute_config(cfg)
    dev.poll_attribute("short_scalar", 100)
    db = tango.Database("127.0.0.1", beacondb.port)
    stored = db.get_device_attribute_property("sys/tg_test/1", "short_scalar")["short_scalar"]
    assert list(stored["abs_change"]) == ["-1", "1"]  # the client stores a symmetric change
    assert "short_scalar" in " ".join(db.get_device_property("sys/tg_test/1", "polled_attr")["polled_attr"])
    events = []
    eid = dev.subscribe_event("short_scalar", tango.EventType.CHANGE_EVENT,
                              lambda ev: events.append(ev), [])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len([e for e in events if not e.err]) < 3:
            time.sleep(0.1)
    finally:
        dev.unsubscribe_event(eid)
    good = [e for e in events if not e.err]
    assert len(good) >= 3, [e.errors for e in events if e.err]
    assert all(isinstance(e.attr_value.value, int) for e in good)


@pytest.mark.parametrize("mode", ["journal", "yaml"])
def test_kill9_keeps_acknowledged_writes_and_exported_devices(tmp_path, mode):
    """kill -9 under 3 writing clients, with TangoTest running; journal-only and YAML tree."""
    cfg = copy_demo(tmp_path / "cfg") if mode == "yaml" else None
    beacondb = BeaconDBProcess(tmp_path / "beacondb", config=cfg).start()
    tangotest = None
    writers = []
    try:
        assert admin(beacondb, "--add-server", "TangoTest/test", "TangoTest", "sys/tg_test/1").returncode == 0
        tangotest = start([TANGOTEST, "test"], tmp_path / "tangotest.log", env=beacondb.env)
        db = tango.Database("127.0.0.1", beacondb.port)
        wait_exported(db, "sys/tg_test/1")
        db.add_device(_info("Writer/1", "test/writer/1", "Writer"))
        writers = [subprocess.Popen([sys.executable, str(HELPERS / "db_writer.py"), "test/writer/1", str(k)],
                                    stdout=subprocess.PIPE, text=True, env={**os.environ, **beacondb.env})
                   for k in range(3)]
        seen = {k: [w.stdout.readline() for _ in range(20)] for k, w in enumerate(writers)}
        assert all(lines[-1].startswith("ack ") for lines in seen.values()), seen
        beacondb.kill()  # SIGKILL while the writers write
        acked = {}
        for k, w in enumerate(writers):
            out, _ = w.communicate(timeout=60)
            lines = [ln for ln in seen[k] + out.splitlines() if ln.startswith("ack ")]
            acked[k] = int(lines[-1].split()[1])

        beacondb.proc = BeaconDBProcess(beacondb.workdir, port=beacondb.port, config=cfg).start().proc
        db = tango.Database("127.0.0.1", beacondb.port)
        stored = {}
        for k, n in acked.items():
            value = db.get_device_property("test/writer/1", f"w_{k}")[f"w_{k}"]
            # the last acknowledged value, or the one the DB applied but could not acknowledge
            assert value and int(value[0]) in (n, n + 1), (k, n, value)
            stored[f"w_{k}"] = [value[0]]
        if cfg is not None:  # the YAML tree parses and holds what the database serves
            wait_view(cfg, lambda v: "test/writer/1" in v.devices and all(
                v.devices["test/writer/1"].properties.get(p) == val for p, val in stored.items()))
        # TangoTest was not restarted: its exported IOR survived, a new client reaches it.
        assert tangotest.poll() is None
        probe = subprocess.run(
            [sys.executable, "-c", "import tango; d = tango.DeviceProxy('sys/tg_test/1'); "
             "print(d.read_attribute('long_scalar').value, d.state())"],
            env={**os.environ, **beacondb.env}, capture_output=True, text=True, timeout=60)
        assert probe.returncode == 0 and probe.stdout.split()[1] == "RUNNING", probe.stderr
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
        if tangotest is not None:
            kill_tree(tangotest.pid)
        beacondb.stop()


def _info(server: str, name: str, klass: str) -> tango.DbDevInfo:
    info = tango.DbDevInfo()
    info.server, info.name, info._class = server, name, klass
    return info


def test_starter_notification_never_delays_or_fails_a_command(beacondb):
    """A registered Starter whose process is gone (stale IOR) must not fail DB commands
    (PyTango's DB fails the client's command there, after waiting ~6 s)."""
    db = tango.Database("127.0.0.1", beacondb.port)
    db.add_device(_info("Starter/deadhost", "tango/admin/deadhost", "Starter"))
    db.command_inout("DbExportDevice", ["tango/admin/deadhost", "IOR:010000001700000049444c3a54616e676f2f446576696365"
                                        "5f353a312e300000010000000000000064000000010102000a0000003132372e302e302e3100"
                                        "e80300000e000000fe8a1b7e6700000d95000000000000000000", "deadhost", "1", "6"])
    db.add_device(_info("Srv/x", "test/srv/1", "Cls"))
    db.command_inout("DbPutServerInfo", ["Srv/x", "deadhost", "1", "1"])
    db.command_inout("DbExportDevice", ["dserver/Srv/x", "IOR:00", "deadhost", "12", "6"])
    assert db.get_server_info("Srv/x").host == "deadhost"
    db.delete_server("Srv/x")
    assert "Srv/x" not in db.get_server_list("Srv/*")
    assert beacondb.proc.poll() is None
