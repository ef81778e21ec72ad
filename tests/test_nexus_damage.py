"""Files a writer killed outside SWMR mode leaves damaged. HDF5 orders its metadata
writes only in SWMR mode: a kill while the file or an entry is being created (or
finished) can leave a link to an object header never written, or a file with no root
group. The restarted writer rebuilds the scan's entry from the data Redis, keeps the
file's other entries, and says what it rebuilt; a file it cannot read is a FAULT naming
the file and HDF5's words."""

from __future__ import annotations

import os

import h5py
import pytest
from helpers.nexus import (
    WriterProcess,
    assert_same_files,
    create_and_kill,
    erase_object_header,
    points_on_disk,
    publish_scan,
    wait_complete,
)
from helpers.waiting import wait_until

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def writers(redis_servers, tmp_path, request):
    """Writer processes A (never disturbed) and B (the victim) following one session; scan
    files named under tmp/scans go to tmp/A and tmp/B."""
    session = f"dm{abs(hash(request.node.nodeid)) % 10**8}"
    src = str(tmp_path / "scans")
    procs = {name: WriterProcess(redis_servers.data_url, session, src, str(tmp_path / name),
                                 tmp_path / f"writer_{name}.log") for name in ("A", "B")}
    try:
        for p in procs.values():
            p.start()
        yield session, src, procs
    finally:
        for p in procs.values():
            p.stop()


@pytest.mark.parametrize("damaged", ["", "/instrument/diode/data"], ids=["entry", "dataset"])
def test_entry_left_unreadable_by_a_kill_is_rebuilt_and_other_entries_kept(data_redis, writers, tmp_path,
                                                                            damaged):
    session, src, procs = writers
    a, b = tmp_path / "A" / "data.h5", tmp_path / "B" / "data.h5"
    publish_scan(data_redis, session, f"{src}/data.h5", 40, scan_nb=1, block=5)
    wait_complete(b, "1.1")
    events = []

    def chaos(i):
        if i == 300:  # B has streamed every point so far, then dies with a header never written
            wait_until(lambda: points_on_disk(b, "2.1/measurement/diode") == 300, timeout=60,
                       what="writer B streamed 300 points of scan 2")
            procs["B"].kill()
            erase_object_header(b, "2.1" + damaged)
            events.append("killed")
        elif i == 600:
            procs["B"].start()
            events.append("restarted")

    publish_scan(data_redis, session, f"{src}/data.h5", 1000, scan_nb=2, block=10, period=0.004,
                 on_point=chaos)
    assert events == ["killed", "restarted"]
    wait_complete(a, "2.1")
    wait_complete(b, "2.1")
    assert_same_files(a, b)  # 1.1 as it was, 2.1 whole again
    log = (tmp_path / "writer_B.log").read_text()
    assert f"entry 2.1 cannot be read (/2.1{damaged}: " in log and "bad object header version number" in log
    assert "written again from point 0" in log


@pytest.mark.parametrize("nth", [3, 5, 7])
def test_writer_killed_at_a_write_of_a_new_files_first_flush(data_redis, writers, tmp_path, nth):
    """strace kills writer B (SIGKILL) at its nth pwrite64 to a new file: in the first flush,
    before SWMR mode orders HDF5's writes. No torn file is left under the scan's name, and
    the restarted writer writes the same file as the undisturbed writer A."""
    session, src, procs = writers
    b = tmp_path / "B" / "data.h5"
    plain = procs["B"].args
    procs["B"].stop()
    procs["B"].args = ["strace", "-f", "-qq", "-o", os.devnull, "-e", "trace=pwrite64",
                       "-e", f"inject=pwrite64:signal=KILL:when={nth}", *plain]
    procs["B"].start()
    killed = {}

    def chaos(i):
        if i == 100:
            procs["B"].proc.wait(60)  # strace ends with its tracee
            procs["B"].proc = None
            killed["files"] = sorted(p.name for p in b.parent.iterdir())
            procs["B"].args = plain
            procs["B"].start()

    publish_scan(data_redis, session, f"{src}/data.h5", 300, block=10, period=0.004, on_point=chaos)
    assert "data.h5" not in killed["files"], killed  # a file nobody can read was never published
    wait_complete(tmp_path / "A" / "data.h5", "1.1")
    wait_complete(b, "1.1")
    assert_same_files(tmp_path / "A" / "data.h5", b)


