"""ScanServer end to end: the demo stack (Redis, BeaconDB, AxisManager, NexusWriter,
ScanServer) started by `blisstango up`, scans driven through Tango only."""

import json
import time

import h5py
import numpy as np
import pytest
import tango
from helpers.demo_stack import DemoStack
from helpers.events import ChangeEvents
from helpers.nexus import silx_default_plot, wait_complete
from helpers.waiting import wait_until

from blisstango.clients.scan_events import RecordFollower
from blisstango.core.data import ScanReader

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from conftest import DEMO_CONFIG

    with DemoStack(tmp_path_factory.mktemp("scanserver"), DEMO_CONFIG) as s:
        yield s


def _file_entry(path, entry):
    with h5py.File(path, "r", locking=False) as f:
        e = f[entry]
        meas = {k: e["measurement"][k][()] for k in e["measurement"]}
        plot = e[e.attrs["default"]] if "default" in e.attrs else None
        nxdata = None if plot is None else {k: (v.decode() if isinstance(v, bytes) else v)
                                              for k, v in plot.attrs.items()}
        return meas, {k: (v.decode() if isinstance(v, bytes) else v) for k, v in e.attrs.items()}, nxdata, \
            (e["end_reason"][()].decode() if "end_reason" in e else None)


def test_ascan_points_are_identical_in_events_redis_and_file(stack, scan_dev, follower):
    progress = []
    pid = scan_dev.subscribe_event("Progress", tango.EventType.CHANGE_EVENT,
                                   lambda ev: None if ev.err else progress.append(ev.attr_value.value))
    spectra = []
    sid = scan_dev.subscribe_event("ScanNumber", tango.EventType.CHANGE_EVENT, lambda ev: None)
    did = None
    try:
        n = scan_dev.ascan(["m0", "1", "4", "12", "0", "diode"])
        # the per-channel spectrum exists as soon as the command returned
        did = scan_dev.subscribe_event("diode", tango.EventType.CHANGE_EVENT,
                                       lambda ev: None if ev.err else spectra.append(ev.attr_value.value))
        assert scan_dev.WaitScan(60)
        rec = follower.wait_end(n, 30)
    finally:
        scan_dev.unsubscribe_event(pid)
        scan_dev.unsubscribe_event(sid)
        if did is not None:
            scan_dev.unsubscribe_event(did)
    assert rec.end_reason == "SUCCESS" and rec.error is None
    assert rec.npoints == 13
    assert rec.title == "ascan m0 1 4 12 0"
    ev_m0 = np.array(rec.data["axis:m0"])
    ev_diode = np.array(rec.data["simulation:diode"])
    np.testing.assert_allclose(ev_m0, np.linspace(1, 4, 13), atol=1e-3)
    assert ev_diode.argmax() == int(np.argmin(abs(ev_m0 - 2.5)))       # the demo peak
    assert progress and progress[-1] == 100.0
    np.testing.assert_array_equal(spectra[-1], ev_diode)     # the final spectrum event
    np.testing.assert_array_equal(scan_dev.read_attribute("diode").value, ev_diode)
    assert json.loads(scan_dev.LastPoint)["simulation:diode"] == ev_diode[-1]

    # Redis: the same points, bit for bit
    info = json.loads(scan_dev.ScanInfo)
    reader = ScanReader(stack.data_redis(), info["key"])
    for channel, values in rec.data.items():
        np.testing.assert_array_equal(reader.read_all(channel), np.array(values))
    assert reader.info["end_reason"] == "SUCCESS"

    # the NexusWriter's file: the same points again, a NeXus default plot
    entry = f"{n}.1"
    wait_complete(info["filename"], entry, timeout=60)
    meas, attrs, nxdata, end_reason = _file_entry(info["filename"], entry)
    np.testing.assert_array_equal(meas["m0"], ev_m0)
    np.testing.assert_array_equal(meas["diode"], ev_diode)
    assert attrs["NX_class"] == "NXentry"
    assert nxdata["NX_class"] == "NXdata" and "signal" in nxdata
    assert end_reason == "SUCCESS"
    plot = silx_default_plot(info["filename"], entry)   # silx finds the entry's default plot
    assert plot["valid"]
    np.testing.assert_array_equal(plot["signal"], ev_diode)
    np.testing.assert_array_equal(plot["axes"][0], ev_m0)


