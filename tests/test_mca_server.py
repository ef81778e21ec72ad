"""The Mca server through TANGO_HOST: a demo stack (`blisstango up`), the device of mca1
driven by Tango clients, the simulator following the sample axes served by AxisManager."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import tango
from helpers.demo_stack import DemoStack
from helpers.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, demo_config):
    s = DemoStack(tmp_path_factory.mktemp("mca_stack"), demo_config)
    mca_yml = s.config / "mca" / "mca1.yml"   # this detector's firmware has no TRIGGERS preset
    mca_yml.write_text(mca_yml.read_text().replace("  preset_mode: REALTIME\n",
                                                   "  preset_mode: REALTIME\n"
                                                   "  preset_modes: [NONE, REALTIME, LIVETIME, EVENTS]\n"))
    s.up()
    yield s
    s.down()


@pytest.fixture(scope="module")
def demo_config():
    from conftest import DEMO_CONFIG

    return DEMO_CONFIG


@pytest.fixture
def mca(stack):
    dev = stack.device("demo/mca/mca1")
    dev.ApplyConfig()
    yield dev
    dev.StopAcquisition()


def move(stack, **positions) -> None:
    mgr = stack.device("demo/axismanager/demo")
    assert len(mgr.GroupMoveWait(([30.0, *positions.values()], ["", *positions]))) == len(positions)


def test_device_is_exported_with_its_alias_and_parameters(stack, mca):
    db = tango.Database(*stack.tango_host.split(":"))
    assert db.get_device_from_alias("mca1") == "demo/mca/mca1"
    assert db.get_class_for_device("demo/mca/mca1") == "Mca"
    assert mca.state() == tango.DevState.ON
    assert list(mca.Elements) == [0, 1, 2, 3] and mca.SpectrumSize == 4096
    assert list(mca.Calibration) == [0.0, 0.005, 0.0]
    assert json.loads(mca.Rois) == {"Fe": [1250, 1310], "Cu": [1576, 1640], "Zn": [1694, 1760]}
    assert list(mca.SupportedPresetModes) == ["NONE", "REALTIME", "LIVETIME", "EVENTS"]
    assert mca.Energy[1280] == pytest.approx(6.4)


@pytest.mark.parametrize("attr, value, words", [
    ("PresetMode", "FOREVER", ["mca1", "preset_mode", "FOREVER", "NONE, REALTIME, LIVETIME, EVENTS"]),
    ("PresetMode", "TRIGGERS", ["mca1", "preset_mode", "TRIGGERS", "NONE, REALTIME, LIVETIME, EVENTS"]),
    ("PresetValue", -1.0, ["mca1", "preset_value", "-1.0", "> 0"]),
    ("TriggerMode", "EXTERNAL", ["mca1", "trigger_mode", "EXTERNAL", "SOFTWARE, SYNC, GATE"]),
    ("Rois", json.dumps({"Fe": [4000, 4100]}), ["mca1", "ROI Fe stop", "4100", "<= 4096"]),
    ("Rois", json.dumps({"Fe": [300, 200]}), ["mca1", "ROI Fe stop", "200", "300 < stop"]),
    ("Rois", "not json", ["mca1", "Rois", "JSON"]),
    ("Rois", '{"Fe": [1250, 1310], "Fe": [1576, 1640]}', ["mca1", "ROI name", "'Fe'", "used once"]),
])
def test_bad_input_is_refused_naming_mca_parameter_and_allowed_values(mca, attr, value, words):
    before = {a: mca.read_attribute(a).value for a in ("PresetMode", "PresetValue", "TriggerMode", "Rois")}
    with pytest.raises(tango.DevFailed) as err:
        mca.write_attribute(attr, value)
    desc = err.value.args[0].desc
    for w in words:
        assert w in desc
    assert {a: mca.read_attribute(a).value for a in before} == before


def test_roi_commands_and_their_refusals(mca):
    mca.SetRoi(([1480, 1510], ["Ni"]))
    assert json.loads(mca.Rois)["Ni"] == [1480, 1510]
    with pytest.raises(tango.DevFailed, match="mca1: ROI name 'spectrum' refused"):
        mca.SetRoi(([10, 20], ["spectrum"]))
    mca.RemoveRoi("Ni")
    with pytest.raises(tango.DevFailed, match="mca1: no ROI named 'Ni'"):
        mca.RemoveRoi("Ni")
    assert "Ni" not in json.loads(mca.Rois)


def test_realtime_acquisition_on_the_iron_spot_with_events(stack, mca):
    move(stack, sx=-2.0, sy=1.5)
    mca.PresetMode = "REALTIME"
    mca.PresetValue = 0.5
    states, spectra = [], []
    done = threading.Event()

    def on_state(ev):
        if not ev.err:
            states.append(ev.attr_value.value)

    def on_spectrum(ev):
        if not ev.err and ev.attr_value.value is not None and len(ev.attr_value.value):
            spectra.append(np.array(ev.attr_value.value))
            done.set()

    ids = [mca.subscribe_event("State", tango.EventType.CHANGE_EVENT, on_state),
           mca.subscribe_event("spectrum_det0", tango.EventType.CHANGE_EVENT, on_spectrum)]
    try:
        done.clear()
        spectra.clear()
        mca.StartAcquisition()
        assert mca.state() == tango.DevState.RUNNING
        assert done.wait(10)
        deadline = time.monotonic() + 10
        while not states or states[-1] != tango.DevState.ON:    # the server's own State event
            assert time.monotonic() < deadline, states
            time.sleep(0.05)
        spectrum = np.array(mca.spectrum_det0)
        # the last spectrum is pushed too; its event may come after State's (its own pusher)
        while not np.array_equal(spectra[-1], spectrum):
            assert time.monotonic() < deadline, f"no event of the final spectrum ({len(spectra)} events)"
            time.sleep(0.05)
    finally:
        for i in ids:
            mca.unsubscribe_event(i)
    assert tango.DevState.RUNNING in states
    assert list(mca.Realtime) == [0.5] * 4
    assert all(live < 0.5 for live in mca.EnergyLivetime)
    icr, ocr, dead = np.array(mca.Icr), np.array(mca.Ocr), np.array(mca.Deadtime)
    assert np.allclose(dead, 1 - ocr / icr, rtol=1e-9) and np.all(dead > 0.1)
    assert list(mca.Events) == [int(np.array(mca.read_attribute(f"spectrum_det{e}").value).sum())
                                for e in range(4)]
    energy = np.array(mca.Energy)
    fe = spectrum[1250:1310].sum()
    assert fe > 10 * spectrum[1576:1640].sum() and fe > 10 * spectrum[1694:1760].sum()
    assert abs(energy[np.argmax(spectrum[:2000])] - 6.40) < 0.03
    assert np.array_equal(np.array(mca.Spectrum),
                          sum(np.array(mca.read_attribute(f"spectrum_det{e}").value, dtype=np.int64)
                              for e in range(4)))


def test_simulator_follows_the_sample_axes_through_tango(stack, mca):
    from blisstango.core.mca.remote import RemoteMca

    remote = RemoteMca("mca1", f"tango://{stack.tango_host}/demo/mca/mca1")
    remote.preset_value = 0.1
    for (x, y), roi in (((2.0, 1.5), slice(1576, 1640)), ((0.0, -2.0), slice(1694, 1760))):
        move(stack, sx=x, sy=y)
        block = remote.acquire_one(timeout=5.0)
        total = block.spectra[0].sum(axis=0)
        others = [s for s in (slice(1250, 1310), slice(1576, 1640), slice(1694, 1760)) if s != roi]
        assert all(total[roi].sum() > 5 * total[o].sum() for o in others), (x, y)


def test_gate_mapping_in_blocks_through_read_data(stack, mca):
    from blisstango.core.mca.remote import RemoteMca

    remote = RemoteMca("mca1", f"tango://{stack.tango_host}/demo/mca/mca1")
    remote.trigger_mode = "GATE"
    remote.hardware_points = 30
    remote.preset_value = 0.004
    remote.start_acquisition()
    for _ in range(30):
        remote.pulse()
        time.sleep(0.005)
    got, index = [], 0
    while index < 30:
        block = remote.read_points(index, timeout=5.0)
        assert block is not None
        got.append(block)
        index = block.first + block.count
    assert sum(b.count for b in got) == 30 and len(got) < 30      # blocks, not one call per point
    realtime = np.concatenate([b.stats[:, :, 0] for b in got])
    assert np.all((realtime > 0) & (realtime <= 0.004))  # each gate (cut short by an early pulse)
    assert mca.state() == tango.DevState.ON and mca.PointsAcquired == 30


def test_spectrum_events_are_throttled_and_the_last_point_always_comes(stack, mca):
    """A fast GATE map (300 points): the spectra events come at most every EventPeriod
    (0.1 s) while acquiring, not once per point, and the map's last point is pushed."""
    from blisstango.core.mca.remote import RemoteMca

    remote = RemoteMca("mca1", f"tango://{stack.tango_host}/demo/mca/mca1")
    remote.trigger_mode = "GATE"
    remote.hardware_points = 300
    remote.preset_value = 0.001
    events: dict[str, list] = {"spectrum_det0": [], "Spectrum": []}

    def listener(name):
        def on_event(ev):
            if not ev.err:
                events[name].append(np.array(ev.attr_value.value))
        return on_event

    ids = [mca.subscribe_event(n, tango.EventType.CHANGE_EVENT, listener(n)) for n in events]
    try:
        wait_until(lambda: all(events.values()), 10, "the events sent at subscription")
        before = {n: len(v) for n, v in events.items()}
        started = time.monotonic()
        remote.start_acquisition()
        for _ in range(300):
            remote.pulse()
        wait_until(lambda: mca.PointsAcquired == 300 and mca.state() == tango.DevState.ON, 30, "the map's end")
        seconds = time.monotonic() - started
        last = np.array(mca.spectrum_det0)
        wait_until(lambda: np.array_equal(events["spectrum_det0"][-1], last), 10, "the last point's event")
        wait_until(lambda: len(events["Spectrum"]) - before["Spectrum"] == len(events["spectrum_det0"])
                   - before["spectrum_det0"], 10, "the summed spectrum's events")
    finally:
        for i in ids:
            mca.unsubscribe_event(i)
    pushed = len(events["spectrum_det0"]) - before["spectrum_det0"]
    assert 1 <= pushed <= seconds / 0.1 + 2, (pushed, seconds)   # not one per point
    assert np.array_equal(events["Spectrum"][-1], np.array(mca.Spectrum))


