"""NeXus files written from scans published to a real data Redis (library level)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime

import gevent
import h5py
import numpy as np
import pytest
from helpers.nexus import (
    CHAIN,
    SPECTRUM,
    WriterProcess,
    point_values,
    publish_scan,
    small_filesystem,
    wait_complete,
)
from helpers.waiting import wait_until

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def service(data_redis, request):
    from blisstango.core.data.nexus import WriterService

    session = f"nx{abs(hash(request.node.nodeid)) % 10**8}"
    svc = WriterService(data_redis, [session], flush_period=0.05).start()
    svc.ready.wait(10)
    svc.session = session
    yield svc
    svc.stop()


def test_published_scan_becomes_nexus_entry(data_redis, service, tmp_path):
    path = tmp_path / "sample" / "demo_data.h5"
    n = 41
    key = publish_scan(data_redis, service.session, str(path), n, block=5)
    w = service.wait_scan(key, timeout=30)
    assert w.state.value == "DONE", w.error
    with h5py.File(path, "r") as f:
        assert f.attrs["NX_class"] == "NXroot" and f.attrs["default"] == "1.1"
        e = f["1.1"]
        assert e.attrs["NX_class"] == "NXentry" and e.attrs["default"] == "plotselect"
        assert e["title"][()].decode().startswith("ascan m0 -1")
        start = datetime.fromisoformat(e["start_time"][()].decode())
        end = datetime.fromisoformat(e["end_time"][()].decode())
        assert start.tzinfo is not None and start <= end
        assert e["end_reason"][()] == b"SUCCESS"
        assert e["instrument"].attrs["NX_class"] == "NXinstrument"
        assert e["instrument/positioners_start/m0"][()] == -1.0
        assert e["instrument/positioners_start/m1"][()] == 2.5
        assert e["instrument/m0"].attrs["NX_class"] == "NXpositioner"
        assert e["instrument/diode"].attrs["NX_class"] == "NXdetector"
        assert e["instrument/diode/data"].attrs["units"] == "cts"
        expect = {k: np.concatenate([point_values(i)[k] for i in range(n)]) for k in point_values(0)}
        assert np.array_equal(e["instrument/m0/value"][()], expect["axis:m0"])
        assert np.array_equal(e["instrument/diode/data"][()], expect["sim:diode"])
        assert np.array_equal(e["instrument/elapsed_time/data"][()], expect["timer:elapsed_time"])
        assert e["instrument/spectrum/data"].shape == (n, SPECTRUM)
        assert np.array_equal(e["instrument/spectrum/data"][()], expect["sim:spectrum"])
        for short, ds in (("m0", "instrument/m0/value"), ("diode", "instrument/diode/data"),
                          ("elapsed_time", "instrument/elapsed_time/data"), ("spectrum", "instrument/spectrum/data")):
            link = e["measurement"].get(short, getlink=True)
            assert isinstance(link, h5py.SoftLink) and link.path == f"/1.1/{ds}"
            assert np.array_equal(e["measurement"][short][()], e[ds][()])
        plot = e["plotselect"]
        assert plot.attrs["NX_class"] == "NXdata" and plot.attrs["signal"] == "diode"
        assert list(plot.attrs["axes"]) == ["m0"]
        assert np.array_equal(plot["diode"][()], expect["sim:diode"])
        info = e["scan_info"]
        assert info["key"][()].decode() == key and info["scan_nb"][()] == 1
        assert info["channels/sim:diode/unit"][()] == b"cts"
        assert info["end_reason"][()] == b"SUCCESS" and info["npoints"][()] == n
        assert info["positioners/m0"][()] == -1.0 and info["axes"][()].tolist() == [b"m0"]
        assert json.loads(info["chain"][()]) == CHAIN
    assert w.progress == {"axis:m0": n, "timer:elapsed_time": n, "sim:diode": n, "sim:spectrum": n}
    assert service.scans_written == 1 and service.state == "ON"


def test_file_opens_in_silx_with_default_plot(data_redis, service, tmp_path):
    import silx.io
    from silx.io.nxdata import get_default

    path = tmp_path / "silx_data.h5"
    key = publish_scan(data_redis, service.session, str(path), 11, block=3)
    assert service.wait_scan(key, timeout=30).state.value == "DONE"
    with silx.io.open(str(path)) as f:
        nx = get_default(f)
        assert nx is not None and nx.is_valid, "silx finds no valid default NXdata"
        assert nx.signal_name == "diode (cts)" and nx.axes_names == ["m0 (mm)"]  # silx adds units
        assert np.array_equal(nx.signal[()], np.concatenate([point_values(i)["sim:diode"] for i in range(11)]))
        assert np.array_equal(nx.axes[0][()], np.concatenate([point_values(i)["axis:m0"] for i in range(11)]))


def test_reader_sees_points_during_the_scan(data_redis, service, tmp_path):
    """SWMR: a reader that opens the file while the scan runs sees points appear."""
    path = tmp_path / "live.h5"
    seen: list[int] = []

    def probe(i):
        if i in (100, 200) and os.path.exists(path):
            gevent.sleep(0.3)  # > flush period: the writer has flushed what it got
            with h5py.File(path, "r", swmr=True, locking=False) as f:
                seen.append(f["1.1/instrument/diode/data"].shape[0])
            if i == 200:  # silx (its viewer), in another process, opens the file being written
                out = subprocess.run([sys.executable, "-c", "import silx.io, sys\n"
                                      "with silx.io.open(sys.argv[1]) as f: print(len(f['1.1/measurement/diode']))",
                                      str(path)], capture_output=True, text=True, timeout=60)
                assert out.returncode == 0, out.stderr
                seen.append(int(out.stdout))

    key = publish_scan(data_redis, service.session, str(path), 300, period=0.002, block=10, on_point=probe)
    assert service.wait_scan(key, timeout=30).state.value == "DONE"
    assert len(seen) == 3 and 0 < seen[0] < seen[1] <= seen[2] <= 300, seen
    with h5py.File(path, "r") as f:
        assert f["1.1/instrument/diode/data"].shape == (300,)


def test_images_are_virtual_datasets_over_detector_files(data_redis, service, tmp_path):
    frames = {}
    for d in range(2):  # two detector files of 3 frames each, as a 2D detector writes them
        p = tmp_path / f"det_{d:04d}.h5"
        frames[d] = np.arange(3 * 4 * 5, dtype="u2").reshape(3, 4, 5) + 100 * d
        with h5py.File(p, "w") as f:
            f["entry_0000/measurement/data"] = frames[d]
    path = tmp_path / "img_data.h5"
    refs = [{"file": str(tmp_path / f"det_{i // 3:04d}.h5"), "index": i % 3} for i in range(6)]

    def push_refs(i):
        pub_refs.append(i)

    pub_refs: list = []
    from blisstango.core.data import ScanPublisher

    pub = ScanPublisher(data_redis, service.session, {"scan_nb": 3, "title": "ct image", "filename": str(path),
                                                "writer": "nexus", "save": True})
    pub.add_channel("lima:image", "uint16", (4, 5), None, "ref")
    pub.add_channel("timer:elapsed_time", "float64", ())
    key = pub.create()
    pub.set_state("STARTED")
    for i in range(6):
        pub.push_refs("lima:image", [refs[i]])
        pub.push("timer:elapsed_time", np.array([0.1 * i]))
        gevent.sleep(0.01)
    pub.close()
    w = service.wait_scan(key, timeout=30)
    assert w.state.value == "DONE", w.error
    with h5py.File(path, "r") as f:
        img = f["3.1/instrument/lima_image/data"]  # a detector's images: <detector>_image
        assert img.is_virtual and img.shape == (6, 4, 5)
        assert np.array_equal(img[()], np.concatenate([frames[0], frames[1]]))
        assert np.array_equal(f["3.1/measurement/lima_image"][()], img[()])
        assert f["3.1/plotselect"].attrs["signal"] == "lima_image"


def test_unwritable_path_is_a_fault_and_acquisition_goes_on(data_redis, service, tmp_path):
    """A scan whose file cannot be written: the writer reports FAULT naming the path and
    the OS error; the scan itself publishes every point; the next good scan clears it."""
    from blisstango.core.data import ScanReader

    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the dataset folder should be")
    bad = blocker / "sample" / "bad_data.h5"
    key = publish_scan(data_redis, service.session, str(bad), 50, block=5)
    w = service.wait_scan(key, timeout=30)
    assert w.state.value == "FAULT"
    assert str(bad.parent) in w.error or str(bad) in w.error
    assert "Not a directory" in w.error
    assert service.state == "FAULT" and str(bad) in service.status
    reader = ScanReader(data_redis, key)
    assert reader.state == "CLOSED" and reader.info["end_reason"] == "SUCCESS"
    assert len(reader.read_all("sim:diode", timeout=5)) == 50
    good = tmp_path / "good_data.h5"
    key2 = publish_scan(data_redis, service.session, str(good), 5, scan_nb=2)
    assert service.wait_scan(key2, timeout=30).state.value == "DONE"
    assert service.state == "ON"
    with h5py.File(good, "r") as f:
        assert f["2.1/instrument/diode/data"].shape == (5,)


def test_ascan_run_by_core_scanning_is_written(redis_servers, data_redis, service, tmp_path):
    """A real ascan (Mockup axis, simulation counter) run in-process by core.scanning and
    published by its Scan: the file holds the scan's own points."""
    from helpers.motion import one_axis

    from blisstango.core.counters.simulation import SimulationCounter
    from blisstango.core.data import ScanSaving
    from blisstango.core.scanning import ScanContext
    from blisstango.core.scanning.scans import ascan

    ax = one_axis(velocity=1000.0, acceleration=1e6)
    diode = SimulationCounter(f"d{ax.name}", ax, center=0.5, fwhm=0.3, height=100.0, unit="cts")
    saving = ScanSaving(service.session, None, base_path=str(tmp_path), template="{session}/ds1")
    ctx = ScanContext(service.session, data_redis=data_redis, scan_saving=saving)
    scan = ascan(ax, 0.0, 1.0, 20, 0.0, diode, context=ctx)
    w = service.wait_scan(scan.key, timeout=30)
    assert w.state.value == "DONE", w.error
    assert w.filename == saving.filename and w.filename.startswith(str(tmp_path / service.session / "ds1"))
    name = f"{scan.scan_number}.1"
    with h5py.File(saving.filename, "r") as f:
        e = f[name]
        assert np.array_equal(e[f"measurement/{ax.name}"][()], scan.get_data(f"axis:{ax.name}"))
        assert np.array_equal(e[f"measurement/{diode.name}"][()], scan.get_data(diode.name))
        assert e[f"measurement/{ax.name}"].shape == (21,)
        assert e["plotselect"].attrs["signal"] == diode.name
        assert list(e["plotselect"].attrs["axes"]) == [ax.name]
        assert e["end_reason"][()] == b"SUCCESS"
        assert e[f"instrument/positioners_start/{ax.name}"][()] == scan.scan_info["positioners"][ax.name]
        assert e["title"][()].decode() == scan.scan_info["title"]