def test_runscan_two_level_chain_rebuilt_from_events(stack, scan_dev, follower):
    desc = {"title": "motor over timer", "chain": [
        {"type": "step", "axes": [{"axis": "m1", "start": 0, "stop": 2, "intervals": 4}], "children": [
            {"type": "timer", "count_time": 0.01, "children": [{"counters": ["diode", "diode2"]}]}]}]}
    n = scan_dev.RunScan(json.dumps(desc))
    assert scan_dev.WaitScan(60)
    rec = follower.wait_end(n, 30)
    assert rec.end_reason == "SUCCESS", rec.error
    assert set(rec.data) == {"axis:m1", "timer:elapsed_time", "timer:epoch", "simulation:diode",
                             "simulation:diode2"}
    assert rec.npoints == 5
    np.testing.assert_allclose(rec.data["axis:m1"], [0, 0.5, 1, 1.5, 2], atol=2e-3)
    reader = ScanReader(stack.data_redis(), json.loads(scan_dev.ScanInfo)["key"])
    for channel, values in rec.data.items():
        np.testing.assert_array_equal(reader.read_all(channel), np.array(values))
    assert json.loads(scan_dev.ScanInfo)["chain"][0]["children"][0]["name"] == "timer"


def test_chain_building_commands(scan_dev, follower):
    scan_dev.ChainCreate(json.dumps({"title": "built step by step"}))
    top = scan_dev.ChainAddMaster(json.dumps({"type": "step", "axes": [{"axis": "m0", "positions": [2, 2.5, 3]}]}))
    timer = scan_dev.ChainAddMaster(json.dumps({"type": "timer", "count_time": 0, "parent": top}))
    scan_dev.ChainAddSlave(json.dumps({"parent": timer, "counters": ["diode"]}))
    scan_dev.ChainAddPreset(json.dumps({"type": "sleep", "before": 0.01}))
    prepared = json.loads(scan_dev.ChainPrepare())
    assert prepared["chain"][0]["children"][0]["type"] == "timer"
    n = scan_dev.ChainStart()
    assert scan_dev.WaitScan(60)
    rec = follower.wait_end(n, 30)
    assert rec.end_reason == "SUCCESS", rec.error
    np.testing.assert_allclose(rec.data["axis:m0"], [2, 2.5, 3], atol=2e-3)
    assert rec.title == "built step by step"
    with pytest.raises(tango.DevFailed, match="no master with id 'nope'"):
        scan_dev.ChainAddSlave(json.dumps({"parent": "nope", "counters": ["diode"]}))


def test_scanned_axis_is_locked_for_other_clients(stack, scan_dev, follower):
    m1 = stack.device("demo/axis/m1")
    n = scan_dev.ascan(["m1", "0", "10", "10", "0.1", "diode2"])
    follower.record(n)
    time.sleep(0.5)
    assert scan_dev.state() == tango.DevState.RUNNING
    with pytest.raises(tango.DevFailed) as err:
        m1.write_attribute("Position", 50.0)
    desc = err.value.args[0].desc
    assert f"ScanServer demo: scan {n} (ascan m1 0 10 10 0.1)" in desc and "m1" in desc
    assert scan_dev.WaitScan(60)
    assert follower.wait_end(n).end_reason == "SUCCESS"
    m1.write_attribute("Position", 1.5)  # allowed once the scan is over
    m1.WaitMove()
    assert abs(m1.read_attribute("Position").value - 1.5) < 1e-2


