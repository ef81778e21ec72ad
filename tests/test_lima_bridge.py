"""LimaBridge through a real Tango database, over the LimaSimulator, with scans run by the
test process as a ScanServer runs them (core scans over the bridge's client RemoteLima):
refusals that leave the camera as it was, ROI counters against numpy on the saved
frames, the ROI peak where the diode peaks, image references resolved from the buffer or
the file, and kill -9 of the bridge or of the camera mid-scan."""

from __future__ import annotations

import json
import os
import re
import signal
import time

import h5py
import numpy as np
import pytest
import tango
from helpers.lima_stack import LimaStack
from helpers.procs import pid_alive
from helpers.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

DETECTORS = """\
- name: cam
  plugin: lima
  tango_url: demo/limaccds/cam_sim
  instrument: bl
  roi_counters:
    beam: [80, 62, 40, 36]
    corner: [0, 0, 24, 16]
- name: nocam
  plugin: lima
  tango_url: demo/limaccds/no_such_camera
"""



@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from conftest import DEMO_CONFIG

    s = LimaStack(tmp_path_factory.mktemp("lima_bridge"), DEMO_CONFIG, width=256, height=192,
                  max_frame_rate=2000.0, extra={"detectors/bridged.yml": DETECTORS},
                  expect_fault=("demo/lima/nocam",))
    s.up()
    yield s
    s.down()


def bridge_up(stack) -> tango.DeviceProxy:
    dev = stack.device("demo/lima/cam")
    wait_until(lambda: _state(dev) == tango.DevState.ON, 30, "demo/lima/cam ON")
    return dev


def _state(dev):
    try:
        return dev.state()
    except tango.DevFailed:
        return None


@pytest.fixture
def cam(stack):
    from blisstango.core.lima.remote import RemoteLima

    bridge_up(stack)
    det = RemoteLima("cam", f"tango://{stack.tango_host}/demo/lima/cam")  # never the process's TANGO_HOST
    yield det
    det.close()


@pytest.fixture
def context(stack, tmp_path):
    from blisstango.core.data.scan_saving import ScanSaving
    from blisstango.core.scanning.context import ScanContext

    return ScanContext("lima", scan_saving=ScanSaving("lima", None, base_path=str(tmp_path)))


@pytest.fixture
def m0(stack):
    from blisstango.core.motion.axis_proxy import AxisProxy

    host = stack.tango_host
    return AxisProxy("m0", f"tango://{host}/demo/axis/m0", f"tango://{host}/demo/axismanager/demo")


def test_detector_is_exported_with_its_rois(stack):
    bridge = bridge_up(stack)
    db = tango.Database(*stack.tango_host.split(":"))
    assert db.get_device_from_alias("cam") == "demo/lima/cam"
    assert db.get_class_for_device("demo/lima/cam") == "LimaBridge"
    assert json.loads(bridge.roi_counters) == {"beam": [80, 62, 40, 36], "corner": [0, 0, 24, 16]}
    assert list(bridge.image_size) == [256, 192]
    assert bridge.tango_url == "demo/limaccds/cam_sim"


def test_a_tango_url_that_names_no_device_is_refused(stack):
    nocam = stack.device("demo/lima/nocam")
    assert nocam.state() == tango.DevState.FAULT
    assert "nocam: tango_url 'demo/limaccds/no_such_camera' names no LimaCCDs device" in nocam.status()
    with pytest.raises(tango.DevFailed) as err:
        nocam.Prepare("{}")
    assert err.value.args[0].reason == "LimaConfigError"
    assert "nocam: tango_url 'demo/limaccds/no_such_camera'" in err.value.args[0].desc
    bridge = bridge_up(stack)
    with pytest.raises(tango.DevFailed, match=r"cam: tango_url 'demo/nothing/here' names no LimaCCDs device"):
        bridge.tango_url = "demo/nothing/here"
    assert bridge.tango_url == "demo/limaccds/cam_sim" and bridge.state() == tango.DevState.ON


BAD_PREPARES = [
    ({"expo_time": -0.1}, r"cam: expo_time -0\.1 is outside \(0\.0, 3600\.0\]"),
    ({"expo_time": 0}, r"cam: expo_time 0\.0 is outside \(0\.0, 3600\.0\]"),
    ({"trigger_mode": "WHEN_READY"}, r"cam: trigger_mode 'WHEN_READY' is not one of INTERNAL_TRIGGER, "),
    ({"nb_frames": -3}, r"cam: nb_frames -3 is outside \[0, inf\)"),
    ({"rois": ["nowhere"]}, r"cam: no ROI named nowhere \(ROIs: beam, corner\)"),
    ({"saving": {"directory": "relative/dir"}}, r"cam: saving directory 'relative/dir' must be an absolute path"),
]


