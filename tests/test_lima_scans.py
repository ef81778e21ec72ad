"""2D detectors in scans through the ScanServer: the demo stack (`blisstango up`) with cam1
(LimaBridge over a LimaSimulator), a 256x256 camera for the fast acquisitions and a
detector whose tango_url names no device. Everything through Tango and the data Redis, as
a client sees it."""

from __future__ import annotations

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
from helpers.procs import pid_alive
from helpers.waiting import wait_until

from blisstango.core.data import ScanReader
from blisstango.core.data.images import FrameSource

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

EXTRA_DETECTORS = """\
# A small fast camera for the timescan at the simulator's top rate.
- name: fastcam
  plugin: lima
  tango_url: demo/limaccds/fastcam_sim
- name: fastcam_sim
  plugin: lima_simulator
  width: 256
  height: 256
  readout_time: 0.0002
  max_frame_rate: 2000
  buffer_max_memory: 256
  beam: {x: 128, y: 128, sigma_x: 8, sigma_y: 8, flux: 1.0e8}
# A detector that points at no camera.
- name: nocam
  plugin: lima
  tango_url: demo/limaccds/no_such_camera
"""



@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from conftest import DEMO_CONFIG

    # nocam is FAULT by design (its camera does not exist)
    s = DemoStack(tmp_path_factory.mktemp("lima_scans"), DEMO_CONFIG, expect_fault=("demo/lima/nocam",))
    (s.config / "lima" / "more.yml").write_text(EXTRA_DETECTORS)
    session = s.config / "sessions" / "demo.yml"
    session.write_text(session.read_text().replace("    - cam1\n", "    - cam1\n    - fastcam\n    - nocam\n"))
    with s:
        yield s


@pytest.fixture(scope="module")
def redis_data(stack):
    return stack.data_redis()


def run(scan_dev, follower, command: str, args: list[str], timeout: float = 120):
    n = getattr(scan_dev, command)(args)
    rec = follower.wait_end(n, timeout)
    assert rec.end_reason == "SUCCESS", rec.error
    return rec


def reader_of(redis_data, rec) -> ScanReader:
    return ScanReader(redis_data, rec.key)


def test_ct_with_two_rois_equals_numpy_on_the_saved_frame(stack, scan_dev, follower, redis_data):
    cam1 = stack.device("demo/lima/cam1")
    cam1.SetRoi(([300, 200, 50, 40], ["r1"]))
    try:
        rec = run(scan_dev, follower, "ct", ["0.1", "cam1", "save=true"])
        reader = reader_of(redis_data, rec)
        frame = reader.read_image("cam1:image", 0)
        ref = reader.read_all("cam1:image")[0]
        assert ref["file"].endswith("cam1_0000.h5") and ref["frame"] == 0
        np.testing.assert_array_equal(frame, FrameSource.from_saved(ref)[0])  # the saved frame
        for roi, (x, y, w, h) in (("beam", (226, 236, 60, 40)), ("r1", (300, 200, 50, 40))):
            region = frame[y:y + h, x:x + w].astype(float)
            values = {s: float(reader.read_all(f"cam1:roi_counters:{roi}_{s}")[0])
                      for s in ("sum", "avg", "std", "min", "max")}
            assert [values[s] for s in ("sum", "avg", "min", "max")] == \
                [region.sum(), region.mean(), region.min(), region.max()]
            assert values["std"] == pytest.approx(region.std(), rel=1e-9)
        # the ROI counters are scalar channels with their spectrum on the ScanServer
        assert list(scan_dev.read_attribute("r1_sum").value) == [values_sum(reader, "r1")]
    finally:
        cam1.RemoveRoi("r1")


def values_sum(reader, roi: str) -> float:
    return float(reader.read_all(f"cam1:roi_counters:{roi}_sum")[0])