@pytest.mark.parametrize("command, args, message", [
    ("ascan", ["m9", "0", "1", "5", "0", "diode"], "unknown axis 'm9'"),
    ("ascan", ["m0", "0", "1", "0", "0", "diode"], "intervals 0 must be >= 1"),
    ("ascan", ["m0", "0", "12", "5", "0", "diode"], "m0: 12 is above the high limit 10"),
    ("ascan", ["m0", "zero", "1", "5", "0", "diode"], "start 'zero' (argument 2) is not a number"),
    ("ascan", ["m0", "0", "1", "5", "0", "dio"], "unknown counter 'dio'"),
    ("dscan", ["m0", "-30", "1", "5", "0", "diode"], "below the low limit -10"),
    ("amesh", ["m0", "0", "1", "2", "m1", "0", "1", "x", "0"], "intervals 2 'x' (argument 8) is not an integer"),
    ("loopscan", ["0", "0.1"], "npoints 0 must be >= 1"),
    ("RunScan", "{not json", "malformed JSON"),
    ("RunScan", json.dumps({"chain": [{"type": "step", "axes": [{"axis": "m0", "start": 0, "stop": 99,
                                                                "intervals": 2}]}]}),
     "m0: 99 is above the high limit 10"),
    ("RunScan", json.dumps({"chain": [{"type": "timer", "count_time": 0, "children": [{"counters": ["x"]}]}]}),
     "chain[0].children[0]: unknown counter 'x'"),
    ("RunScan", json.dumps({"chain": [{"type": "warp"}]}), "chain[0]: type 'warp' is not a master type"),
])
def test_bad_arguments_are_refused_before_anything_moves(stack, scan_dev, command, args, message):
    m0 = stack.device("demo/axis/m0")
    before_pos = m0.read_attribute("Position").value
    before_nb = scan_dev.ScanNumber
    with pytest.raises(tango.DevFailed) as err:
        scan_dev.command_inout(command, args)
    assert message in err.value.args[0].desc
    assert err.value.args[0].reason == "ScanArgumentError"
    assert scan_dev.ScanNumber == before_nb
    assert m0.read_attribute("Position").value == before_pos
    assert m0.state() == tango.DevState.ON
    assert scan_dev.state() in (tango.DevState.ON, tango.DevState.ALARM)


def test_a_second_scan_is_refused_while_one_runs(scan_dev, follower):
    n = scan_dev.timescan(["0.01", "diode2"])
    follower.record(n)
    with pytest.raises(tango.DevFailed, match=f"scan {n} .*is running"):
        scan_dev.ct(["0.1", "diode"])
    rec = follower.record(n)
    deadline = time.monotonic() + 10
    while rec.npoints < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    scan_dev.StopScan()
    assert scan_dev.WaitScan(30)
    rec = follower.wait_end(n)
    assert rec.end_reason == "USER_STOP" and rec.npoints >= 3


@pytest.mark.parametrize("command, args, npoints, axes", [
    ("ct", ["0.01", "diode"], 1, []),
    ("loopscan", ["3", "0", "diode"], 3, []),
    ("timescan", ["0", "diode", "npoints=4"], 4, []),
    ("dscan", ["m0", "-0.5", "0.5", "4", "0", "diode"], 5, ["m0"]),
    ("a2scan", ["m0", "0", "1", "m1", "0", "2", "3", "0", "diode", "diode2"], 4, ["m0", "m1"]),
    ("d2scan", ["m0", "-1", "0", "m1", "0", "1", "2", "0", "diode"], 3, ["m0", "m1"]),
    ("anscan", ["m0", "0", "1", "m1", "0", "1", "2", "0", "diode"], 3, ["m0", "m1"]),
    ("amesh", ["m0", "0", "1", "2", "m1", "0", "1", "1", "0", "diode"], 6, ["m0", "m1"]),
    ("dmesh", ["m0", "0", "1", "2", "m1", "0", "1", "1", "0", "diode", "backnforth=true"], 6, ["m0", "m1"]),
    ("lookupscan", ["m0", "0,0.5,2", "m1", "1,2,3", "0", "diode"], 3, ["m0", "m1"]),
    ("pointscan", ["m0", "0,1", "0", "diode"], 2, ["m0"]),
    ("cscan", ["m0", "0", "1", "5", "0.5", "diode"], 5, ["m0"]),
])
def test_standard_scans_as_commands(stack, scan_dev, follower, command, args, npoints, axes):
    motors = {a: stack.device(f"demo/axis/{a}") for a in ("m0", "m1")}
    start = {a: d.read_attribute("Position").value for a, d in motors.items()}
    n = scan_dev.command_inout(command, args)
    assert scan_dev.WaitScan(60)
    rec = follower.wait_end(n, 30)
    assert rec.end_reason == "SUCCESS", rec.error
    assert rec.npoints == npoints
    assert sorted(c.split(":", 1)[1] for c in rec.data if c.startswith("axis:")) == axes
    assert json.loads(scan_dev.ScanInfo)["type"] == command
    if command.startswith("d"):  # relative scans come back where they started
        for a in axes:
            assert abs(motors[a].read_attribute("Position").value - start[a]) < 1e-2


