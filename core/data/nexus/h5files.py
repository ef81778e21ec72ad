"""Open dataset files for writing, recovering from a writer that was killed.

Data are streamed in SWMR mode: HDF5 then orders its metadata writes so that the file on
disk is consistent at every instant, and readers (`h5py.File(path, "r", swmr=True)`) see
new points while the scan runs. A killed SWMR writer leaves two marks that make HDF5
refuse to reopen the file: the "open for write" status flags in the superblock and a
stale end-of-allocation address. `h5clear -s -i` removes both; the HDF5 library bundled
with h5py exposes the same operations (file access properties `clear_status_flags`,
`skip_eof_check` and `H5Fincrement_filesize`), which `recover()` calls through ctypes.

Outside SWMR mode (creating a file or an entry, finishing an entry) HDF5 writes its
metadata in no particular order, so a writer killed there can leave a link to an object
header that was never written. `unreadable()` finds such an entry and `rewrite_without()`
drops it (HDF5 cannot unlink an object whose header it cannot read) so the writer can
write it again from the data Redis; a file killed before its root group was ever written
holds nothing and is started afresh.
"""

from __future__ import annotations

import ctypes
import errno
import glob
import logging
import os
import shutil
import time
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
    first when a previous writer died with it open, started again when that writer died
    before writing its root group. File locking is off: a reader that opened the file
    must never block the writer. OSError naming the file and what HDF5 said when it
    cannot be opened even so."""
    folder = os.path.dirname(path)
    if folder:
        try:
            os.makedirs(folder, exist_ok=True)
        except FileExistsError:  # a file where a folder should be: say so plainly
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), folder) from None
    try:
        f = h5py.File(path, "a", libver="latest", locking=False)
    except OSError as exc:
        if not os.path.exists(path):
            raise
        f = _reopen(path, exc)
    try:
        len(f)  # the root group's header; a file recovered without it opens all the same
    except (KeyError, OSError, RuntimeError) as exc:
        f.close()
        if state := root_never_written(path):
            return _start_again(path, exc, state)
        raise OSError(f"{path}: the root group cannot be read: {_said(exc)}") from exc
    return f


def _reopen(path: str, first: OSError) -> h5py.File:
    """The file HDF5 refused to open (`first`), once the marks of a killed writer are gone."""
    if state := root_never_written(path):
        return _start_again(path, first, state)
    if not any(mark in str(first) for mark in _KILLED_WRITER_MARKS):
        raise OSError(f"{path}: HDF5 cannot open the file: {first}") from first
    try:
        recover(path)
        f = h5py.File(path, "a", libver="latest", locking=False)
    except OSError as exc:
        raise OSError(f"{path}: HDF5 cannot open the file, even after clearing the marks of a writer "
                      f"killed with it open ({first}): {exc}") from exc
    log.warning("%s: recovered after a writer died with it open", path)
    return f


def _start_again(path: str, why: Exception, state: str) -> h5py.File:
    """A new file in place of one whose root group was never written (`state`, from
    root_never_written: nothing in it can be reached, and its scan is still in the data
    Redis). A file that holds more than its superblock is kept aside, not deleted."""
    if state == "empty":
        os.remove(path)
        kept = "it held nothing else and is started again"
    else:
        aside = f"{path}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}"
        os.replace(path, aside)
        kept = f"its bytes are kept as {aside}, and a new file is started"
    log.warning("%s: the writer that created it was killed before writing its root group (%s): %s",
                path, _said(why), kept)
    return h5py.File(path, "a", libver="latest", locking=False)


_UNFREED: list[str] = []


def unfreed() -> list[str]:
    """Files HDF5 could not free after a failed write, in this process: its HDF5 library
    may crash at a later call (docs/crashes.md), so a writer process restarts once idle."""
    return list(_UNFREED)


def abandon(f: h5py.File) -> None:
    """Close a file whose writes fail (full disk, I/O error) without HDF5 trying them
    again. HDF5 2.0 cannot close such a file: the close fails on the same write, leaves its
    objects half freed, and the process crashes later in another HDF5 call
    (docs/crashes.md). So the file's descriptor is first pointed at an anonymous in-memory
    file: the close writes its cache there, and the file on disk stays as a writer killed
    at the failure would leave it (open_for_write recovers it). When HDF5 fails even so (a
    failed metadata flush leaves it unable to flush again), the file is named in
    unfreed() and the error raised."""
    try:
        fd = f.id.get_vfd_handle()
    except (ValueError, RuntimeError, OSError):  # already closed, or not a plain POSIX file
        fd = None
    name = f.filename if fd is not None else "?"
    if fd is not None:
        scratch = os.memfd_create("abandoned-hdf5")
        try:
            os.ftruncate(scratch, os.fstat(fd).st_size)  # sparse: costs no memory
            os.dup2(scratch, fd)
        finally:
            os.close(scratch)
    try:
        f.close()
    except Exception:
        _UNFREED.append(name)
        raise


def creating_path(path: str) -> str:
    """Where a new dataset file is written until its first flush (hidden, same folder)."""
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.creating")


_KILLED_WRITER_MARKS = ("already open for", "truncated file")
_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def root_never_written(path: str) -> str | None:
    """For an HDF5 file (superblock version 2 or 3, as libver "latest" writes) whose root
    group object header was never written, because the writer that created it was killed
    before its first flush: "empty" when the file ends before that header (it holds the
    superblock alone), "zeros" when the header's place is still zeros; else None."""
    with open(path, "rb") as fh:
        head = fh.read(64)
        if not head.startswith(_SIGNATURE) or len(head) < 12 or head[8] not in (2, 3):
            return None
        size = head[9]
        if len(head) < 12 + 4 * size:
            return None
        base = int.from_bytes(head[12:12 + size], "little")
        root = base + int.from_bytes(head[12 + 3 * size:12 + 4 * size], "little")
        if root >= os.path.getsize(path):
            return "empty"
        fh.seek(root)
        return None if any(fh.read(4)) else "zeros"  # 'OHDR' once written