def test_init_leaves_the_device_acquiring_and_pushing(stack, mca):
    """Tango's Init (the device's monitor held by the command while init_device runs in
    the hub): the device comes back ON with its element attributes, and a map after it
    is acquired and its last point pushed to a subscriber."""
    from blisstango.core.mca.remote import RemoteMca

    mca.Init()
    assert mca.state() == tango.DevState.ON
    assert list(mca.Elements) == [0, 1, 2, 3] and len(mca.spectrum_det3) == 4096
    remote = RemoteMca("mca1", f"tango://{stack.tango_host}/demo/mca/mca1")
    remote.trigger_mode = "GATE"
    remote.hardware_points = 20
    remote.preset_value = 0.001
    pushed: list[np.ndarray] = []
    sub = mca.subscribe_event("spectrum_det2", tango.EventType.CHANGE_EVENT,
                              lambda ev: None if ev.err else pushed.append(np.array(ev.attr_value.value)))
    try:
        remote.start_acquisition()
        for _ in range(20):
            remote.pulse()
        wait_until(lambda: mca.PointsAcquired == 20 and mca.state() == tango.DevState.ON, 30, "the map's end")
        last = np.array(mca.spectrum_det2)
        assert last.sum() > 0
        wait_until(lambda: pushed and np.array_equal(pushed[-1], last), 10, "the last point's event")
    finally:
        mca.unsubscribe_event(sub)