def test_scan_that_never_ends_gives_way_to_the_next_scan_of_its_file(data_redis, tmp_path, request):
    """A publisher that dies mid-scan never closes its scan: once the next scan of the same
    file waits and no data came for stall_timeout, the writer closes the first entry with
    the points it got (end_reason FAILURE, error says why) and writes the next one."""
    from blisstango.core.data import ScanPublisher
    from blisstango.core.data.nexus import WriterService

    session = f"st{abs(hash(request.node.nodeid)) % 10**8}"
    svc = WriterService(data_redis, [session], flush_period=0.05, stall_timeout=1.0).start()
    try:
        svc.ready.wait(10)
        path = tmp_path / "stall.h5"
        dead = ScanPublisher(data_redis, session, {"scan_nb": 1, "title": "dies", "filename": str(path),
                                             "writer": "nexus", "save": True})
        dead.add_channel("sim:diode", "float64", ())
        dead_key = dead.create()
        dead.set_state("STARTED")
        dead.push("sim:diode", np.arange(10.0))
        dead.flush()
        dead._flusher.kill()  # the publisher's process "dies": the scan is never closed
        gevent.sleep(0.5)
        assert svc.writers[dead_key].state.value == "WRITING"
        key2 = publish_scan(data_redis, session, str(path), 7, scan_nb=2)
        w2 = svc.wait_scan(key2, timeout=30)
        assert w2.state.value == "DONE", w2.error
        w1 = svc.writers[dead_key]
        assert w1.state.value == "DONE" and "never ended" in w1.error
    finally:
        svc.stop()
    with h5py.File(path, "r") as f:
        assert np.array_equal(f["1.1/instrument/diode/data"][()], np.arange(10.0))
        assert f["1.1/end_reason"][()] == b"FAILURE" and b"never ended" in f["1.1/error"][()]
        assert f["2.1/instrument/diode/data"].shape == (7,) and f["2.1/end_reason"][()] == b"SUCCESS"