def test_ascan_finds_the_roi_peak_where_the_diode_peaks(stack, scan_dev, follower, redis_data):
    rec = run(scan_dev, follower, "ascan", ["m0", "0", "5", "20", "0.02", "diode", "cam1"])
    reader = reader_of(redis_data, rec)
    m0 = reader.read_all("axis:m0")
    beam = reader.read_all("cam1:roi_counters:beam_sum")
    diode = reader.read_all("simulation:diode")
    assert len(beam) == len(diode) == 21
    assert m0[int(np.argmax(beam))] == m0[int(np.argmax(diode))] == pytest.approx(2.5)
    # the master file references every frame: measurement/cam1_image reads (21, 512, 512)
    info = reader.info
    wait_complete(info["filename"], f"{info['scan_nb']}.1")
    refs = reader.read_all("cam1:image")
    with h5py.File(info["filename"], "r", locking=False) as f:
        images = f[f"{info['scan_nb']}.1/measurement/cam1_image"]
        assert images.shape == (21, 512, 512) and images.dtype == np.uint16
        for i in (0, 10, 20):
            np.testing.assert_array_equal(images[i], FrameSource.from_saved(refs[i])[0])


def test_detector_in_every_kind_of_scan(stack, scan_dev, follower, redis_data):
    for command, args, points in (
            ("loopscan", ["4", "0.01", "cam1"], 4),
            ("dscan", ["m1", "-1", "1", "3", "0.01", "cam1"], 4),
            ("amesh", ["m0", "0", "1", "2", "m1", "0", "1", "1", "0.01", "cam1"], 6),
            ("timescan", ["0.01", "cam1", "npoints=5"], 5)):
        rec = run(scan_dev, follower, command, args)
        reader = reader_of(redis_data, rec)
        refs = reader.read_all("cam1:image")
        assert [r["frame"] for r in refs] == list(range(points)), command
        assert len(reader.read_all("cam1:roi_counters:beam_sum")) == points, command
        assert len(reader.read_all("cam1:bpm:x")) == points, command
    chain = {"title": "cam1 under a step master", "chain": [
        {"type": "step", "axes": [{"axis": "m1", "start": 0, "stop": 2, "intervals": 2}],
         "children": [{"type": "timer", "count_time": 0.01, "children": [{"counters": ["cam1"]}]}]}]}
    n = scan_dev.RunScan(json.dumps(chain))
    rec = follower.wait_end(n, 120)
    assert rec.end_reason == "SUCCESS", rec.error
    assert len(reader_of(redis_data, rec).read_all("cam1:image")) == 3
    scan_dev.ChainCreate(json.dumps({"title": "built"}))
    timer = scan_dev.ChainAddMaster(json.dumps({"type": "timer", "count_time": 0.01, "npoints": 3}))
    scan_dev.ChainAddSlave(json.dumps({"parent": timer, "counters": ["cam1"]}))
    n = scan_dev.ChainStart()
    rec = follower.wait_end(n, 120)
    assert rec.end_reason == "SUCCESS", rec.error
    assert len(reader_of(redis_data, rec).read_all("cam1:roi_counters:corner_avg")) == 3


def test_timescan_of_1000_frames_at_top_rate(stack, scan_dev, follower, redis_data):
    rec = run(scan_dev, follower, "timescan", ["0.0001", "fastcam", "npoints=1000"], timeout=300)
    reader = reader_of(redis_data, rec)
    refs = reader.read_all("fastcam:image")
    assert [r["frame"] for r in refs] == list(range(1000))
    assert len({(r["file"], r["index"]) for r in refs}) == 1000  # every frame saved exactly once
    files = sorted({r["file"] for r in refs})
    stored = 0
    for path in files:
        with h5py.File(path, "r", locking=False) as f:
            stored += f["/entry_0000/instrument/fastcam/data"].shape[0]
    assert stored == 1000
    # Redis holds references only: the image channel's stream is a few hundred kB, the
    # frames are 131 MB
    image_key = f"scan:{rec.key}:fastcam:image"
    assert redis_data.memory_usage(image_key) < 2_000_000
    entries = redis_data.xrange(image_key)
    assert all(b"d" not in fields for _id, fields in entries)
    info = reader.info
    wait_complete(info["filename"], f"{info['scan_nb']}.1", timeout=120)
    with h5py.File(info["filename"], "r", locking=False) as f:
        images = f[f"{info['scan_nb']}.1/measurement/fastcam_image"]
        assert images.shape == (1000, 256, 256)
        for i in (0, 499, 999):
            np.testing.assert_array_equal(images[i], FrameSource.from_saved(refs[i])[0])


