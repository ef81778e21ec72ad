"""LimaSimulator through a real Tango database (BeaconDB from YAML, `blisstango up`): the
LimaCCDs protocol as BLISS drives it, frames and their headers against the saved HDF5
files, the camera's physics (exposure, noise, a beam following the axes), its plugin
devices and its change events."""

from __future__ import annotations

import struct

import h5py
import numpy as np
import pytest
import tango
from helpers.lima_stack import LimaStack
from helpers.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

CAM = "demo/limaccds/cam_sim"
W, H = 256, 192


# A decoder written from Lima's header layout, independent of blisstango's own.
def decode_lima(data: bytes) -> tuple[np.ndarray, int, int]:
    fields = struct.unpack_from("<IHHIIHHHHHHHHIIIIIIQQII", data)
    magic, version, header_size, category, data_type, endianness, nb_dim = fields[:7]
    dims, steps = fields[7:13], fields[13:19]
    frame_number, acq_tag = fields[19], fields[20]
    assert magic == 0x44544159 and version == 4 and header_size == 80
    assert category == 2 and endianness == 0 and nb_dim == 2
    dtype = {0: np.uint8, 1: np.uint16, 2: np.uint32, 5: np.int16, 6: np.int32, 8: np.float32}[data_type]
    w, h = dims[0], dims[1]
    assert steps[0] == np.dtype(dtype).itemsize and steps[1] == w * steps[0]
    pixels = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<"), offset=header_size, count=w * h)
    return pixels.reshape(h, w), frame_number, acq_tag



@pytest.fixture(scope="module")
def stack(tmp_path_factory, request):
    from conftest import DEMO_CONFIG

    s = LimaStack(tmp_path_factory.mktemp("lima_sim"), DEMO_CONFIG, width=W, height=H).up()
    yield s
    s.down()


@pytest.fixture
def cam(stack):
    dev = stack.device(CAM)
    if dev.acq_status == "Running":
        dev.stopAcq()
    dev.reset()
    dev.acq_mode = "SINGLE"
    dev.acq_trigger_mode = "INTERNAL_TRIGGER"
    dev.image_roi = [0, 0, 0, 0]
    dev.image_bin = [1, 1]
    dev.saving_mode = "MANUAL"
    dev.latency_time = 0.0
    return dev


def acquire(cam, nb_frames: int, expo: float, timeout: float = 30.0) -> None:
    cam.acq_nb_frames = nb_frames
    cam.acq_expo_time = expo
    cam.prepareAcq()
    cam.startAcq()
    wait_until(lambda: cam.acq_status != "Running", timeout, "acquisition end")
    assert cam.acq_status == "Ready", cam.acq_status_fault_error


def saving_to(cam, folder, prefix: str, per_file: int = 4) -> None:
    cam.saving_directory = str(folder)
    cam.saving_prefix = prefix
    cam.saving_suffix = ".h5"
    cam.saving_format = "HDF5"
    cam.saving_frame_per_file = per_file
    cam.saving_next_number = 0
    cam.saving_mode = "AUTO_FRAME"


def test_identity_and_enumerations(cam, stack):
    assert cam.lima_type == "Simulator"
    major, minor, patch = (int(x) for x in cam.lima_version.split("."))
    assert (major, minor, patch) >= (1, 9, 23)  # what BLISS requires
    assert list(cam.image_sizes) == [0, 2, W, H]
    assert list(cam.image_max_dim) == [W, H]
    assert "INTERNAL_TRIGGER_MULTI" in cam.getAttrStringValueList("acq_trigger_mode")
    assert "HDF5" in cam.getAttrStringValueList("saving_format")
    roi = cam.getPluginDeviceNameFromType("roicounter")
    bpm = cam.getPluginDeviceNameFromType("bpm")
    assert (roi, bpm) == ("demo/roicounter/cam_sim", "demo/bpm/cam_sim")
    with pytest.raises(tango.DevFailed, match="no 'mask' plugin"):
        cam.getPluginDeviceNameFromType("mask")
    # BLISS reads the server's start date through the database
    db = tango.Database(*stack.tango_host.split(":"))
    assert db.get_device_info(CAM).started_date


