"""The writer across data Redis trouble: connections killed mid-scan, a Redis restart."""

from __future__ import annotations

import os
import signal
import time

import h5py
import numpy as np
import pytest
import redis
from helpers.nexus import point_values, publish_scan

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_connections_killed_mid_scan_lose_nothing(redis_servers, tmp_path):
    from blisstango.core.data.nexus import WriterService

    data = redis.Redis.from_url(redis_servers.data_url)
    killer = redis.Redis.from_url(redis_servers.data_url)
    session = "reconnect"
    svc = WriterService(redis.Redis.from_url(redis_servers.data_url), [session], flush_period=0.05).start()
    svc.ready.wait(10)
    killed = []

    def chaos(i):
        if i in (300, 600, 900):
            killed.append(killer.client_kill_filter(_type="normal", skipme=True))

    n = 1200
    path = tmp_path / "data.h5"
    try:
        key = publish_scan(data, session, str(path), n, block=10, period=0.003, on_point=chaos)
        w = svc.wait_scan(key, timeout=60)
    finally:
        svc.stop()
    assert len(killed) == 3 and all(k >= 1 for k in killed), killed
    assert w.state.value == "DONE", w.error
    with h5py.File(path, "r") as f:
        assert np.array_equal(f["1.1/measurement/diode"][()],
                              np.concatenate([point_values(i)["sim:diode"] for i in range(n)]))
        assert np.array_equal(f["1.1/measurement/spectrum"][()],
                              np.concatenate([point_values(i)["sim:spectrum"] for i in range(n)]))


def test_writer_follows_new_scans_after_a_data_redis_restart(tmp_path):
    from blisstango.core.beacon.redis_server import RedisSupervisor
    from blisstango.core.data.nexus import WriterService

    with RedisSupervisor(tmp_path / "run") as sup:
        svc = WriterService(redis.Redis.from_url(sup.data_url), flush_period=0.05).start()  # every session
        try:
            svc.ready.wait(10)
            data = redis.Redis.from_url(sup.data_url)
            k1 = publish_scan(data, "before", str(tmp_path / "a.h5"), 20)
            assert svc.wait_scan(k1, timeout=30).state.value == "DONE"
            os.kill(sup.pids()["data"], signal.SIGKILL)
            deadline = time.monotonic() + 30
            while sup.restarts["data"] < 1 or "data" not in sup.pids():
                assert time.monotonic() < deadline, "data redis-server not restarted"
                time.sleep(0.1)
            data = redis.Redis.from_url(sup.data_url)
            deadline = time.monotonic() + 30
            while True:
                try:
                    data.ping()
                    break
                except redis.ConnectionError:
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
            k2 = publish_scan(data, "after", str(tmp_path / "b.h5"), 20)
            w = svc.wait_scan(k2, timeout=30)
            assert w.state.value == "DONE", w.error
            assert svc.state == "ON" and svc.scans_written == 2
            with h5py.File(tmp_path / "b.h5", "r") as f:
                assert f["1.1/instrument/diode/data"].shape == (20,)
        finally:
            svc.stop()


def test_a_scan_whose_start_the_restarted_data_redis_lost_is_written_with_those_points_named(tmp_path):
    """The data Redis keeps nothing across a restart: the scan's publisher announces the
    scan again, and the writer (here started only after the restart, so it never saw the
    first points) writes every point, the lost ones NaN (0 for integers) and named."""
    from helpers.nexus import declare

    from blisstango.core.beacon.redis_server import RedisSupervisor
    from blisstango.core.data import ScanPublisher
    from blisstango.core.data.nexus import WriterService

    n, lost = 40, 15
    path = tmp_path / "lost.h5"
    with RedisSupervisor(tmp_path / "run") as sup:
        data = redis.Redis.from_url(sup.data_url)
        pub = ScanPublisher(data, "lost", {"scan_nb": 1, "title": "loopscan 40 0.1", "type": "loopscan",
                                            "filename": str(path), "writer": "nexus", "save": True,
                                            "npoints": n, "axes": [], "chain": [], "positioners": {}})
        declare(pub)
        pub.create()
        pub.set_state("STARTED", start_time=time.time())

        def push(i):
            for name, value in point_values(i).items():
                pub.push(name, value)

        for i in range(lost):
            push(i)
        pub.flush()  # in the data Redis, read by nobody
        os.kill(sup.pids()["data"], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while sup.restarts["data"] < 1 or "data" not in sup.pids():
            assert time.monotonic() < deadline, "data redis-server not restarted"
            time.sleep(0.1)
        for i in range(lost, n):
            push(i)
        pub.set_state("STOPPED", end_reason="SUCCESS", end_time=time.time(), npoints_done=n)
        pub.close()
        svc = WriterService(redis.Redis.from_url(sup.data_url), flush_period=0.05).start()
        try:
            w = svc.wait_scan(pub.key, timeout=60)
        finally:
            svc.stop()
    assert w.state.value == "DONE", w.error
    with h5py.File(path, "r") as f:
        entry = f["1.1"]
        assert entry["end_reason"][()].decode() == "SUCCESS"
        diode, spectrum = entry["measurement/diode"], entry["measurement/spectrum"]
        assert diode.shape == (n,) and spectrum.shape == (n, 16)
        assert np.isnan(diode[:lost]).all() and not spectrum[:lost].any()
        assert diode.attrs["lost_points"] == spectrum.attrs["lost_points"] == f"0-{lost - 1}"
        np.testing.assert_array_equal(diode[lost:], np.concatenate([point_values(i)["sim:diode"]
                                                                    for i in range(lost, n)]))
        np.testing.assert_array_equal(spectrum[lost:], np.concatenate([point_values(i)["sim:spectrum"]
                                                                       for i in range(lost, n)]))