def test_beam_intensity_scales_the_count_rate(stack, mca):
    move(stack, sx=-2.0, sy=1.5)
    mca.PresetValue = 0.3
    rates = []
    for intensity in (1.0, 0.5):
        mca.BeamIntensity = intensity
        mca.StartAcquisition()
        deadline = time.monotonic() + 10
        while mca.state() == tango.DevState.RUNNING:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        rates.append(np.array(mca.Icr))
    mca.BeamIntensity = 1.0
    assert np.allclose(rates[1], rates[0] / 2, rtol=0.05)
    with pytest.raises(tango.DevFailed, match="mca1: beam intensity -2.0 refused"):
        mca.BeamIntensity = -2.0


def test_kill_9_of_the_mca_server_mid_scan_fails_the_scan_naming_mca1(stack, mca, data_redis_of):
    """A scan driving mca1 through Tango (core's RemoteMca, as the ScanServer does): the
    Mca server killed with SIGKILL mid-scan ends the scan within 3 s with an error naming
    mca1; the points taken are in the data Redis; the restarted server works again."""
    import os
    import signal

    import gevent

    from blisstango.core.data import ScanReader
    from blisstango.core.mca.remote import RemoteMca
    from blisstango.core.scanning import ScanContext
    from blisstango.core.scanning.scans import loopscan

    remote = RemoteMca("mca1", f"tango://{stack.tango_host}/demo/mca/mca1", green_mode=tango.GreenMode.Gevent)
    context = ScanContext("mca_kill", data_redis=data_redis_of(stack))
    scan = loopscan(400, 0.02, remote, save=False, run=False, context=context)
    scan.start()
    while scan.iterations_done < 10:
        gevent.sleep(0.02)
    os.kill(stack.pid("Mca/default"), signal.SIGKILL)
    killed = time.monotonic()
    with pytest.raises(Exception) as err:
        scan.wait(timeout=10)
    assert time.monotonic() - killed < 3.0
    assert str(err.value).startswith("mca1's server Mca/default stopped answering"), err.value
    assert scan.end_reason == "FAILURE"
    done = scan.iterations_done
    assert 10 <= done < 400
    reader = ScanReader(context.data_redis, scan.key)
    assert len(reader.read_all("mca1:spectrum_det0")) >= done - 1
    deadline = time.monotonic() + 60               # the supervisor restarts the server
    while True:
        try:
            if mca.state() == tango.DevState.ON:
                break
        except tango.DevFailed:
            pass
        assert time.monotonic() < deadline, stack.log("Mca_default")
        time.sleep(0.2)
    assert remote.acquire_one(timeout=5.0, expected=0.02).count == 1


