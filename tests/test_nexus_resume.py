"""kill -9 of a writer process during or after a scan, then a restart: its file equals,
dataset by dataset and attribute by attribute, the file of an uninterrupted writer."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from helpers.nexus import (
    WriterProcess,
    assert_same_files,
    point_values,
    publish_scan,
    wait_complete,
)

pytestmark = pytest.mark.timeout(180)

N = 1500


@pytest.fixture
def writers(redis_servers, tmp_path, request):
    """Two writer processes following one session: A is never disturbed, B is the victim.
    Scan files named under tmp/scans are written under tmp/A and tmp/B respectively."""
    session = f"rs{abs(hash(request.node.nodeid)) % 10**8}"
    src = str(tmp_path / "scans")
    procs = {name: WriterProcess(redis_servers.data_url, session, src, str(tmp_path / name),
                                 tmp_path / f"writer_{name}.log") for name in ("A", "B")}
    for p in procs.values():
        p.start()
    yield session, src, procs
    for p in procs.values():
        p.stop()


def _check(tmp_path, n=N):
    a, b = tmp_path / "A" / "data.h5", tmp_path / "B" / "data.h5"
    wait_complete(a, "1.1")
    wait_complete(b, "1.1")
    assert_same_files(a, b)
    with h5py.File(b, "r") as f:
        got = f["1.1/measurement/diode"][()]
        assert got.shape == (n,)
        assert np.array_equal(got, np.concatenate([point_values(i)["sim:diode"] for i in range(n)]))
        assert np.array_equal(f["1.1/measurement/spectrum"][()],
                              np.concatenate([point_values(i)["sim:spectrum"] for i in range(n)]))
        assert f["1.1/end_reason"][()] == b"SUCCESS"


def test_kill_mid_scan_and_restart_during_scan(data_redis, writers, tmp_path):
    session, src, procs = writers
    events = []

    def chaos(i):
        if i == 500:
            assert (tmp_path / "B" / "data.h5").exists(), "writer B had not started writing"
            procs["B"].kill()
            events.append("killed")
        elif i == 900:
            procs["B"].start()
            events.append("restarted")

    publish_scan(data_redis, session, f"{src}/data.h5", N, block=10, period=0.004, on_point=chaos)
    assert events == ["killed", "restarted"]
    _check(tmp_path)
    # the kill hit the file open for writing: the restarted writer had to recover it
    assert "recovered after a writer died" in (tmp_path / "writer_B.log").read_text()


def test_kill_mid_scan_and_restart_after_the_scan(data_redis, writers, tmp_path):
    session, src, procs = writers

    def chaos(i):
        if i == 700:
            procs["B"].kill()

    publish_scan(data_redis, session, f"{src}/data.h5", N, block=10, period=0.004, on_point=chaos)
    procs["B"].start()
    _check(tmp_path)


def test_repeated_kills_lose_and_duplicate_nothing(data_redis, writers, tmp_path):
    session, src, procs = writers

    def chaos(i):
        if i % 300 == 0 and i < N:
            procs["B"].kill()
            procs["B"].start()

    publish_scan(data_redis, session, f"{src}/data.h5", N, block=10, period=0.004, on_point=chaos)
    _check(tmp_path)
    assert (tmp_path / "writer_B.log").read_text().count("recovered after a writer died") >= 3