def test_read_image_equals_saved_frames(cam, tmp_path):
    saving_to(cam, tmp_path, "frames_", per_file=4)
    cam.user_instrument_name = "bl"
    cam.user_detector_name = "camera"
    acquire(cam, 6, 0.002)
    tag = cam.acq_tag
    assert cam.last_image_saved == 5 and cam.last_counter_ready == 5
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["frames_0000.h5", "frames_0001.h5"]
    assert cam.saving_next_number == 2
    stored = []
    for name in files:
        with h5py.File(tmp_path / name, "r") as f:
            data = f["/entry_0000/bl/camera/data"]
            assert data.dtype == np.uint16 and data.shape[1:] == (H, W)
            assert f["/entry_0000/measurement/data"].shape == data.shape
            stored.extend(data[()])
    assert len(stored) == 6  # the second file holds only the 2 frames acquired
    for i in range(6):
        fmt, raw = cam.readImage(i)
        assert fmt == "DATA_ARRAY"
        frame, number, acq_tag = decode_lima(raw)
        assert number == i and acq_tag == tag
        np.testing.assert_array_equal(frame, stored[i])
    last, number, acq_tag = decode_lima(cam.readImage(-1)[1])
    assert number == 5 and acq_tag == tag
    np.testing.assert_array_equal(last, stored[5])
    # a new acquisition counts from 0 again under a new tag
    saving_to(cam, tmp_path, "again_", per_file=4)
    acquire(cam, 1, 0.001)
    frame, number, acq_tag = decode_lima(cam.readImage(-1)[1])
    assert number == 0 and acq_tag == cam.acq_tag != tag
    with pytest.raises(tango.DevFailed, match="not acquired yet"):
        cam.readImage(1)


def test_exposure_noise_and_frame_timing(cam, stack):
    bpm = stack.device(cam.getPluginDeviceNameFromType("bpm"))
    bpm.Start()
    try:
        acquire(cam, 5, 0.02)
        stamps = bpm.GetResults(0).reshape(-1, 7)[:, 0]
    finally:
        bpm.Stop()
    assert len(stamps) == 5
    # a frame takes its exposure plus the readout: they never come faster
    assert np.all(np.diff(stamps) >= 0.02 + 0.0005 - 1e-3)
    short = decode_lima(cam.readImage(-1)[1])[0].astype(float)
    acquire(cam, 1, 0.2)
    long = decode_lima(cam.readImage(-1)[1])[0].astype(float)
    # background far from the beam: counts grow with the exposure, variance = mean (shot noise)
    corner_s, corner_l = short[-40:, -40:], long[-40:, -40:]
    dark = 100.0
    assert corner_l.mean() - dark == pytest.approx(10 * (corner_s.mean() - dark), rel=0.1)
    assert corner_l.var() == pytest.approx(corner_l.mean(), rel=0.2)
    assert not np.array_equal(short, long)


def test_beam_follows_the_axes(cam, stack):
    m0, m1 = stack.device("demo/axis/m0"), stack.device("demo/axis/m1")
    bpm = stack.device(cam.getPluginDeviceNameFromType("bpm"))
    cam.acq_trigger_mode = "INTERNAL_TRIGGER_MULTI"

    def spot_at(m0_pos: float, m1_pos: float) -> np.ndarray:
        m0.write_attribute("Position", m0_pos)
        m1.write_attribute("Position", m1_pos)
        m0.command_inout("WaitMove")
        m1.command_inout("WaitMove")
        bpm.Start()
        try:
            cam.acq_nb_frames = 1
            cam.acq_expo_time = 0.01
            cam.prepareAcq()
            cam.startAcq()
            wait_until(lambda: cam.acq_status == "Ready", 10, "frame")
            return bpm.GetResults(0).reshape(-1, 7)[-1]
        finally:
            bpm.Stop()

    at_peak = spot_at(2.5, 0.0)
    moved = spot_at(2.5, 10.0)
    off_peak = spot_at(2.5 + 0.6, 10.0)  # half a fwhm away: half the intensity
    dark = spot_at(-8.0, 10.0)
    _, i0, x0, y0, fx, fy, _ = at_peak
    assert x0 == pytest.approx(100, abs=1) and fx == pytest.approx(6 * 2.355, rel=0.15)
    assert moved[2] - x0 == pytest.approx(20.0, abs=1)  # 2 px per unit of m1
    assert moved[3] == pytest.approx(y0, abs=1)
    assert off_peak[1] == pytest.approx(i0 / 2, rel=0.15)
    assert np.isnan(dark[2])  # no beam stands out: no position