def test_full_disk_mid_scan_is_a_fault_and_acquisition_goes_on(redis_servers, data_redis, tmp_path):
    """The file's filesystem fills up mid-scan (a 1 MB tmpfs, all but 100 kB taken by a
    ballast file): the writer's FAULT names the file and the OS error; every point still
    reaches the data Redis; once space is freed the next scan of that file is written into
    the recovered file. The writer runs in a process of its own: when HDF5 cannot free the
    failed file, that process restarts itself (docs/crashes.md), as the test restarts it."""
    from blisstango.core.data import ScanReader

    session = "fulldisk"
    log = tmp_path / "writer.log"
    with small_filesystem(tmp_path / "disk", "1m") as disk:
        (disk / "ballast").write_bytes(b"\0" * 900_000)
        path = disk / "full_data.h5"
        writer = WriterProcess(redis_servers.data_url, session, str(disk), str(disk), log).start()
        try:
            key = publish_scan(data_redis, session, str(path), 3000, block=20, period=0.002)
            fault = f"{path}: [Errno 28] No space left on device"
            wait_until(lambda: fault in log.read_text(), 30, "the writer's FAULT naming the file and the error")
            reader = ScanReader(data_redis, key)
            assert reader.info["end_reason"] == "SUCCESS"
            assert len(reader.read_all("sim:spectrum", timeout=5)) == 3000

            (disk / "ballast").unlink()
            if "closing failed" in log.read_text():  # HDF5 could not free it: the process says so and ends
                wait_until(lambda: writer.proc.poll() is not None, 30, "the writer's restart")
                assert writer.proc.returncode == 75 and "restarting: HDF5 could not free" in log.read_text()
                writer.start()
            key2 = publish_scan(data_redis, session, str(path), 5, scan_nb=2)
            wait_complete(path, "2.1", timeout=30)
        finally:
            writer.stop()
        with h5py.File(path, "r") as f:
            assert f["2.1/instrument/diode/data"].shape == (5,)
            assert f["2.1/end_reason"][()] == b"SUCCESS"
        assert ScanReader(data_redis, key2).info["state"] == "CLOSED"