def test_file_killed_before_its_root_group_was_written_is_started_again(data_redis, writers, tmp_path):
    """The flaky server test's case: the kill came right after the writer created the file."""
    session, src, procs = writers
    procs["B"].kill()
    (tmp_path / "B").mkdir()
    create_and_kill(tmp_path / "B" / "data.h5")
    procs["B"].start()
    publish_scan(data_redis, session, f"{src}/data.h5", 50, block=5)
    wait_complete(tmp_path / "A" / "data.h5", "1.1")
    wait_complete(tmp_path / "B" / "data.h5", "1.1")
    assert_same_files(tmp_path / "A" / "data.h5", tmp_path / "B" / "data.h5")
    assert "killed before writing its root group" in (tmp_path / "writer_B.log").read_text()


def test_file_whose_root_group_header_is_zeros_is_kept_aside_and_started_again(data_redis, writers, tmp_path):
    """A writer killed during its first flush wrote some metadata but not the root group's
    header (seen with kills under load): nothing in the file can be reached. Its bytes
    are kept beside it and the scan is written into a new file."""
    session, src, procs = writers
    b = tmp_path / "B" / "data.h5"
    procs["B"].kill()
    (tmp_path / "B").mkdir()
    create_and_kill(b)
    with open(b, "ab") as fh:  # metadata written past the root header's place, which stays zeros
        fh.write(b"\0" * 4096 + b"OHDR" + b"\x5a" * 508)
    damaged = b.read_bytes()
    procs["B"].start()
    publish_scan(data_redis, session, f"{src}/data.h5", 50, block=5)
    wait_complete(tmp_path / "A" / "data.h5", "1.1")
    wait_complete(b, "1.1")
    assert_same_files(tmp_path / "A" / "data.h5", b)
    aside = list(b.parent.glob("data.h5.unreadable-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == damaged
    assert f"its bytes are kept as {aside[0]}" in (tmp_path / "writer_B.log").read_text()


def test_file_whose_root_group_cannot_be_read_faults_naming_file_and_hdf5_error(data_redis, writers, tmp_path):
    """Damage no kill explains (the root group's header garbled): nothing is guessed, the
    scan FAULTs with the file and what HDF5 said, and the file is left as it was."""
    session, src, procs = writers
    b = tmp_path / "B" / "data.h5"
    publish_scan(data_redis, session, f"{src}/data.h5", 20, scan_nb=1, block=5)
    wait_complete(b, "1.1")
    procs["B"].kill()
    with h5py.File(b, "r", locking=False) as f:
        root = h5py.h5o.get_info(f.id).addr
    with open(b, "r+b") as fh:  # keep the 'OHDR' signature, garble what follows
        fh.seek(root + 4)
        fh.write(b"\xff" * 16)
    before = b.read_bytes()
    procs["B"].start()
    key = publish_scan(data_redis, session, f"{src}/data.h5", 20, scan_nb=2, block=5)
    wait_complete(tmp_path / "A" / "data.h5", "2.1")
    log_path = tmp_path / "writer_B.log"
    fault = f"scan {key}: {b}: "
    wait_until(lambda: fault in log_path.read_text(), timeout=30, what=f"'{fault}' in {log_path}")
    line = next(x for x in log_path.read_text().splitlines() if fault in x)
    assert "bad object header version number" in line, line  # HDF5's own words
    assert b.read_bytes() == before