REFUSALS = [
    ("ct", ["0", "cam1"], r"cam1: expo_time 0\.0 is outside \(0\.0, 3600\.0\]"),
    ("ct", ["0.1", "nocam"], r"nocam: tango_url 'demo/limaccds/no_such_camera' names no LimaCCDs device"),
]


@pytest.mark.parametrize("command, args, message", REFUSALS)
def test_bad_input_is_refused_before_anything_starts(stack, scan_dev, command, args, message):
    camera = stack.device("demo/limaccds/cam1_sim")
    tag = camera.acq_tag
    with pytest.raises(tango.DevFailed) as err:
        getattr(scan_dev, command)(args)
    import re

    assert re.search(message, err.value.args[0].desc), err.value.args[0].desc
    assert camera.acq_tag == tag and camera.acq_status == "Ready"


def test_bad_trigger_mode_roi_and_folder_are_refused(stack, scan_dev, tmp_path):
    import re

    camera = stack.device("demo/limaccds/cam1_sim")
    tag = camera.acq_tag
    chain = {"chain": [{"type": "timer", "count_time": 0.01, "npoints": 2, "children": [
        {"counters": ["cam1"], "acq_params": {"cam1": {"trigger_mode": "WHEN_I_SAY"}}}]}]}
    with pytest.raises(tango.DevFailed) as err:
        scan_dev.RunScan(json.dumps(chain))
    assert re.search(r"cam1: trigger_mode 'WHEN_I_SAY' is not one of INTERNAL_TRIGGER", err.value.args[0].desc)
    with pytest.raises(tango.DevFailed, match=r"cam1: ROI huge \[0, 0, 600, 10\] is outside the image 512x512"):
        stack.device("demo/lima/cam1").SetRoi(([0, 0, 600, 10], ["huge"]))
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    saving = json.loads(scan_dev.read_attribute("SCAN_SAVING").value)
    scan_dev.write_attribute("SCAN_SAVING", json.dumps({"base_path": str(blocker)}))
    try:
        with pytest.raises(tango.DevFailed) as err:
            scan_dev.ct(["0.01", "cam1", "save=true"])
        assert re.search(r"cam1: saving directory '.*a_file/.*' cannot be created", err.value.args[0].desc), \
            err.value.args[0].desc
    finally:
        scan_dev.write_attribute("SCAN_SAVING", json.dumps({"base_path": saving["base_path"]}))
    assert camera.acq_tag == tag and camera.acq_status == "Ready"


@pytest.mark.parametrize("victim", ["LimaBridge/cam1", "LimaSimulator/cam1_sim"])
def test_kill_9_during_a_scan(stack, scan_dev, follower, redis_data, victim):
    n = scan_dev.timescan(["0.05", "cam1", "npoints=300"])
    record = follower.record(n, 30)
    reader = ScanReader(redis_data, wait_until(lambda: record.key, 30, "scan key"))
    # frames saved and referenced in Redis (the camera may be ahead of what the scan has seen)
    referenced = 0
    for batch in reader.follow(["cam1:image"], timeout=30):
        referenced += len(batch.data)
        if referenced >= 2:
            break
    assert referenced >= 2, f"the scan ended with {referenced} frame references"
    pid = stack.pid(victim)
    os.kill(pid, signal.SIGKILL)
    t0 = time.monotonic()
    rec = follower.wait_end(n, 30)
    assert time.monotonic() - t0 < 3.0
    assert rec.end_reason == "FAILURE" and "cam1" in rec.error
    refs = reader.read_all("cam1:image")
    assert refs and all(r["file"] for r in refs)
    for ref in refs:  # what was saved is readable from its file
        frame, why = FrameSource.from_saved(ref)
        assert frame is not None and frame.shape == (512, 512), why
    # the ScanServer stays usable; the next scan works once the server is back
    wait_until(lambda: not pid_alive(pid) and stack.pid(victim) != pid, 30, f"{victim} restarted")
    bridge = stack.device("demo/lima/cam1")
    wait_until(lambda: _answers(bridge) == tango.DevState.ON, 60, "cam1 ON again")
    rec = run(scan_dev, follower, "ct", ["0.01", "cam1"])
    assert len(rec.data["cam1:roi_counters:beam_sum"]) == 1


def _answers(dev):
    try:
        return dev.state()
    except tango.DevFailed:
        return None
