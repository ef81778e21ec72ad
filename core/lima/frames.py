"""Lima's two frame encodings on the wire: DATA_ARRAY (readImage) and VIDEO_IMAGE
(video_last_image), encoder and decoder for each.

DATA_ARRAY, header version 4: 80 bytes, little-endian, then the pixels in C order
(height rows of width pixels). Version 4 adds the frame number and an acquisition tag,
so a reader can tell which acquisition a frame belongs to (Lima-tango-python issue 69)::

    magic u32 0x44544159 | version u16 | header_size u16 | category u32 | data_type u32 |
    endianness u16 | nb_dim u16 | dim u16[6] | dim_step u32[6] | frame u64 | acq_tag u64 |
    padding u32[2]

VIDEO_IMAGE: 32 bytes, big-endian, then the pixels::

    magic u32 0x5644454F | version u16 | image_mode u16 | frame i64 | width i32 |
    height i32 | endianness u16 | header_size u16 | padding u16[2]
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

DATA_ARRAY = "DATA_ARRAY"
VIDEO_IMAGE = "VIDEO_IMAGE"

DATA_MAGIC = 0x44544159
DATA_HEADER = struct.Struct("<IHHIIHH6H6IQQII")
DATA_VERSION = 4
CATEGORY_IMAGE = 2

VIDEO_MAGIC = 0x5644454F
VIDEO_HEADER = struct.Struct("!IHHqiiHHHH")
VIDEO_VERSION = 1

#: Lima's DATA_ARRAY data_type codes
DATA_TYPES = {0: np.uint8, 1: np.uint16, 2: np.uint32, 3: np.uint64, 4: np.int8, 5: np.int16,
              6: np.int32, 7: np.int64, 8: np.float32, 9: np.float64}
_DATA_CODES = {np.dtype(t).str[1:]: code for code, t in DATA_TYPES.items()}  # "u2" -> 1

#: Lima's VIDEO_IMAGE image modes (grey levels only: the simulator makes no colour frames)
VIDEO_MODES = {0: np.uint8, 1: np.uint16, 2: np.uint32, 3: np.uint64}
_VIDEO_CODES = {np.dtype(t).str[1:]: code for code, t in VIDEO_MODES.items()}

assert DATA_HEADER.size == 80 and VIDEO_HEADER.size == 32


class FrameFormatError(ValueError):
    """Bytes that are not a frame of the announced format."""


@dataclass(frozen=True)
class FrameHeader:
    frame_number: int
    acq_tag: int
    dtype: np.dtype
    width: int
    height: int
    header_size: int
    version: int


def encode_data_array(frame: np.ndarray, frame_number: int, acq_tag: int = 0) -> bytearray:
    """The bytes of readImage's ("DATA_ARRAY", bytes) for a 2D frame (height, width)."""
    if frame.ndim != 2:
        raise FrameFormatError(f"a DATA_ARRAY image is 2D, got shape {frame.shape}")
    code = _DATA_CODES.get(frame.dtype.str[1:])
    if code is None:
        raise FrameFormatError(f"Lima has no DATA_ARRAY type for {frame.dtype}")
    h, w = frame.shape
    size = frame.dtype.itemsize
    header = DATA_HEADER.pack(DATA_MAGIC, DATA_VERSION, DATA_HEADER.size, CATEGORY_IMAGE, code, 0, 2,
                              w, h, 0, 0, 0, 0, size, size * w, 0, 0, 0, 0,
                              int(frame_number), int(acq_tag), 0, 0)
    return _assemble(header, frame)


def decode_data_array(data: bytes | bytearray | memoryview) -> tuple[np.ndarray, FrameHeader]:
    """(frame (height, width), header) from DATA_ARRAY bytes; FrameFormatError if they
    are not one."""
    buf = memoryview(data).cast("B")
    if len(buf) < DATA_HEADER.size:
        raise FrameFormatError(f"DATA_ARRAY of {len(buf)} bytes is shorter than its 80-byte header")
    (magic, version, header_size, category, data_type, endianness, nb_dim, *rest) = DATA_HEADER.unpack_from(buf)
    dims, steps = rest[0:6], rest[6:12]
    frame_number, acq_tag = rest[12], rest[13]
    if magic != DATA_MAGIC:
        raise FrameFormatError(f"DATA_ARRAY magic is {magic:#x}, not {DATA_MAGIC:#x}")
    if version < 2:
        raise FrameFormatError(f"DATA_ARRAY header version {version} is not supported (>= 2)")
    if version < 4:
        frame_number = acq_tag = -1  # older headers carry no identity
    if endianness != 0:
        raise FrameFormatError("DATA_ARRAY is big-endian: only little-endian frames are read")
    if category != CATEGORY_IMAGE or nb_dim != 2:
        raise FrameFormatError(f"DATA_ARRAY category {category} with {nb_dim} dimensions is not an image")
    if data_type not in DATA_TYPES:
        raise FrameFormatError(f"DATA_ARRAY data_type {data_type} is unknown")
    dtype = np.dtype(DATA_TYPES[data_type]).newbyteorder("<")
    w, h = dims[0], dims[1]
    if steps[0] not in (0, dtype.itemsize):
        raise FrameFormatError(f"DATA_ARRAY pixel step {steps[0]} for {dtype}")
    need = header_size + w * h * dtype.itemsize
    if len(buf) < need:
        raise FrameFormatError(f"DATA_ARRAY holds {len(buf)} bytes, its header announces {need}")
    frame = np.frombuffer(buf, dtype=dtype, count=w * h, offset=header_size).reshape(h, w)
    return frame, FrameHeader(frame_number, acq_tag, dtype, w, h, header_size, version)


