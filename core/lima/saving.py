"""Frames saved the way Lima saves them: HDF5 files of `frame_per_file` frames named
<directory>/<prefix><index><suffix>, the frames in /entry_0000/<instrument>/<detector>/data
(also /entry_0000/measurement/data), written at disk speed.

Each file is created complete by h5py first (groups, metadata, and the frame dataset
allocated at its final size, one chunk per frame) and closed; the frames are then
written with pwrite at their chunk's offset, which releases the GIL and costs what the
page cache costs. A process killed mid-file thus leaves a valid HDF5 file holding every
frame written so far (the frames never written read as zeros). A file the acquisition
leaves short is cut to the frames it holds. Finished files are flushed to disk
(fdatasync) by a thread of their own while the next file is written.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

import h5py
import numpy as np

from .threads import SimpleQueue

FORMATS = ("HDF5",)
SUFFIXES = {"HDF5": ".h5"}
MODES = ("MANUAL", "AUTO_FRAME")
MANAGED_MODES = ("SOFTWARE",)
OVERWRITE_POLICIES = ("ABORT", "OVERWRITE")


class SavingError(RuntimeError):
    """Saving cannot go on (a file that cannot be created or written)."""


@dataclass
class SavingParams:
    directory: str = ""
    prefix: str = ""
    suffix: str = ".h5"
    format: str = "HDF5"
    next_number: int = 0
    frame_per_file: int = 100
    mode: str = "MANUAL"
    managed_mode: str = "SOFTWARE"
    index_format: str = "%04d"
    overwrite_policy: str = "ABORT"

    def path(self, number: int) -> str:
        return os.path.join(self.directory, f"{self.prefix}{self.index_format % number}{self.suffix}")


@dataclass
class FileMeta:
    """What a Lima file records besides the frames."""
    instrument: str = "instrument"
    detector: str = "simulator"
    acquisition: dict = field(default_factory=dict)
    detector_information: dict = field(default_factory=dict)
    image_operation: dict = field(default_factory=dict)


def files_needed(nb_frames: int, per_file: int) -> int:
    return -(-nb_frames // per_file) if nb_frames > 0 else 1


def check_saving(params: SavingParams, nb_frames: int) -> None:
    """Refuse, before anything starts, what saving could not do: an unknown format or mode,
    a directory that cannot be made or written, files that exist under policy ABORT."""
    if params.format not in FORMATS:
        raise SavingError(f"saving_format {params.format!r} is not one of {FORMATS}")
    if params.mode not in MODES:
        raise SavingError(f"saving_mode {params.mode!r} is not one of {MODES}")
    if params.mode == "MANUAL":
        return
    if params.frame_per_file < 1:
        raise SavingError(f"saving_frame_per_file {params.frame_per_file} must be >= 1")
    if not params.directory:
        raise SavingError("saving_directory is empty: set it before saving in AUTO_FRAME mode")
    try:
        os.makedirs(params.directory, exist_ok=True)
    except OSError as exc:
        raise SavingError(f"saving_directory {params.directory!r} cannot be created: {exc.strerror}") from None
    if not os.access(params.directory, os.W_OK | os.X_OK):
        raise SavingError(f"saving_directory {params.directory!r} is not writable")
    try:
        params.index_format % 0
    except (TypeError, ValueError):
        raise SavingError(f"saving_index_format {params.index_format!r} is not a printf integer "
                          "format such as %04d") from None
    if params.overwrite_policy == "ABORT":
        for k in range(files_needed(nb_frames, params.frame_per_file)):
            path = params.path(params.next_number + k)
            if os.path.exists(path):
                raise SavingError(f"saving: {path} exists and saving_overwrite_policy is ABORT")


class _File:
    """One Lima file being filled: its path, its frame offsets, its open descriptor."""

    def __init__(self, path: str, offsets: list[int], frames: int) -> None:
        self.path = path
        self.offsets = offsets
        self.frames = frames
        self.written = 0
        self.fd = os.open(path, os.O_WRONLY)


class HdfSaver:
    """Writes the frames of one acquisition, in order, into Lima-layout HDF5 files."""

    def __init__(self, params: SavingParams, nb_frames: int, shape: tuple[int, int], dtype,
                 meta: FileMeta) -> None:
        self.params = params
        self.nb_frames = int(nb_frames)
        self.shape = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self.meta = meta
        self.per_file = int(params.frame_per_file)
        self.first_number = int(params.next_number)
        self._file: _File | None = None
        self._file_index = -1
        self.saved = 0  # frames written (page cache) so far
        self.paths: list[str] = []
        self._sync_queue = SimpleQueue()
        self._syncer = threading.Thread(target=self._sync_loop, name="lima-fsync", daemon=True)
        self._syncer.start()
        self._sync_error: BaseException | None = None

    @property
    def data_path(self) -> str:
        return f"/entry_0000/{self.meta.instrument}/{self.meta.detector}/data"

    def file_of(self, frame: int) -> tuple[str, int]:
        """(file path, index in that file) where a frame of this acquisition is saved."""
        k, i = divmod(frame, self.per_file)
        return self.params.path(self.first_number + k), i

    def write(self, frame_number: int, frame: np.ndarray) -> None:
        k, i = divmod(frame_number, self.per_file)
        if k != self._file_index:
            self._finish_file(short=False)
            self._open(k)
        f = self._file
        data = memoryview(np.ascontiguousarray(frame)).cast("B")
        try:
            n = os.pwrite(f.fd, data, f.offsets[i])
            if n != len(data):
                raise OSError(28, f"short write ({n} of {len(data)} bytes)")
        except OSError as exc:
            raise SavingError(f"saving frame {frame_number} into {f.path}: {exc}") from None
        f.written = max(f.written, i + 1)
        self.saved += 1
        if f.written == f.frames:
            self._finish_file(short=False)

    def _open(self, k: int) -> None:
        if self._sync_error is not None:
            raise SavingError(str(self._sync_error))
        path = self.params.path(self.first_number + k)
        left = self.nb_frames - k * self.per_file if self.nb_frames > 0 else self.per_file
        frames = min(self.per_file, left)
        try:
            offsets = self._create(path, frames)
            self._file = _File(path, offsets, frames)
        except OSError as exc:
            raise SavingError(f"saving: cannot create {path}: {exc}") from None
        self._file_index = k
        self.paths.append(path)

    def _create(self, path: str, frames: int) -> list[int]:
        h, w = self.shape
        if self.params.overwrite_policy != "ABORT" and os.path.exists(path):
            os.unlink(path)
        with h5py.File(path, "x", libver=("v110", "latest"), locking=False) as f:
            f.attrs["NX_class"] = "NXroot"
            f.attrs["creator"] = "blisstango LimaSimulator"
            entry = f.create_group("entry_0000")
            entry.attrs["NX_class"] = "NXentry"
            entry["start_time"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            inst = entry.create_group(self.meta.instrument)
            inst.attrs["NX_class"] = "NXinstrument"
            det = inst.create_group(self.meta.detector)
            det.attrs["NX_class"] = "NXdetector"
            for group, values in (("acquisition", self.meta.acquisition),
                                  ("detector_information", self.meta.detector_information),
                                  ("image_operation", self.meta.image_operation)):
                g = det.create_group(group)
                g.attrs["NX_class"] = "NXcollection"
                for key, value in values.items():
                    g[key] = value
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_chunk((1, h, w))
            dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
            dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
            space = h5py.h5s.create_simple((frames, h, w), (h5py.h5s.UNLIMITED, h, w))
            tid = h5py.h5t.py_create(self.dtype.newbyteorder("<"), logical=True)
            dsid = h5py.h5d.create(det.id, b"data", tid, space, dcpl=dcpl)
            ds = h5py.Dataset(dsid)
            ds.attrs["interpretation"] = "image"
            offsets = [ds.id.get_chunk_info(i).byte_offset for i in range(frames)]
            meas = entry.create_group("measurement")
            meas.attrs["NX_class"] = "NXcollection"
            meas["data"] = ds
            plot = entry.create_group("plot")
            plot.attrs["NX_class"] = "NXdata"
            plot.attrs["signal"] = "data"
            plot["data"] = ds
            entry.attrs["default"] = "plot"
            f.attrs["default"] = "entry_0000"
        return offsets

    def _finish_file(self, short: bool) -> None:
        f = self._file
        if f is None:
            return
        self._file = None
        if short and f.written < f.frames:
            os.close(f.fd)
            with h5py.File(f.path, "r+", locking=False) as h5:
                h5[self.data_path].resize((f.written, *self.shape))
            f.fd = os.open(f.path, os.O_WRONLY)
        self._sync_queue.put(f.fd)

    def _sync_loop(self) -> None:
        while True:
            fd = self._sync_queue.get()
            if fd is None:
                return
            try:
                os.fdatasync(fd)
            except OSError as exc:
                self._sync_error = exc
            finally:
                os.close(fd)

    def close(self) -> None:
        """Cut the last file to the frames written, flush every file to disk."""
        try:
            self._finish_file(short=True)
        finally:
            self._sync_queue.put(None)
            self._syncer.join()
        self.params.next_number = self.first_number + len(self.paths)
        if self._sync_error is not None:
            raise SavingError(f"saving: flushing to disk failed: {self._sync_error}")