def test_roi_counters_equal_numpy_on_saved_frames(cam, stack, tmp_path):
    roi = stack.device(cam.getPluginDeviceNameFromType("roicounter"))
    roi.clearAllRois()
    roi.Start()
    try:
        ids = roi.addNames(["beam", "corner"])
        roi.setRois([ids[0], 90, 70, 25, 20, ids[1], 0, 0, 16, 16])
        assert list(roi.getNames()) == ["beam", "corner"]
        assert list(roi.getRois(["corner"])) == [ids[1], 0, 0, 16, 16]
        saving_to(cam, tmp_path, "roi_", per_file=10)
        acquire(cam, 3, 0.01)
        records = roi.readCounters(0).reshape(-1, 7)
        assert len(roi.readCounters(2)) == 2 * 7
    finally:
        roi.Stop()
    with h5py.File(tmp_path / "roi_0000.h5", "r") as f:
        frames = f["/entry_0000/measurement/data"][()]
    for rid, frame_no, total, avg, std, lo, hi in records:
        x, y, w, h = (90, 70, 25, 20) if rid == ids[0] else (0, 0, 16, 16)
        region = frames[int(frame_no), y:y + h, x:x + w].astype(float)
        assert (total, avg, lo, hi) == (region.sum(), region.mean(), region.min(), region.max())
        assert std == pytest.approx(region.std(), rel=1e-9)
    # a ROI outside the image is refused whole, the others kept
    with pytest.raises(tango.DevFailed, match=r"outside the image 256x192"):
        roi.setRois([ids[0], 250, 0, 10, 10])
    assert list(roi.getRois(["beam"])) == [ids[0], 90, 70, 25, 20]


def test_multi_trigger_change_events(cam):
    got: dict[str, list] = {"last_image_ready": [], "last_image_saved": [], "acq_status": []}
    ids = [cam.subscribe_event(name, tango.EventType.CHANGE_EVENT,
                               lambda ev, n=name: None if ev.err else got[n].append(ev.attr_value.value))
           for name in got]
    try:
        cam.acq_trigger_mode = "INTERNAL_TRIGGER_MULTI"
        cam.acq_nb_frames = 3
        cam.acq_expo_time = 0.005
        cam.prepareAcq()
        # the subscription's first event holds the previous acquisition's last frame: wait for
        # prepareAcq's reset (-1) before taking a frame event as this acquisition's
        wait_until(lambda: got["last_image_ready"][-1] == -1, 5, "prepareAcq's reset event")
        for i in range(3):  # as BLISS triggers: once the camera is ready for the next image
            wait_until(lambda: cam.ready_for_next_image, 5, "ready_for_next_image")
            cam.startAcq()
            wait_until(lambda i=i: cam.last_image_acquired >= i, 5, f"frame {i}")
        # the last values always reach the clients, whatever the rate limit held back
        wait_until(lambda: got["last_image_ready"][-1:] == [2] and got["last_image_saved"][-1:] == [-1]
                   and got["acq_status"][-1:] == ["Ready"], 5, "events of the last frame")
        assert "Running" in got["acq_status"]
        with pytest.raises(tango.DevFailed, match="were all triggered|prepareAcq first"):
            cam.startAcq()
    finally:
        for i in ids:
            cam.unsubscribe_event(i)