@pytest.fixture
def data_redis_of():
    clients = []

    def make(stack):
        client = stack.data_redis()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


# ---- through the session's ScanServer (its client of mca1 is core's RemoteMca) ---------
@pytest.fixture
def scans(stack):
    from blisstango.clients.scan_events import RecordFollower

    dev = stack.device("demo/scan/demo", timeout_ms=30000)
    follower = RecordFollower(dev)
    yield dev, follower
    follower.close()


def written(stack, key: str, timeout: float = 60.0) -> dict:
    writer = stack.device("demo/writer/default")
    deadline = time.monotonic() + timeout
    while True:
        try:
            progress = json.loads(writer.ScanProgress(key))
            if progress["state"] in ("DONE", "FAULT"):
                return progress
        except tango.DevFailed:
            pass
        assert time.monotonic() < deadline, f"scan {key} not written"
        time.sleep(0.1)


def test_ct_with_realtime_preset_through_the_scan_server(stack, mca, scans):
    from blisstango.core.data import ScanReader

    dev, follower = scans
    move(stack, sx=-2.0, sy=1.5)                 # on the iron spot: a high count rate
    rec = follower.wait_end(dev.ct(["1.0", "mca1"]), 60)
    assert rec.end_reason == "SUCCESS", rec.error
    reader = ScanReader(stack.data_redis(), rec.key)
    for e in range(4):
        stat = {s: reader.read_all(f"mca1:{s}_det{e}")[0]
                for s in ("realtime", "energy_livetime", "trigger_livetime", "icr", "ocr", "deadtime", "events")}
        assert stat["realtime"] == 1.0
        assert stat["energy_livetime"] < stat["realtime"] and stat["trigger_livetime"] < stat["realtime"]
        assert stat["deadtime"] == pytest.approx(1 - stat["ocr"] / stat["icr"], rel=0.01)
        assert stat["deadtime"] > 0.1
        spectrum = reader.read_all(f"mca1:spectrum_det{e}")[0]
        assert stat["events"] == spectrum.sum()
        for roi, (start, stop) in json.loads(mca.Rois).items():
            assert reader.read_all(f"mca1:{roi}_det{e}")[0] == spectrum[start:stop].sum()