def test_no_counter_given_uses_the_active_measurement_group(scan_dev, follower):
    assert scan_dev.ActiveMeasurementGroup == "demo_counters"
    n = scan_dev.ct(["0.01"])
    assert scan_dev.WaitScan(30)
    rec = follower.wait_end(n, 30)
    assert {"simulation:diode", "simulation:diode2"} <= set(rec.data)
    with pytest.raises(tango.DevFailed, match="no measurement group 'nope'"):
        scan_dev.write_attribute("ActiveMeasurementGroup", "nope")


@pytest.mark.parametrize("attr, value, message", [
    ("SCAN_SAVING", "[1]", "SCAN_SAVING: '[1]' is not a JSON object: a JSON object is needed"),
    ("SCAN_SAVING", "{bad", "SCAN_SAVING: '{bad' is not a JSON object"),
    ("ActiveMeasurementGroup", "nope", "no measurement group 'nope'"),
])
def test_bad_settings_refused_unchanged(scan_dev, attr, value, message):
    before = scan_dev.read_attribute(attr).value
    with pytest.raises(tango.DevFailed) as err:
        scan_dev.write_attribute(attr, value)
    assert any(e.reason == "ScanArgumentError" and message in e.desc for e in err.value.args), err.value.args
    assert scan_dev.read_attribute(attr).value == before


def test_session_loaded_from_beacon(stack, scan_dev):
    assert set(scan_dev.Axes) == {"m0", "m1", "sl_up", "sl_down", "sl_vgap", "sl_voffset", "sx", "sy",
                                  "th", "tth", "sample_temp_axis", "cryo_loop_axis"}   # a loop brings its axis
    assert {"diode", "diode2"} <= set(scan_dev.Counters)
    assert "demo session ready" in stack.log("ScanServer_demo")   # the setup file ran
    saving = json.loads(scan_dev.SCAN_SAVING)
    assert saving["base_path"] == str(stack.data_dir)
    assert saving["filename"] == str(stack.data_dir / "demo" / "demo_data.h5")


def test_abort_stops_the_motion_at_once(stack, scan_dev, follower):
    n = scan_dev.ascan(["m1", "0", "100", "5", "0", "diode2"])   # 20 deg steps at 10 deg/s
    follower.record(n)
    time.sleep(0.5)
    scan_dev.AbortScan()
    rec = follower.wait_end(n, 10)
    assert rec.end_reason == "USER_ABORT"
    m1 = stack.device("demo/axis/m1")
    assert m1.state() == tango.DevState.ON
    assert m1.read_attribute("Position").value < 20.0          # stopped before the first point
    assert scan_dev.state() == tango.DevState.ON
    m1.write_attribute("Position", 0.0)                        # lock released
    m1.WaitMove()


def test_scan_refused_while_another_client_holds_an_axis_lock(stack, scan_dev):
    from blisstango.core.beacon import connection
    from blisstango.core.beacon.locks import Lock

    saved = connection.configured_urls()
    beacon = stack.beacon()
    connection.configure(beacon.SettingsRedisUrl, beacon.DataRedisUrl)
    try:
        held = Lock("m0", owner="alignment by hand")
        held.acquire()
        try:
            before = scan_dev.ScanNumber
            with pytest.raises(tango.DevFailed) as err:
                scan_dev.ascan(["m0", "0", "1", "2", "0", "diode"])
            assert "m0 is locked by 'alignment by hand': nothing started" in err.value.args[0].desc
            assert scan_dev.ScanNumber == before
        finally:
            held.release()
    finally:
        connection.configure(*saved)
    n = scan_dev.ascan(["m0", "0", "1", "2", "0", "diode"])   # free again
    assert scan_dev.WaitScan(30) and n == before + 1


def test_scanning_a_calc_axis_locks_its_reals(stack, scan_dev, follower):
    n = scan_dev.ascan(["sl_vgap", "0", "1", "4", "0.2", "diode"])
    follower.record(n)
    with pytest.raises(tango.DevFailed) as err:
        stack.device("demo/axis/sl_up").write_attribute("Position", 0.3)
    assert f"sl_up: locked by 'ScanServer demo: scan {n} (ascan sl_vgap" in err.value.args[0].desc
    assert scan_dev.WaitScan(60)
    rec = follower.wait_end(n)
    assert rec.end_reason == "SUCCESS", rec.error
    np.testing.assert_allclose(rec.data["axis:sl_vgap"], [0, 0.25, 0.5, 0.75, 1], atol=2e-3)