def test_frames_asked_for_one_by_one_are_announced_at_once_whatever_the_event_rate(stack, cam):
    """INTERNAL_TRIGGER_MULTI: a client asks for each frame and waits for it (a step scan's
    point), so its events are pushed at once, not held to EventRate (at 100/s a step scan
    waited up to 10 ms per point for them). Here EventRate allows one event per 1000 s."""
    host, port = stack.tango_host.split(":")
    db = tango.Database(host, int(port))
    db.put_device_property(CAM, {"EventRate": ["0.001"]})
    cam.Init()
    got: list[int] = []
    eid = cam.subscribe_event("last_image_acquired", tango.EventType.CHANGE_EVENT,
                              lambda ev: None if ev.err else got.append(int(ev.attr_value.value)))
    try:
        cam.acq_trigger_mode = "INTERNAL_TRIGGER_MULTI"
        cam.acq_nb_frames = 4
        cam.acq_expo_time = 0.001
        # cppTango does not promise the events pushed just after subscribing: prepareAcq
        # (its reset to -1 is pushed) until one reaches this client
        for _ in range(10):
            seen = len(got)
            cam.prepareAcq()
            try:
                wait_until(lambda seen=seen: len(got) > seen, 2, "prepareAcq's event")
                break
            except TimeoutError:
                continue
        for i in range(4):
            wait_until(lambda: cam.ready_for_next_image, 5, "ready_for_next_image")
            cam.startAcq()
            wait_until(lambda i=i: i in got, 10, f"the event of frame {i} (got {got})")
    finally:
        cam.unsubscribe_event(eid)
        db.delete_device_property(CAM, "EventRate")
        cam.Init()


def test_accumulation_video_and_binning(cam):
    cam.acq_mode = "ACCUMULATION"
    cam.acc_max_expo_time = 0.01
    acquire(cam, 1, 0.03)
    assert cam.acc_nb_frames == 3
    assert list(cam.image_sizes) == [0, 4, W, H]
    frame, _, _ = decode_lima(cam.readImage(-1)[1])
    assert frame.dtype == np.uint32
    cam.acq_mode = "SINGLE"
    cam.image_bin = [2, 2]
    cam.image_roi = [10, 20, 50, 40]
    assert list(cam.image_sizes) == [0, 2, 50, 40]
    acquire(cam, 1, 0.01)
    fmt, video = cam.video_last_image
    assert fmt == "VIDEO_IMAGE"
    magic, _v, mode, number, w, h, endian, header = struct.unpack_from("!IHHqiiHH", video)
    assert (magic, mode, number, w, h, endian, header) == (0x5644454F, 1, 0, 50, 40, 0, 32)
    pixels = np.frombuffer(video, dtype="<u2", offset=32).reshape(h, w)
    np.testing.assert_array_equal(pixels, decode_lima(cam.readImage(0)[1])[0])
    # live video: continuous frames until switched off
    cam.video_exposure = 0.005
    cam.video_live = True
    try:
        first = cam.video_last_image_counter
        wait_until(lambda: cam.video_last_image_counter >= first + 3, 5, "live frames")
    finally:
        cam.video_live = False
    wait_until(lambda: cam.acq_status == "Ready", 5, "live stopped")


def test_bad_input_is_refused_naming_the_parameter(cam, tmp_path):
    for attr, value, text in (("acq_trigger_mode", "SOMETIMES", "acq_trigger_mode 'SOMETIMES' is not one of"),
                              ("acq_expo_time", -0.1, "below the camera's minimum"),
                              ("acq_expo_time", 0.0, "below the camera's minimum"),
                              ("image_roi", [200, 0, 100, 10], "outside the image 256x192"),
                              ("acq_mode", "CONCATENATION", "SINGLE, ACCUMULATION")):
        with pytest.raises(tango.DevFailed, match=text):
            cam.write_attribute(attr, value)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    saving_to(cam, blocker / "images", "x_")  # even root cannot make a folder inside a file
    cam.acq_nb_frames = 1
    with pytest.raises(tango.DevFailed, match="saving_directory .* cannot be created"):
        cam.prepareAcq()
    assert cam.acq_status == "Ready"
    with pytest.raises(tango.DevFailed, match="prepareAcq first"):
        cam.startAcq()
