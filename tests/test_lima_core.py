"""core/lima without Tango: frame encodings, image geometry, ROI and BPM computations, the
camera description, and an acquisition saved to HDF5 by the detector's threads."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from blisstango.core.lima.camera import BeamModel, CameraConfig, FrameMaker, Geometry
from blisstango.core.lima.control import LimaControl, LimaError
from blisstango.core.lima.frames import (
    FrameFormatError,
    decode_data_array,
    decode_video_image,
    encode_data_array,
    encode_video_image,
)
from blisstango.core.lima.processing import Roi, beam_position, roi_stats


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.int32, np.float32])
def test_frame_encodings_round_trip(dtype):
    frame = (np.arange(35).reshape(5, 7) * 3).astype(dtype)
    out, header = decode_data_array(bytes(encode_data_array(frame, 12, 99)))
    np.testing.assert_array_equal(out, frame)
    assert (header.frame_number, header.acq_tag, header.width, header.height) == (12, 99, 7, 5)
    if np.dtype(dtype).itemsize <= 4 and np.dtype(dtype).kind == "u":
        video, number = decode_video_image(bytes(encode_video_image(frame, 3)))
        np.testing.assert_array_equal(video, frame)
        assert number == 3


def test_decoders_refuse_what_is_not_a_frame():
    data = bytearray(encode_data_array(np.zeros((2, 2), np.uint16), 0))
    with pytest.raises(FrameFormatError, match="shorter than its 80-byte header"):
        decode_data_array(data[:40])
    with pytest.raises(FrameFormatError, match="header announces"):
        decode_data_array(data[:-1])
    data[0] = 0
    with pytest.raises(FrameFormatError, match="magic"):
        decode_data_array(data)
    video = bytearray(encode_video_image(np.zeros((2, 2), np.uint16), 0))
    video[25] = 1  # endianness field (big-endian u16 at bytes 24-25)
    with pytest.raises(FrameFormatError, match="big-endian"):
        decode_video_image(video)


def test_geometry_as_lima_applies_it():
    raw = np.arange(24, dtype=np.float32).reshape(4, 6)
    binned = Geometry(bin=(2, 2)).apply(raw)
    assert binned.shape == (2, 3) and binned[0, 0] == raw[:2, :2].sum()
    turned = Geometry(rotation="90").apply(raw)
    np.testing.assert_array_equal(turned, np.rot90(raw, -1))  # clockwise
    assert Geometry(rotation="90").full_size(6, 4) == (4, 6)
    flipped = Geometry(flip=(True, False), roi=(1, 0, 2, 3)).apply(raw)
    np.testing.assert_array_equal(flipped, raw[:, ::-1][0:3, 1:3])


def test_roi_stats_and_checks():
    frame = np.random.default_rng(1).integers(0, 1000, (20, 30)).astype(np.uint16)
    total, avg, std, lo, hi = roi_stats(frame, Roi(3, 4, 10, 5))
    region = frame[4:9, 3:13].astype(float)
    assert (total, avg, lo, hi) == (region.sum(), region.mean(), region.min(), region.max())
    assert std == pytest.approx(region.std())
    with pytest.raises(ValueError, match=r"ROI r1 \[25, 0, 10, 5\] is outside the image 30x20"):
        Roi(25, 0, 10, 5).check("r1", 30, 20)


def test_beam_position_finds_the_spot():
    maker = FrameMaker(200, 100, BeamModel(x=120.0, y=40.0, sigma_x=5.0, sigma_y=3.0, flux=1e8,
                                           background=500.0), seed=3)
    frame = maker.frame({}, 0.01, Geometry(), np.uint16)
    intensity, x, y, fx, fy = beam_position(frame)
    assert x == pytest.approx(120, abs=0.5) and y == pytest.approx(40, abs=0.5)
    assert fx == pytest.approx(5 * 2.355, rel=0.1) and fy == pytest.approx(3 * 2.355, rel=0.1)
    assert intensity == pytest.approx(1e8 * 0.01, rel=0.05)
    dark = FrameMaker(200, 100, BeamModel(x=120.0, y=40.0, flux=0.0), seed=3).frame({}, 0.01, Geometry(), np.uint16)
    assert np.isnan(beam_position(dark)[1])


def test_camera_config_errors_name_the_key():
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['colour'\]"):
        CameraConfig.from_config({"colour": "red"})
    with pytest.raises(ValueError, match="beam.follow: 'zoom' cannot follow an axis"):
        CameraConfig.from_config({"beam": {"follow": {"zoom": {"axis": "m0"}}}})
    with pytest.raises(ValueError, match="image_type 'Bpp7'"):
        CameraConfig.from_config({"image_type": "Bpp7"})


def test_saved_acquisition_in_threads(tmp_path):
    ctl = LimaControl(CameraConfig.from_config({"width": 64, "height": 48}), seed=2)
    ctl.set("acq_nb_frames", 7)
    ctl.set("acq_expo_time", 0.001)
    for name, value in (("directory", tmp_path), ("prefix", "t_"), ("frame_per_file", 3), ("mode", "AUTO_FRAME")):
        ctl.set_saving(name, value)
    ctl.prepare()
    ctl.start()
    ctl.stop(wait=False)  # may cut the acquisition short: whatever was acquired is saved
    ctl._thread.join(10)
    assert ctl.acq_status == "Ready", ctl.acq_status_fault_error
    n = ctl.last_image_saved + 1
    assert n == ctl.last_image_acquired + 1
    frames = []
    for path in ctl.saved_files:
        with h5py.File(path, "r") as f:
            frames.extend(f["/entry_0000/instrument/simulator/data"][()])
    assert len(frames) == n
    if n:
        np.testing.assert_array_equal(frames[-1], ctl.read_image(-1)[0])
    with pytest.raises(LimaError, match="call prepareAcq first"):
        ctl.start()