@pytest.mark.parametrize("request_, message", BAD_PREPARES)
def test_bad_input_is_refused_before_the_camera_is_touched(stack, request_, message):
    bridge = bridge_up(stack)
    camera = stack.device("demo/limaccds/cam_sim")
    watched = ["acq_expo_time", "acq_trigger_mode", "acq_nb_frames", "saving_mode", "saving_directory",
               "acq_tag", "last_image_acquired"]
    before = {a: camera.read_attribute(a).value for a in watched}
    with pytest.raises(tango.DevFailed) as err:
        bridge.Prepare(json.dumps({"nb_frames": 2, "expo_time": 0.01, **request_}))
    assert err.value.args[0].reason == "LimaConfigError"
    assert re.search(message, err.value.args[0].desc), err.value.args[0].desc
    after = {a: camera.read_attribute(a).value for a in watched}
    assert after == before and camera.acq_status == "Ready"


def test_unwritable_directory_and_roi_outside_the_image_are_refused(stack, tmp_path):
    bridge = bridge_up(stack)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(tango.DevFailed, match=r"cam: saving directory '.*a_file/scan' cannot be created"):
        bridge.Prepare(json.dumps({"saving": {"directory": str(blocker / "scan")}}))
    with pytest.raises(tango.DevFailed, match=r"cam: ROI wide \[200, 0, 100, 10\] is outside the image 256x192"):
        bridge.SetRoi(([200, 0, 100, 10], ["wide"]))
    assert "wide" not in json.loads(bridge.roi_counters)


def test_rois_set_at_run_time_persist_in_settings(stack):
    """A ROI added at run time is a Beacon setting: the detector has it again after its
    device is initialised anew (as after a restart); the YAML's ROIs are the defaults."""
    bridge = bridge_up(stack)
    bridge.SetRoi(([10, 20, 30, 40], ["kept"]))
    try:
        bridge.Init()
        bridge = bridge_up(stack)
        assert json.loads(bridge.roi_counters)["kept"] == [10, 20, 30, 40]
    finally:
        bridge.RemoveRoi("kept")
    bridge.Init()
    assert json.loads(bridge_up(stack).roi_counters) == {"beam": [80, 62, 40, 36], "corner": [0, 0, 24, 16]}


def test_ct_roi_counters_equal_numpy_on_the_saved_frame(cam, context):
    from blisstango.core.data.images import FrameSource
    from blisstango.core.scanning import scans

    cam.roi_counters["r1"] = (100, 70, 30, 30)
    try:
        assert cam.roi_counters["r1"] == (100, 70, 30, 30)
        scan = scans.ct(0.1, cam, context=context, save=True)
        ref = scan.get_data("cam:image")[0]
        assert ref["file"] and ref["frame"] == 0
        frame = FrameSource.from_saved(ref)[0]
        assert frame.shape == (192, 256) and frame.dtype == np.uint16
        for roi, (x, y, w, h) in (("beam", (80, 62, 40, 36)), ("r1", (100, 70, 30, 30))):
            region = frame[y:y + h, x:x + w].astype(float)
            got = [float(scan.get_data(f"cam:roi_counters:{roi}_{s}")[0]) for s in ("sum", "avg", "min", "max")]
            assert got == [region.sum(), region.mean(), region.min(), region.max()]
            assert scan.get_data(f"cam:roi_counters:{roi}_std")[0] == pytest.approx(region.std(), rel=1e-9)
        with h5py.File(ref["file"], "r") as f:
            assert f["/entry_0000/bl/cam/data"].shape == (1, 192, 256)
    finally:
        del cam.roi_counters["r1"]
    assert "r1" not in cam.roi_counters


def test_ascan_finds_the_roi_peak_where_the_diode_peaks(cam, context, m0):
    from blisstango.core.counters.simulation import SimulationCounter
    from blisstango.core.scanning import peak, scans

    diode = SimulationCounter("diode", axis=m0, curve="gaussian", center=2.5, fwhm=1.2, height=10000.0,
                              background=50.0)
    scan = scans.ascan(m0, 0, 5, 20, 0.01, cam.roi_counters, diode, context=context, save=False)
    beam_peak = peak.peak("cam:roi_counters:beam_sum", scan=scan)
    diode_peak = peak.peak(diode, scan=scan)
    assert abs(beam_peak - diode_peak) < 0.25 / 2 and diode_peak == pytest.approx(2.5, abs=0.05)
    # one frame per point, INTERNAL_TRIGGER_MULTI, the ROI slave under the detector
    node = find_node(scan.scan_info["chain"], "cam")
    assert node["trigger_mode"] == "INTERNAL_TRIGGER_MULTI"
    assert len(scan.get_data("cam:roi_counters:beam_sum")) == 21  # one frame per point
    assert [c["name"] for c in node["children"]] == ["cam:roi_counters"]


def find_node(nodes: list, name: str) -> dict:
    for n in nodes:
        if n["name"] == name:
            return n
        found = find_node(n.get("children", []), name)
        if found:
            return found
    return {}