def test_amesh_finds_each_spot_and_the_file_holds_spectra_energy_and_maps(stack, mca, scans):
    import h5py
    from silx.io import open as silx_open
    from silx.io.nxdata import NXdata

    dev, follower = scans
    number = dev.amesh(["sx", "-3.5", "3.5", "14", "sy", "-3.5", "3.5", "14", "0.005", "mca1"])
    rec = follower.wait_end(number, 240)
    assert rec.end_reason == "SUCCESS", rec.error
    done = written(stack, rec.key)
    assert done["state"] == "DONE", done
    entry = done["entry"]
    with h5py.File(done["file"], "r") as f:
        e = f[entry]
        for det in range(4):
            assert e[f"measurement/spectrum_det{det}"].shape == (225, 4096)
            assert e[f"instrument/spectrum_det{det}/energy"][1280] == pytest.approx(6.4)
    with silx_open(done["file"]) as f:
        for roi, (x, y) in {"Fe": (-2.0, 1.5), "Cu": (2.0, 1.5), "Zn": (0.0, -2.0)}.items():
            nx = NXdata(f[f"{entry}/{roi}_map"])
            assert nx.is_valid and nx.signal_is_2d and nx.signal.shape == (15, 15)
            sy_values, sx_values = (a[()] for a in nx.axes)
            j, i = np.unravel_index(np.argmax(nx.signal[()]), nx.signal.shape)
            assert abs(sx_values[i] - x) <= 0.3 and abs(sy_values[j] - y) <= 0.3, roi
        assert NXdata(f[f"{entry}/plotselect"]).signal_is_2d


def test_gate_mapping_timescan_through_the_scan_server(stack, mca, scans):
    from blisstango.core.data import ScanReader

    dev, follower = scans
    mca.TriggerMode = "GATE"
    rec = follower.wait_end(dev.timescan(["0.005", "mca1", "npoints=200"]), 120)
    assert rec.end_reason == "SUCCESS", rec.error
    reader = ScanReader(stack.data_redis(), rec.key)
    spectra = reader.read_all("mca1:spectrum_det2")
    realtime = reader.read_all("mca1:realtime_det2")
    assert spectra.shape == (200, 4096) and np.all((realtime > 0) & (realtime <= 0.005))
    assert np.array_equal(reader.read_all("mca1:events_det2"), spectra.sum(axis=1))


def test_kill_9_of_the_mca_server_mid_scan_through_the_scan_server(stack, mca, scans):
    """The Mca server killed with SIGKILL during a ScanServer scan: the scan ends within
    3 s with an error naming mca1, the file holds the points taken, and once the server
    is back (restarted by the stack's supervisor) the next scan works."""
    import os
    import signal

    import h5py

    dev, follower = scans
    number = dev.loopscan(["400", "0.02", "mca1"])
    deadline = time.monotonic() + 30
    while dev.Progress < 3.0:                    # a dozen points taken
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(stack.pid("Mca/default"), signal.SIGKILL)
    killed = time.monotonic()
    rec = follower.wait_end(number, 30)
    assert time.monotonic() - killed < 3.0
    assert rec.end_reason == "FAILURE" and "mca1" in rec.error, rec.error
    done = written(stack, rec.key)
    info = stack.scan_info(rec.key)
    with h5py.File(done["file"], "r") as f:
        taken = f[f"{done['entry']}/measurement/spectrum_det0"].shape[0]
        assert f[f"{done['entry']}/end_reason"][()] == b"FAILURE"
    assert 5 <= taken <= 400 and taken >= info["npoints_done"] - 1
    deadline = time.monotonic() + 60
    while True:
        try:
            if mca.state() == tango.DevState.ON:
                break
        except tango.DevFailed:
            pass
        assert time.monotonic() < deadline, stack.log("Mca_default")
        time.sleep(0.2)
    rec = follower.wait_end(dev.ct(["0.1", "mca1"]), 60)
    assert rec.end_reason == "SUCCESS", rec.error
