"""Open dataset files for writing, recovering from a writer that was killed.

Data are streamed in SWMR mode: HDF5 then orders its metadata writes so that the file on
disk is consistent at every instant, and readers (`h5py.File(path, "r", swmr=True)`) see
new points while the scan runs. A killed SWMR writer leaves two marks that make HDF5
refuse to reopen the file: the "open for write" status flags in the superblock and a
stale end-of-allocation address. `h5clear -s -i` removes both; the HDF5 library bundled
with h5py exposes the same operations (file access properties `clear_status_flags`,
`skip_eof_check` and `H5Fincrement_filesize`), which `recover()` calls through ctypes.
"""

from __future__ import annotations

import ctypes
import errno
import glob
import logging
import os
from functools import cache

import h5py
from h5py import h5f, h5p

log = logging.getLogger(__name__)


@cache
def _libhdf5() -> ctypes.CDLL:
    """The very libhdf5 that h5py uses (wheel-vendored, else the system one h5py links)."""
    here = os.path.dirname(h5py.__file__)
    candidates = glob.glob(os.path.join(here, "..", "h5py.libs", "libhdf5-*.so*"))
    candidates += glob.glob(os.path.join(here, ".dylibs", "libhdf5*.dylib"))
    if not candidates:
        from h5py import h5  # noqa: F401 - loaded: its libhdf5 is in the process already

        return ctypes.CDLL(None)
    return ctypes.CDLL(sorted(c for c in candidates if "_hl" not in c)[0])


def recover(path: str) -> None:
    """Clear the marks a killed writer left in `path` (what `h5clear -s -i 0` does)."""
    lib = _libhdf5()
    fapl = h5p.create(h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5f.LIBVER_LATEST, h5f.LIBVER_LATEST)
    yes = ctypes.c_bool(True)
    for prop in (b"clear_status_flags", b"skip_eof_check"):
        if lib.H5Pset(ctypes.c_int64(fapl.id), prop, ctypes.byref(yes)) < 0:
            raise OSError(f"{path}: HDF5 refused the file access property {prop.decode()}")
    fid = h5f.open(os.fsencode(path), h5f.ACC_RDWR, fapl=fapl)
    try:
        if lib.H5Fincrement_filesize(ctypes.c_int64(fid.id), ctypes.c_uint64(0)) < 0:
            raise OSError(f"{path}: HDF5 could not extend the end of allocation to the file size")
    finally:
        fid.close()


def open_for_write(path: str) -> h5py.File:
    """The dataset file in append mode (created with its folders if missing), recovered
    first when a previous writer died with it open. File locking is off: a reader that
    opened the file must never block the writer."""
    folder = os.path.dirname(path)
    if folder:
        try:
            os.makedirs(folder, exist_ok=True)
        except FileExistsError:  # a file where a folder should be: say so plainly
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), folder) from None
    try:
        return h5py.File(path, "a", libver="latest", locking=False)
    except OSError as exc:
        if not os.path.exists(path) or "already open for" not in str(exc):
            raise
    recover(path)
    log.warning("%s: recovered after a writer died with it open", path)
    return h5py.File(path, "a", libver="latest", locking=False)
