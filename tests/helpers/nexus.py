"""NexusWriter test helpers: scans published with core.data's real publisher, writer
processes, and a dataset-by-dataset comparison of two HDF5 files."""

from __future__ import annotations

import contextlib
import glob
import os
import subprocess
import sys
import time
from pathlib import Path

import gevent
import h5py
import numpy as np
import pytest

from helpers.procs import ServerProcess

HERE = Path(__file__).resolve().parent

SPECTRUM = 16
CHAIN = [{"name": "m0", "class": "StepMaster", "children": [{"name": "timer", "children": []}]}]


def point_values(i: int) -> dict[str, np.ndarray]:
    """Deterministic values of point i of the test scan (a gaussian diode over m0)."""
    m0 = -1.0 + 0.01 * i
    return {"axis:m0": np.array([m0]), "timer:elapsed_time": np.array([0.001 * i]),
            "sim:diode": np.array([1000.0 * np.exp(-((m0 - 0.5) ** 2) / 0.02) + i % 3]),
            "sim:spectrum": (np.arange(SPECTRUM, dtype="i4") * (i + 1)).reshape(1, SPECTRUM)}


def declare(pub) -> None:
    pub.add_channel("axis:m0", "float64", (), "mm")
    pub.add_channel("timer:elapsed_time", "float64", (), "s")
    pub.add_channel("sim:diode", "float64", (), "cts")
    pub.add_channel("sim:spectrum", "int32", (SPECTRUM,), None)


def publish_scan(conn, session: str, filename: str, npoints: int, *, scan_nb: int = 1,
                 period: float = 0.0, block: int = 1, on_point=None, end_reason: str = "SUCCESS",
                 extra_channels=None) -> str:
    """Publish an ascan-like scan through ScanPublisher; returns its key once CLOSED.

    block points are pushed together every `period` seconds; on_point(i) is called after
    each block (to kill a writer in the middle, for instance)."""
    from blisstango.core.data import ScanPublisher

    info = {"scan_nb": scan_nb, "title": f"ascan m0 -1 {-1 + 0.01 * (npoints - 1):g} {npoints - 1} 0.1 diode",
            "type": "ascan", "filename": filename, "writer": "nexus", "save": True, "npoints": npoints,
            "axes": ["m0"], "chain": CHAIN, "positioners": {"m0": -1.0, "m1": 2.5}, "count_time": 0.1}
    pub = ScanPublisher(conn, session, info, flush_period=0.01)
    declare(pub)
    for name, (dtype, shape, kind) in (extra_channels or {}).items():
        pub.add_channel(name, dtype, shape, None, kind)
    key = pub.create()
    pub.set_state("PREPARED")
    pub.set_state("STARTED", start_time=time.time())
    i = 0
    while i < npoints:
        n = min(block, npoints - i)
        vals = [point_values(j) for j in range(i, i + n)]
        for name in vals[0]:
            pub.push(name, np.concatenate([v[name] for v in vals]))
        i += n
        if on_point is not None:
            on_point(i)
        gevent.sleep(period)
    pub.set_state("STOPPED", end_reason=end_reason, end_time=time.time(), npoints_done=npoints)
    pub.close()
    return key


class WriterProcess(ServerProcess):
    """A library-level writer (WriterService) in its own process, for kill -9 tests."""

    def __init__(self, data_url: str, session: str, src: str, dst: str, log: Path) -> None:
        self.args = [sys.executable, str(HERE / "nexus_writer_child.py"), data_url, session, src, dst]
        self.log = log

    def start(self) -> WriterProcess:
        offset = self.log.stat().st_size if self.log.exists() else 0
        self.launch(self.args)
        self.wait_ready(lambda: "following" in self.log.read_text()[offset:], "writer child", 30)
        return self


@contextlib.contextmanager
def small_filesystem(where: Path, size: str):
    """A tmpfs of `size` mounted at `where` (a disk that really fills up: ENOSPC); the test
    is skipped, saying why, where mounting needs rights this user lacks."""
    where.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"a full disk is made with a small tmpfs, which needs root: {res.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=True)


def held_open_elsewhere(path: Path) -> bool:
    """True while another process has the file open (a writer between two flushes).

    Reading an HDF5 file that a writer modifies outside SWMR mode can crash the reader
    (HDF5 follows half-written metadata), so tests read only files nobody holds."""
    target = os.path.realpath(path)
    for fd_dir in glob.glob("/proc/[0-9]*/fd"):
        if fd_dir == f"/proc/{os.getpid()}/fd":
            continue
        try:
            if any(os.readlink(os.path.join(fd_dir, fd)) == target for fd in os.listdir(fd_dir)):
                return True
        except OSError:  # the process ended, or is not ours to look at
            continue
    return False


def silx_default_plot(path: Path, entry: str) -> dict:
    """What silx finds as the entry's default plot: {"valid", "signal", "axes"}. (Read in
    this process: it once ran in a process of its own because HDF5 crashed the test run at
    a close; the cause was an earlier test's full-disk file, now written elsewhere:
    docs/crashes.md.)"""
    import silx.io
    from silx.io.nxdata import get_default

    with silx.io.open(str(path)) as f:
        p = get_default(f[entry])
        return {"valid": bool(p is not None and p.is_valid), "signal": p.signal[()].tolist(),
                "axes": [a[()].tolist() for a in p.axes]}