def unreadable(f: h5py.File, name: str) -> str | None:
    """Why the object `name` of `f`, or something under it, cannot be read ('<path>:
    <what HDF5 said>'); None when all of it reads or it does not exist. Every object is
    opened, every attribute and the last row of every stored dataset read: what the
    writer will touch when it resumes."""
    pending = [name]
    while pending:
        path = pending.pop()
        try:
            if path == name and name not in f:
                return None
            obj = f[path]
            for key in obj.attrs:
                obj.attrs[key]
            if isinstance(obj, h5py.Group):
                pending += [f"{path}/{k}" for k in obj if isinstance(obj.get(k, getlink=True), h5py.HardLink)]
            elif obj.shape and obj.shape[0] and not obj.is_virtual:
                obj[-1]
            elif obj.shape == ():
                obj[()]
        except (KeyError, OSError, RuntimeError, ValueError, TypeError) as exc:
            return f"/{path}: {_said(exc)}"
    return None


def rewrite_without(path: str, name: str) -> None:
    """Replace the file by a copy of its root attributes and of every top-level object
    but `name` (copied by HDF5 itself: data, attributes and links unchanged). The file
    must not be open for writing. OSError naming the object HDF5 could not copy."""
    tmp = f"{path}.rebuild"
    try:
        with h5py.File(path, "r", locking=False) as src, \
                h5py.File(tmp, "w", libver="latest", locking=False) as dst:
            try:
                for key in src.attrs:
                    dst.attrs.create(key, src.attrs[key], dtype=src.attrs.get_id(key).dtype)
                keys = [k for k in src if k != name]
            except (KeyError, OSError, RuntimeError, ValueError) as exc:
                raise OSError(f"{path}: the root group cannot be read: {_said(exc)}") from exc
            for key in keys:
                try:
                    link = src.get(key, getlink=True)
                    if isinstance(link, h5py.HardLink):
                        src.copy(key, dst, name=key)
                    else:
                        dst[key] = link
                except (KeyError, OSError, RuntimeError, ValueError) as exc:
                    raise OSError(f"{path}: /{key} cannot be copied while dropping the damaged "
                                  f"/{name}: {_said(exc)}") from exc
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _said(exc: Exception) -> str:
    """HDF5's message (h5py wraps it in a KeyError for objects it cannot open)."""
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