def encode_video_image(frame: np.ndarray, frame_number: int) -> bytearray:
    """The bytes of video_last_image's ("VIDEO_IMAGE", bytes); frame_number -1 = none yet."""
    if frame.ndim != 2:
        raise FrameFormatError(f"a VIDEO_IMAGE is 2D, got shape {frame.shape}")
    mode = _VIDEO_CODES.get(frame.dtype.str[1:])
    if mode is None:
        raise FrameFormatError(f"Lima has no grey VIDEO_IMAGE mode for {frame.dtype}")
    h, w = frame.shape
    header = VIDEO_HEADER.pack(VIDEO_MAGIC, VIDEO_VERSION, mode, int(frame_number), w, h, 0,
                               VIDEO_HEADER.size, 0, 0)
    return _assemble(header, frame)


def _assemble(header: bytes, frame: np.ndarray) -> bytearray:
    """Header then little-endian pixels in one buffer, the pixels copied once."""
    out = bytearray(len(header) + frame.nbytes)
    out[:len(header)] = header
    dest = np.frombuffer(out, dtype=frame.dtype.newbyteorder("<"), offset=len(header)).reshape(frame.shape)
    dest[...] = frame
    return out


def decode_video_image(data: bytes | bytearray | memoryview) -> tuple[np.ndarray, int]:
    """(frame (height, width), frame number) from VIDEO_IMAGE bytes; frame number -1 and
    an empty frame when the camera has none yet."""
    buf = memoryview(data).cast("B")
    if len(buf) < VIDEO_HEADER.size:
        raise FrameFormatError(f"VIDEO_IMAGE of {len(buf)} bytes is shorter than its 32-byte header")
    magic, _version, mode, frame_number, w, h, endianness, header_size, _p1, _p2 = VIDEO_HEADER.unpack_from(buf)
    if magic != VIDEO_MAGIC:
        raise FrameFormatError(f"VIDEO_IMAGE magic is {magic:#x}, not {VIDEO_MAGIC:#x}")
    if endianness != 0:
        raise FrameFormatError("VIDEO_IMAGE is big-endian: only little-endian frames are read")
    if mode not in VIDEO_MODES:
        raise FrameFormatError(f"VIDEO_IMAGE mode {mode} is not a grey-level mode")
    dtype = np.dtype(VIDEO_MODES[mode]).newbyteorder("<")
    need = header_size + w * h * dtype.itemsize
    if len(buf) < need:
        raise FrameFormatError(f"VIDEO_IMAGE holds {len(buf)} bytes, its header announces {need}")
    frame = np.frombuffer(buf, dtype=dtype, count=w * h, offset=header_size).reshape(h, w)
    return frame, frame_number


#: image_type strings of Lima and their numpy types (what the simulator offers)
IMAGE_TYPES = {"Bpp8": np.uint8, "Bpp16": np.uint16, "Bpp32": np.uint32,
               "Bpp8S": np.int8, "Bpp16S": np.int16, "Bpp32S": np.int32, "Bpp32F": np.float32}


def image_sizes(dtype: np.dtype, width: int, height: int) -> list[int]:
    """Lima's image_sizes attribute: [signed, bytes per pixel, width, height]."""
    dt = np.dtype(dtype)
    return [int(dt.kind in "if"), dt.itemsize, int(width), int(height)]


def dtype_of_sizes(signed: int, depth: int, image_type: str | None = None) -> np.dtype:
    """numpy type of frames whose image_sizes start with (signed, depth); image_type
    tells a float from an integer of the same size."""
    if image_type and image_type in IMAGE_TYPES:
        return np.dtype(IMAGE_TYPES[image_type])
    kind = "i" if signed else "u"
    return np.dtype(f"{kind}{int(depth)}")