def test_concurrent_scan_commands_start_exactly_one_scan(stack, scan_dev, follower):
    import threading

    results = []

    def client():
        dev = stack.device("demo/scan/demo")
        try:
            results.append(("scan", dev.loopscan(["20", "0.01", "diode2"])))
        except tango.DevFailed as exc:
            results.append(("refused", exc.args[0].desc))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    started = [r[1] for r in results if r[0] == "scan"]
    refused = [r[1] for r in results if r[0] == "refused"]
    assert len(started) == 1 and len(refused) == 3, results
    assert all("is running" in d or "being started" in d for d in refused), refused
    assert scan_dev.WaitScan(60)
    assert follower.wait_end(started[0]).npoints == 20


def test_a_follower_made_just_before_a_scan_gets_all_of_it(scan_dev):
    """A client that subscribes and starts a scan at once (a GUI opened by a command) sees
    that scan from its first message: RecordFollower returns once its subscription is
    live (cppTango drops what is pushed while a new subscription's connection is made)."""
    for _ in range(10):
        f = RecordFollower(scan_dev)
        try:
            assert f.live and not f.errors
            n = scan_dev.command_inout("loopscan", ["2", "0", "diode"])
            assert scan_dev.WaitScan(30)
            rec = f.wait_end(n, 10)
            assert rec.key and rec.npoints == 2 and rec.end_reason == "SUCCESS"
        finally:
            f.close()


def test_init_reloads_the_session(stack, scan_dev, follower):
    scan_dev.Init()
    deadline = time.monotonic() + 30
    while scan_dev.state() not in (tango.DevState.ON, tango.DevState.ALARM) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert scan_dev.state() == tango.DevState.ON
    assert json.loads(scan_dev.SCAN_SAVING)["base_path"] == str(stack.data_dir)   # persisted in Beacon
    follower.close()
    f = RecordFollower(scan_dev)
    try:
        n = scan_dev.ascan(["m0", "0", "1", "2", "0", "diode"])
        assert scan_dev.WaitScan(30)
        assert f.wait_end(n).end_reason == "SUCCESS"
    finally:
        f.close()


def test_a_channel_attribute_outlives_a_scan_without_its_channel(stack, scan_dev):
    """A client subscribed to `diode` (a GUI's plot) keeps its subscription across a scan
    of other counters: the attribute reads empty meanwhile and gets the next diode scan's
    points (the ScanServer no longer removes and remakes channel attributes)."""
    received = []
    scan_dev.ct(["0.01", "diode"])
    assert scan_dev.WaitScan(60)
    did = scan_dev.subscribe_event("diode", tango.EventType.CHANGE_EVENT,
                                   lambda ev: received.append(None if ev.err else len(ev.attr_value.value)))
    try:
        scan_dev.ct(["0.01", "diode2"])
        assert scan_dev.WaitScan(60)
        assert "diode2" in scan_dev.get_attribute_list()
        assert scan_dev.read_attribute("diode").value is None or len(scan_dev.read_attribute("diode").value) == 0
        n = scan_dev.ascan(["m0", "1", "2", "3", "0", "diode"])
        assert scan_dev.WaitScan(60)
        assert scan_dev.ScanNumber == n
        assert len(scan_dev.read_attribute("diode").value) == 4
        # the subscription lived on: the 4 points arrive on it (events come after the read
        # may already show them), and no error event came
        wait_until(lambda: 4 in received, 30, "the 4-point diode event")
        assert None not in received
    finally:
        scan_dev.unsubscribe_event(did)


def test_the_next_scan_starts_as_soon_as_state_on_arrives(stack, scan_dev):
    """A client that starts a scan the moment the previous one's State ON reaches it is
    never told that scan is still running (the memory given back after a scan once held
    the slot past the ON event)."""
    with ChangeEvents(scan_dev, "State") as states:
        for _ in range(30):
            first = states.count()
            scan_dev.ascan(["m0", "0", "0", "3", "0", "diode"])
            assert states.wait_for(lambda v, first=first: tango.DevState.RUNNING in v[first:] and
                                   v[-1] == tango.DevState.ON, 60), states.values[first:]
