"""DbGetDataForServerCache: real device servers (Debian's C++ TangoTest, a PyTango server)
start against BeaconDB, take their start-up data from the one cached reply, and see the
same device, class and attribute properties as when the cache is off (one call per item).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import tango
from helpers.procs import kill_tree, start
from helpers.tango_db import BeaconDBProcess

TANGOTEST = "/usr/lib/tango/TangoTest"
PROBE = Path(__file__).parent / "helpers" / "cache_probe_server.py"
PER_ITEM_READS = ("DbGetDeviceProperty", "DbGetDeviceAttributeProperty2", "DbGetClassProperty",
                  "DbGetClassAttributeProperty2", "DbGetDevicePipeProperty", "DbGetClassPipeProperty")


def database(db: BeaconDBProcess) -> tango.Database:
    host, port = db.tango_host.split(":")
    return tango.Database(host, int(port))


def proxy(db: BeaconDBProcess, name: str) -> tango.DeviceProxy:
    return tango.DeviceProxy(f"tango://{db.tango_host}/{name}")


def configure_tangotest(db: BeaconDBProcess, device: str) -> None:
    """A TangoTest with a polled attribute (a device property the server core reads) and
    attribute properties at device and class level, some multi-valued."""
    tdb = database(db)
    tdb.add_server("TangoTest/cache", [_info(device, "TangoTest", "TangoTest/cache")])
    tdb.put_device_property(device, {"polled_attr": ["ampli", "3000"]})
    tdb.put_device_attribute_property(device, {
        "double_scalar": {"min_value": ["-5"], "max_value": ["5"], "unit": ["mm"]},
        "ampli": {"abs_change": ["-1", "1"], "max_alarm": ["40"]},
    })
    tdb.put_class_attribute_property("TangoTest", {"long_scalar": {"unit": ["V"], "label": ["Volts"]}})


def _info(name: str, klass: str, server: str) -> tango.DbDevInfo:
    info = tango.DbDevInfo()
    info.name, info._class, info.server = name, klass, server
    return info


def run_server(db: BeaconDBProcess, cmd: list[str], devices: list[str], log: Path):
    """Start a device server against db; return it once all devices answer ping."""
    proc = start(cmd, log, env=db.env)
    deadline = time.monotonic() + 60
    for name in devices:
        while True:
            assert proc.poll() is None, f"{cmd} exited with {proc.returncode}: {log.read_text()[-2000:]}"
            try:
                proxy(db, name).ping()
                break
            except tango.DevFailed:
                assert time.monotonic() < deadline, f"{name} not answering after 60 s: {log.read_text()[-2000:]}"
                time.sleep(0.1)
    return proc


def db_calls_from(db: BeaconDBProcess, pid: int) -> list[str]:
    """The Db* commands the process with this pid sent (DataBase device's black box)."""
    calls = []
    for line in proxy(db, "sys/database/2").black_box(50):
        if f"PID {pid})" in line and "(cmd = " in line:
            calls.append(line.split("(cmd = ", 1)[1].split(")", 1)[0])
    return calls


def attribute_view(dev: tango.DeviceProxy) -> dict:
    """What the server made of the database's attribute properties, per attribute."""
    view = {}
    for cfg in dev.attribute_list_query_ex():
        view[cfg.name] = (cfg.label, cfg.unit, cfg.min_value, cfg.max_value, cfg.format,
                          cfg.alarms.min_alarm, cfg.alarms.max_alarm,
                          cfg.events.ch_event.abs_change, cfg.events.ch_event.rel_change)
    view["ampli poll period"] = dev.get_attribute_poll_period("ampli")
    return view


@pytest.fixture
def two_dbs(tmp_path):
    """The same BeaconDB twice: serving the cache, and with --no-server-cache."""
    dbs = [BeaconDBProcess(tmp_path / "cache"),
           BeaconDBProcess(tmp_path / "nocache", extra=["--no-redis", "--no-server-cache"])]
    try:
        for db in dbs:
            db.start()
        yield dbs
    finally:
        for db in dbs:
            db.stop()


def test_tangotest_starts_from_the_cache(beacondb, tmp_path):
    device = "sys/tg_test/cache1"
    configure_tangotest(beacondb, device)
    proc = run_server(beacondb, [TANGOTEST, "cache"], [device], tmp_path / "tt.log")
    try:
        calls = db_calls_from(beacondb, proc.pid)
        assert "DbGetDataForServerCache" in calls, calls
        assert not [c for c in calls if c in PER_ITEM_READS], calls
        dev = proxy(beacondb, device)
        cfg = dev.get_attribute_config_ex("double_scalar")[0]
        assert (cfg.min_value, cfg.max_value, cfg.unit) == ("-5", "5", "mm")
        ampli = dev.get_attribute_config_ex("ampli")[0]
        assert ampli.events.ch_event.abs_change == "1"  # [-1, 1] read as a two-valued property
        assert ampli.alarms.max_alarm == "40"
        long_cfg = dev.get_attribute_config_ex("long_scalar")[0]
        assert (long_cfg.unit, long_cfg.label) == ("V", "Volts")  # class attribute properties
        assert dev.get_attribute_poll_period("ampli") == 3000  # polled_attr device property
        assert dev.read_attribute("double_scalar").quality == tango.AttrQuality.ATTR_VALID
        with pytest.raises(tango.DevFailed):  # the min/max from the database are enforced
            dev.write_attribute("double_scalar", 7.0)
    finally:
        kill_tree(proc.pid)


@pytest.mark.e2e
def test_tangotest_sees_the_same_with_and_without_cache(two_dbs, tmp_path):
    device = "sys/tg_test/cache2"
    views, calls = [], []
    for db in two_dbs:
        configure_tangotest(db, device)
        proc = run_server(db, [TANGOTEST, "cache"], [device], tmp_path / f"tt-{db.port}.log")
        try:
            calls.append(db_calls_from(db, proc.pid))
            views.append(attribute_view(proxy(db, device)))
        finally:
            kill_tree(proc.pid)
    cached, fallback = calls
    assert "DbGetDataForServerCache" in cached and not [c for c in cached if c in PER_ITEM_READS]
    assert "DbGetDeviceAttributeProperty2" in fallback, fallback  # really the per-item path
    assert views[0] == views[1]
    assert views[0]["double_scalar"][1:4] == ("mm", "-5", "5")


def test_pytango_server_starts_from_the_cache(beacondb, tmp_path):
    devices = ["test/probe/1", "test/probe/2"]
    tdb = database(beacondb)
    tdb.add_server("CacheProbe/cache", [_info(d, "CacheProbe", "CacheProbe/cache") for d in devices])
    tdb.put_device_property(devices[0], {"gain": ["2.5"], "labels": ["a", "b c", "d"]})
    tdb.put_device_property(devices[1], {"gain": ["7"]})
    tdb.put_class_property("CacheProbe", {"site": ["ESRF"]})
    tdb.put_device_attribute_property(devices[0], {"position": {"min_value": ["0"], "max_value": ["10"],
                                                                "unit": ["mm"]}})
    tdb.put_class_attribute_property("CacheProbe", {"position": {"format": ["%6.3f"]}})
    proc = run_server(beacondb, [sys.executable, str(PROBE), "cache"], devices, tmp_path / "probe.log")
    try:
        calls = db_calls_from(beacondb, proc.pid)
        assert "DbGetDataForServerCache" in calls, calls
        assert "DbGetDeviceAttributeProperty2" not in calls, calls  # attribute config came cached
        one, two = proxy(beacondb, devices[0]), proxy(beacondb, devices[1])
        assert one.read_attribute("gain_seen").value == 2.5
        assert list(one.read_attribute("labels_seen").value) == ["a", "b c", "d"]
        assert two.read_attribute("gain_seen").value == 7.0
        assert one.read_attribute("site_seen").value == "ESRF"
        cfg = one.get_attribute_config("position")
        assert (cfg.min_value, cfg.max_value, cfg.unit, cfg.format) == ("0", "10", "mm", "%6.3f")
        assert two.get_attribute_config("position").format == "%6.3f"  # class level, all devices
        assert two.get_attribute_config("position").unit == ""
    finally:
        kill_tree(proc.pid)


def test_cache_reply_for_an_unknown_server_is_the_not_found_form(beacondb):
    """As ds_start: the admin device name and 'Not Found', nothing more; the client then
    falls back to per-item calls and reports the server as not defined."""
    reply = database(beacondb).command_inout("DbGetDataForServerCache", ["No/such", "host%%10"])
    assert list(reply) == ["release 1.13", "dserver/No/such", "Not Found"]


# -- the layout, walked the way cppTango's DbServerCache constructor walks it -------------
def walk(reply: list[str]) -> dict:
    """Index walk of src/client/dbapi_cache.cpp (DbServerCache::DbServerCache): every block
    read by its counts; returns what the client would find, or fails on a bad count."""
    pos = 0
    release = 0
    if reply[0].startswith("release "):
        major, minor = reply[0][8:].split(".")
        release, pos = int(major) * 100 + int(minor), 1
    if len(reply) in (2, 3):
        return {"admin": reply[pos:]}

    def counted() -> tuple[str, int]:
        """A name and the count of what follows it."""
        nonlocal pos
        name, n = reply[pos], int(reply[pos + 1])
        pos += 2
        return name, n

    def named_values(n: int) -> dict:
        nonlocal pos
        found = {}
        for _ in range(n):
            name, nval = counted()
            found[name] = reply[pos:pos + nval]
            pos += nval
        return found

    def props():
        owner, n = counted()
        return owner, named_values(n)

    def attr_props():
        owner, nattr = counted()
        found = {}
        for _ in range(nattr):
            attr, nprop = counted()
            found[attr] = named_values(nprop)
        return owner, found

    out = {"release": release, "admin": reply[pos:pos + 8]}
    pos += 8
    for key in ("notifd", "admin_event"):
        size = 2 if reply[pos + 1] == "Not Found" else 6
        out[key] = reply[pos:pos + size]
        pos += size
    out["DServer"], out["Default"], out["admin_props"] = props(), props(), props()
    out["server"], nclass = counted()
    out["classes"] = {}
    for _ in range(nclass):
        klass, class_props = props()
        _, class_attr = attr_props()
        class_pipes = attr_props()[1] if release >= 109 else None
        header, ndev = counted()
        assert header.lower() == klass.lower()
        names = reply[pos:pos + ndev]
        pos += ndev
        devices = {}
        for name in names:
            owner, dev_props = props()
            assert owner == name
            _, dev_attr = attr_props()
            dev_pipes = attr_props()[1] if release >= 109 else None
            devices[name] = (dev_props, dev_attr, dev_pipes)
        out["classes"][klass] = (class_props, class_attr, class_pipes, devices)
    out["ctrl"] = props()
    out["tac"] = reply[pos:]
    return out


def rich_store():
    from blisstango.core.tangodb.store import TangoStore

    store = TangoStore()
    store.mutate("add_devices", "Multi/1", [("a/b/1", "ClassA"), ("a/b/2", "ClassA"), ("c/d/1", "ClassB")])
    store.mutate("add_device", "Access/1", "sys/access_control/1", "TangoAccessControl")
    store.mutate("export_device", "dserver/Multi/1", "IOR:01", "hostx", 42, "6")
    store.mutate("export_device", "sys/access_control/1", "IOR:02", "hosty", 7, "6")
    store.mutate("export_event", "notifd/factory/hostx", "IOR:ev", "hostx", "9", "6")
    store.mutate("put_props", "class", "DServer", [("AllowedAccessCmd", ["QueryClass", "QueryDevice"])])
    store.mutate("put_props", "class", "ClassA", [(f"p{i}", [str(i)] * i) for i in range(1, 13)])
    store.mutate("put_props", "device", "a/b/1", [("x", ["1", "2"]), ("empty", [])])
    store.mutate("put_props", "device", "dserver/Multi/1", [("polling_threads_pool_conf", ["a/b/1"])])
    store.mutate("put_attr_props", "device_attr", "a/b/1",
                 [("att", [(f"q{i}", ["v"] * (i % 3 + 1)) for i in range(11)]), ("other", [("unit", ["mm"])])])
    store.mutate("put_attr_props", "class_attr", "ClassB", [("att2", [("label", ["L"])])])
    store.mutate("put_props", "object", "CtrlSystem",
                 [("Services", ["AccessControl/tango:tango://somehost:10000/sys/access_control/1"])])
    return store


@pytest.mark.parametrize("host", ["hostx", "hostx%%9", "hostx%%10"])
def test_layout_walks_as_cpptango_reads_it(host):
    from blisstango.core.tangodb.server_cache import server_cache

    got = walk(server_cache(rich_store(), "Multi/1", host))
    assert got["release"] == (0 if "%%" not in host else 113)
    assert got["admin"] == ["dserver/Multi/1", "IOR:01", "6", "Multi/1", "hostx", "1", "42", "DServer"]
    assert got["notifd"] == ["notifd/factory/hostx", "IOR:ev", "6", "hostx", "1", "9"]
    assert got["admin_event"] == ["dserver/Multi/1", "Not Found"]
    assert got["DServer"] == ("DServer", {"AllowedAccessCmd": ["QueryClass", "QueryDevice"]})
    assert got["admin_props"] == ("dserver/Multi/1", {"polling_threads_pool_conf": ["a/b/1"]})
    class_props, class_attr, _, devices = got["classes"]["ClassA"]
    assert class_props["p12"] == ["12"] * 12 and len(class_props) == 12
    assert devices["a/b/1"][0] == {"x": ["1", "2"]}  # the value-less property is left out
    assert devices["a/b/1"][1]["att"]["q10"] == ["v", "v"] and devices["a/b/1"][1]["other"] == {"unit": ["mm"]}
    assert devices["a/b/2"][:2] == ({}, {})
    assert got["classes"]["ClassB"][1] == {"att2": {"label": ["L"]}}
    assert set(got["classes"]) == {"ClassA", "ClassB"}  # DServer is not a class of the cache
    assert got["ctrl"][0] == "CtrlSystem"
    assert got["tac"] == ["sys/access_control/1", "IOR:02", "6", "Access/1", "hosty", "1", "7",
                          "TangoAccessControl"]