def test_timescan_saves_every_frame_once_and_references_resolve(cam, context):
    from blisstango.core.data.images import FrameSource, FrameUnavailable
    from blisstango.core.scanning import scans

    scan = scans.timescan(0.0002, cam.image, npoints=1000, context=context)
    refs = scan.get_data("cam:image")
    assert [r["frame"] for r in refs] == list(range(1000))
    assert len({(r["file"], r["index"]) for r in refs}) == 1000
    files = sorted({r["file"] for r in refs})
    assert len(files) == 10 and all(os.path.dirname(f).endswith(f"scan{scan.scan_number:04d}") for f in files)
    total = 0
    for path in files:
        with h5py.File(path, "r") as f:
            total += f["/entry_0000/bl/cam/data"].shape[0]
    assert total == 1000
    # the bridge's ReadImage: a saved frame comes from its file, with its acquisition's tag
    from blisstango.core.lima.frames import decode_data_array

    raw = cam.proxy.ReadImage(999)
    frame999, header = decode_data_array(bytes(raw))
    assert (header.frame_number, header.acq_tag) == (999, refs[-1]["acq"])
    np.testing.assert_array_equal(frame999, FrameSource.from_saved(refs[-1])[0])
    source = FrameSource()
    last = source.read(refs[-1])        # still in the camera's buffer: that very frame
    assert source.from_buffer == 1
    np.testing.assert_array_equal(last, FrameSource.from_saved(refs[-1])[0])
    unsaved = scans.ct(0.001, cam.image, context=context).get_data("cam:image")[0]
    assert unsaved["file"] is None
    np.testing.assert_array_equal(source.read(refs[-1]), last)  # the buffer moved on: from the file
    assert source.from_file == 1
    scans.ct(0.001, cam.image, context=context)
    with pytest.raises(FrameUnavailable, match="not saved"):
        source.read(unsaved)  # another acquisition holds the buffer, never its frame


@pytest.mark.parametrize("victim", ["LimaBridge/cam", "LimaSimulator/cam_sim"])
def test_kill_9_during_a_scan_ends_it_naming_the_detector(stack, cam, context, victim):
    from blisstango.core.scanning import scans

    scan = scans.timescan(0.05, cam.image, npoints=200, context=context, run=False)
    scan.start()
    wait_until(lambda: "cam:image" in scan.get_data() and len(scan.get_data("cam:image")) >= 3, 20,
               "frames saved")
    pid = stack.pid(victim)
    os.kill(pid, signal.SIGKILL)
    t0 = time.monotonic()
    with pytest.raises(Exception) as err:
        scan.wait(timeout=10)
    assert time.monotonic() - t0 < 3.0
    assert "cam" in str(err.value) and ("LimaBridge" in str(err.value) or "camera" in str(err.value))
    refs = scan.get_data("cam:image")
    with h5py.File(refs[0]["file"], "r") as f:  # what was saved is in a valid file
        data = f["/entry_0000/bl/cam/data"]
        np.testing.assert_array_equal(data[refs[-1]["index"]].shape, (192, 256))
    wait_until(lambda: not pid_alive(pid) and stack.pid(victim) != pid, 30, f"{victim} restarted")
    bridge_up(stack)
    camera = stack.device("demo/limaccds/cam_sim")
    wait_until(lambda: _state(camera) is not None, 30, "camera back")
    again = scans.ct(0.01, cam, context=context, save=True)
    assert len(again.get_data("cam:image")) == 1 and again.get_data("beam_sum")[0] > 0


def test_state_and_status_events_follow_the_acquisition(stack, cam, context):
    """A GUI's State/Status come from the bridge's change events: RUNNING then ON, with
    the detector's own status line (never cppTango's stored UNKNOWN / "Not initialised")."""
    from blisstango.core.scanning import scans

    bridge = bridge_up(stack)
    states: list = []
    statuses: list = []
    ids = [bridge.subscribe_event("State", tango.EventType.CHANGE_EVENT,
                                  lambda ev: None if ev.err else states.append(ev.attr_value.value)),
           bridge.subscribe_event("Status", tango.EventType.CHANGE_EVENT,
                                  lambda ev: None if ev.err else statuses.append(ev.attr_value.value))]
    try:
        scans.loopscan(3, 0.01, cam.image, context=context, save=False)
        wait_until(lambda: states[-1:] == [tango.DevState.ON] and "Ready" in (statuses or [""])[-1], 10,
                   "State ON and a Ready status after the scan")
    finally:
        for eid in ids:
            bridge.unsubscribe_event(eid)
    assert tango.DevState.RUNNING in states and tango.DevState.UNKNOWN not in states
    assert any(s.startswith("cam on ") and "Running" in s for s in statuses)
    assert not any("Not initialised" in s for s in statuses)


def test_live_image_events_for_guis(stack, cam, context):
    from blisstango.core.scanning import scans

    bridge = bridge_up(stack)
    frames: list = []
    eid = bridge.subscribe_event("image", tango.EventType.CHANGE_EVENT,
                                 lambda ev: None if ev.err else frames.append(ev.attr_value.value))
    try:
        scans.loopscan(3, 0.01, cam.image, context=context, save=False)
        wait_until(lambda: any(getattr(f, "shape", ()) == (192, 256) for f in frames), 10, "a live image event")
    finally:
        bridge.unsubscribe_event(eid)
    last = [f for f in frames if getattr(f, "shape", ()) == (192, 256)][-1]
    assert last.dtype == np.uint16 and last.max() > 0