def wait_complete(path: Path, entry: str, timeout: float = 60.0) -> None:
    """Until the entry has its end_time (written last) and no writer holds the file."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if not held_open_elsewhere(path):
                with h5py.File(path, "r", locking=False) as f:
                    if entry in f and "end_time" in f[entry]:
                        return
        except (OSError, RuntimeError):  # a killed writer's file stays unreadable until the
            pass                          # restarted writer recovers it
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path}: entry {entry} not complete within {timeout} s")
        gevent.sleep(0.1)


def h5_content(path: Path) -> dict:
    """Every object of a file by path: attributes, values of datasets, targets of links."""
    out: dict = {}

    def norm(v):
        if isinstance(v, bytes):
            return v.decode()
        if isinstance(v, np.ndarray) and v.dtype.kind == "O":
            return [norm(x) for x in v.tolist()]
        return v

    with h5py.File(path, "r", locking=False) as f:
        out["/"] = ("group", {k: norm(v) for k, v in f.attrs.items()})

        def visit(name, link):
            if isinstance(link, h5py.SoftLink | h5py.ExternalLink):
                out[name] = ("link", link.path)
                return
            obj = f[name]
            attrs = {k: norm(v) for k, v in obj.attrs.items()}
            if isinstance(obj, h5py.Dataset):
                out[name] = ("dataset", obj.dtype.str, obj.shape, norm(obj[()]), attrs)
            else:
                out[name] = ("group", attrs)

        f.visititems_links(visit)
    return out


def assert_same_files(a: Path, b: Path) -> None:
    ca, cb = h5_content(a), h5_content(b)
    assert sorted(ca) == sorted(cb), f"objects differ: {sorted(set(ca) ^ set(cb))}"
    for name in ca:
        va, vb = ca[name], cb[name]
        if va[0] == "dataset":
            assert va[:3] == vb[:3], f"{name}: {va[:3]} != {vb[:3]}"
            assert np.array_equal(np.asarray(va[3]), np.asarray(vb[3])), f"{name}: values differ"
            assert _same_attrs(va[4], vb[4]), f"{name}: attributes {va[4]} != {vb[4]}"
        else:
            assert va[0] == vb[0] and (va[0] != "group" or _same_attrs(va[1], vb[1])), f"{name}: {va} != {vb}"


def _same_attrs(a: dict, b: dict) -> bool:
    return sorted(a) == sorted(b) and all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a)


class NexusWriterServer(ServerProcess):
    """The real `NexusWriter <instance>` server process; it finds the data Redis through
    TANGO_HOST only (no Redis URL in its environment)."""

    def __init__(self, tango_host: str, workdir: Path, instance: str = "default") -> None:
        self.tango_host, self.instance = tango_host, instance
        self.log = Path(workdir) / f"NexusWriter-{instance}.log"
        self.device = f"tango://{tango_host}/demo/writer/{instance}"

    def start(self, timeout: float = 60.0) -> NexusWriterServer:
        env = {k: None for k in os.environ if k.startswith("BLISSTANGO_")}
        env["TANGO_HOST"] = self.tango_host
        self.launch([str(Path(sys.executable).parent / "NexusWriter"), self.instance], env=env)
        self.wait_ready(self._initialised, f"NexusWriter {self.instance}", timeout)
        return self

    def _initialised(self) -> bool:
        import tango

        try:
            return tango.DeviceProxy(self.device).state() != tango.DevState.INIT
        except tango.DevFailed:
            return False


def points_on_disk(path: Path, dataset: str) -> int:
    """Length of `dataset` as a SWMR reader in a process of its own sees it; -1 while the
    file cannot be read that way (missing, or its writer is not in SWMR mode yet)."""
    code = ("import sys, h5py\n"
            "with h5py.File(sys.argv[1], 'r', swmr=True, locking=False) as f:\n"
            "    print(f[sys.argv[2]].shape[0])\n")
    res = subprocess.run([sys.executable, "-c", code, str(path), dataset], capture_output=True, text=True,
                         timeout=60)
    return int(res.stdout.strip()) if res.returncode == 0 and res.stdout.strip() else -1


def erase_object_header(path: Path, name: str) -> int:
    """Zero the object header of `name` in a file nobody holds: what a writer killed
    outside SWMR mode leaves when it had written the link to an object but not the
    object's header yet. Returns the header's address."""
    with h5py.File(path, "r", swmr=True, locking=False) as f:
        info = h5py.h5o.get_info(f[name].id)
        addr, size = info.addr, info.hdr.space.total
    with open(path, "r+b") as fh:
        fh.seek(addr)
        fh.write(b"\0" * size)
    return addr


def create_and_kill(path: Path) -> None:
    """A process creates the HDF5 file `path` as the writer does and is killed -9 before
    its first flush: the file then holds HDF5's superblock and nothing else."""
    code = ("import sys, time, h5py\n"
            "f = h5py.File(sys.argv[1], 'w', libver='latest', locking=False)\n"
            "print('created', flush=True)\n"
            "time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "created", f"{path} not created"
    finally:
        proc.kill()
        proc.wait(10)