def test_half_made_entry_is_redone_and_foreign_entry_refused(data_redis, service, tmp_path):
    """An entry without its scan_key (a writer killed while making it) is made again; an
    entry of another scan with the same number is never overwritten (FAULT names both)."""
    path = tmp_path / "prior.h5"
    with h5py.File(path, "w") as f:
        f.create_group("1.1/instrument")  # what a writer killed mid-skeleton leaves
        f.create_group("2.1").attrs["scan_key"] = "other-2-deadbeef"
    key1 = publish_scan(data_redis, service.session, str(path), 5, scan_nb=1)
    assert service.wait_scan(key1, timeout=30).state.value == "DONE"
    key2 = publish_scan(data_redis, service.session, str(path), 5, scan_nb=2)
    w2 = service.wait_scan(key2, timeout=30)
    assert w2.state.value == "FAULT"
    assert str(path) in w2.error and "other-2-deadbeef" in w2.error and key2 in w2.error
    with h5py.File(path, "r") as f:
        assert f["1.1/instrument/diode/data"].shape == (5,)
        assert list(f["2.1"]) == []


def test_a_restarted_writer_skips_the_scans_it_finished_and_writes_the_rest(data_redis, tmp_path):
    """Catching up on the index of recent scans, a new writer does not open the file again
    for every scan a writer already finished there (with ~1000 scans in one file that took
    it over a minute to reach the newest): only the unwritten ones get a writer."""
    from blisstango.core.data.nexus import WriterService

    session = f"skip{os.getpid()}"
    path = tmp_path / "many.h5"
    first = WriterService(data_redis, [session], flush_period=0.05).start()
    first.ready.wait(10)
    try:
        done = [publish_scan(data_redis, session, str(path), 3, scan_nb=n) for n in range(1, 21)]
        for key in done:
            assert first.wait_scan(key, timeout=30).state.value == "DONE"
    finally:
        first.stop()
    missed = publish_scan(data_redis, session, str(path), 3, scan_nb=21)  # while no writer runs
    again = WriterService(data_redis, [session], flush_period=0.05).start()
    try:
        again.ready.wait(10)
        newest = publish_scan(data_redis, session, str(path), 3, scan_nb=22)
        assert again.wait_scan(missed, timeout=30).state.value == "DONE"
        assert again.wait_scan(newest, timeout=30).state.value == "DONE"
        assert not set(done) & set(again.writers), "finished scans were opened again"
    finally:
        again.stop()
    with h5py.File(path, "r") as f:
        assert all(f[f"{n}.1/instrument/diode/data"].shape == (3,) for n in range(1, 23))
