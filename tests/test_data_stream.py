"""Live scan data in a real data Redis: readers before/after the scan, reconnects after a
CLIENT KILL, batching, seals, states, references, expiry and the memory budget."""

import json

import gevent
import numpy as np
import pytest
import redis

from blisstango.core.counters import SamplingMode, SimulationCounter, SimulationCounterController
from blisstango.core.data import ScanPublisher, ScanReader, SessionWatcher, layout, recent_scans
from blisstango.core.scanning import ScanContext
from blisstango.core.scanning.scans import loopscan


class Ramp:
    """A simulated axis-less source: a position that the test moves by hand."""

    name = "ramp"

    def __init__(self):
        self.position = 0.0


@pytest.fixture
def counters():
    ctrl = SimulationCounterController("sim_stream")
    ramp = Ramp()
    a = SimulationCounter("a", ramp, curve="linear", slope=1.0, noise=0.05, controller=ctrl)
    b = SimulationCounter("b", ramp, curve="linear", slope=2.0, noise=0.05, mode=SamplingMode.SAMPLES,
                          controller=ctrl)
    return [a, b]


def follow_all(reader, **kw):
    got = {}
    for batch in reader.follow(**kw):
        got.setdefault(batch.channel, []).append((batch.first, batch.data))
    return got


def concat(parts):
    firsts = [f for f, _ in parts]
    data = [d for _, d in parts]
    return firsts, data


def assert_identical(scan, reader_data):
    """Every channel, every point, exactly what the scan published, in order, indexes
    contiguous from 0."""
    assert set(reader_data) == set(scan.get_data().keys())
    for name, parts in reader_data.items():
        expected = scan.get_data(name)
        n = 0
        for first, data in parts:
            assert first == n, name
            n += len(data)
        if isinstance(expected, list):  # variable-length points (SAMPLES)
            got = [p for _, d in parts for p in d]
            assert len(got) == len(expected)
            for x, y in zip(got, expected):
                np.testing.assert_array_equal(x, y)
        else:
            np.testing.assert_array_equal(np.concatenate([d for _, d in parts]), expected)


def test_reader_before_and_after_the_scan_get_every_point(scan_context, counters):
    watcher = SessionWatcher(scan_context.data_redis, scan_context.session)
    live = {}

    def follow_next():
        reader = watcher.next_scan(timeout=30)
        reader.wait_state("CREATED", timeout=10)
        live.update(follow_all(reader, timeout=30))
        return reader.key

    g = gevent.spawn(follow_next)
    scan = loopscan(3000, 0, *counters, sleep_time=0)
    assert g.get(timeout=60) == scan.key
    assert_identical(scan, live)
    after = ScanReader(scan_context.data_redis, scan.key)
    assert after.state == "CLOSED"
    assert_identical(scan, follow_all(after))
    assert after.is_complete("sim_stream:a")
    np.testing.assert_array_equal(after.read_all("sim_stream:a"), scan.get_data("a"))


def test_points_are_batched_not_one_redis_call_per_point(scan_context, counters):
    scan = loopscan(2000, 0, *counters)
    n_channels = len(scan.get_data().keys())
    entries = scan_context.data_redis.xlen(layout.channel_key(scan.key, "sim_stream:a"))
    assert entries < 2000 / 20, f"{entries} stream entries for 2000 points"
    assert scan.publisher.redis_calls < 2000 / 20
    assert n_channels == 5  # timer elapsed/epoch, a, b, b_samples


def test_a_scan_costs_three_round_trips_beyond_its_data(scan_context, counters):
    """Creating (with the memory check), starting (PREPARED with STARTED) and ending
    (last points, STOPPED, seals, CLOSED) are one round trip each: the fixed cost of a
    scan in the data Redis. Every state still arrives, in order, with its own time."""
    # no periodic flush during the scan, however slow the machine: the end sends the data
    scan_context.publisher_options["flush_period"] = 3600
    loopscan(1, 0, *counters)  # the data Redis' maxmemory is asked once per process
    scan = loopscan(1, 0, *counters)
    assert scan.publisher.redis_calls == 3
    entries = scan_context.data_redis.xrange(layout.state_key(scan.key))
    assert [f[b"state"].decode() for _, f in entries] == ["CREATED", "PREPARED", "STARTED", "STOPPED", "CLOSED"]
    times = [float(f[b"time"]) for _, f in entries]
    assert times == sorted(times)
    reader = ScanReader(scan_context.data_redis, scan.key)
    assert reader.state == "CLOSED" and reader.is_complete("sim_stream:a")
    assert reader.info["end_reason"] == "SUCCESS" and reader.info["npoints_done"] == 1


def test_states_in_order_and_info_describes_the_channels(scan_context, counters):
    scan = loopscan(5, 0.01, *counters, title="five points")
    r = scan_context.data_redis
    states = [f[b"state"].decode() for _, f in r.xrange(layout.state_key(scan.key))]
    assert states == ["CREATED", "PREPARED", "STARTED", "STOPPED", "CLOSED"]
    info = json.loads(r.get(layout.info_key(scan.key)))
    assert info["title"] == "five points" and info["scan_nb"] == scan.scan_number
    assert info["session"] == scan_context.session
    assert info["channels"]["sim_stream:b_samples"]["shape"] == [-1]
    assert info["channels"]["timer:elapsed_time"]["unit"] == "s"
    assert info["channels"]["sim_stream:a"]["dtype"] == "<f8"
    assert info["chain"][0]["name"] == "timer"
    assert 0 < r.ttl(layout.info_key(scan.key)) <= layout.DEFAULT_EXPIRY
    assert 0 < r.ttl(layout.channel_key(scan.key, "sim_stream:a")) <= layout.DEFAULT_EXPIRY
    assert scan.key in recent_scans(r, scan_context.session)


def test_follow_from_now_skips_the_past_and_ends_at_the_seal(scan_context, counters):
    scan = loopscan(400, 0.005, *counters, run=False)
    scan.start()
    gevent.sleep(0.8)
    reader = ScanReader(scan_context.data_redis, scan.key)
    assert not reader.is_complete("sim_stream:a")
    parts = follow_all(reader, channels=["sim_stream:a"], from_start=False, timeout=20)["sim_stream:a"]
    scan.wait()
    firsts = [f for f, _ in parts]
    assert firsts[0] > 0
    got = np.concatenate([d for _, d in parts])
    np.testing.assert_array_equal(got, scan.get_data("a")[firsts[0]:])
    assert reader.is_complete("sim_stream:a")


def test_reader_survives_client_kill_mid_scan(scan_context, counters, redis_servers):
    conn = redis.Redis.from_url(redis_servers.data_url, client_name="reader_under_test")
    watcher = SessionWatcher(conn, scan_context.session)
    got = {}
    readers = []

    def follow():
        reader = watcher.next_scan(timeout=30)
        readers.append(reader)
        for batch in reader.follow(timeout=30):
            got.setdefault(batch.channel, []).append((batch.first, batch.data))

    g = gevent.spawn(follow)
    scan = loopscan(600, 0.003, *counters, run=False)
    scan.start()
    killed = set()
    admin = scan_context.data_redis
    for _ in range(3):  # drop the reader's connection three times while data flows
        gevent.sleep(0.4)
        ids = [c["id"] for c in admin.client_list() if c.get("name") == "reader_under_test"]
        assert ids, "the reader has no connection to kill"
        for i in ids:
            if admin.client_kill_filter(_id=i):
                killed.add(i)
    scan.wait()
    g.get(timeout=60)
    assert len(killed) >= 3  # three distinct connections: the reader came back each time
    assert not scan.state == "RUNNING"
    assert_identical(scan, got)


def test_image_references_travel_as_file_and_index(data_redis):
    pub = ScanPublisher(data_redis, "refs_session", {"title": "refs"})
    pub.add_channel("det:image", "uint16", (512, 512), kind="ref")
    pub.add_channel("det:sum", "float64")
    key = pub.create()
    for i in range(10):
        pub.push_refs("det:image", [{"file": "/data/det_0000.h5", "index": i}])
        pub.push("det:sum", np.array([float(i)]))
    pub.close(end_reason="SUCCESS")
    reader = ScanReader(data_redis, key)
    refs = reader.read_all("det:image")
    assert refs == [{"file": "/data/det_0000.h5", "index": i} for i in range(10)]
    assert reader.channels["det:image"]["shape"] == [512, 512]
    assert list(reader.read_all("det:sum")) == list(range(10))
    assert data_redis.memory_usage(layout.channel_key(key, "det:image")) < 20000


def test_expiry_and_memory_budget_drop_old_scans(own_data_redis):
    r = own_data_redis
    short = ScanPublisher(r, "exp", {"title": "short-lived"}, expiry=1)
    short.add_channel("x")
    key = short.create()
    short.push("x", np.arange(10.0))
    short.close()
    assert r.exists(layout.info_key(key))
    gevent.sleep(2.2)
    assert not r.exists(layout.info_key(key)) and not r.exists(layout.channel_key(key, "x"))

    keys = []
    for i in range(3):
        pub = ScanPublisher(r, "budget", {"title": f"big {i}"})
        pub.add_channel("x")
        keys.append(pub.create())
        pub.push("x", np.zeros(200_000))
        pub.close()
    assert ScanPublisher(r, "budget", {})._budget() == int(0.8 * 1024 ** 3)  # 80 % of maxmemory 1gb
    used = int(r.info("memory")["used_memory"])
    pub = ScanPublisher(r, "budget", {"title": "over budget"}, memory_budget=used - 2_000_000)
    pub.add_channel("x")
    new = pub.create()
    pub.close()
    left = recent_scans(r, "budget")
    assert keys[0] not in left and not r.exists(layout.channel_key(keys[0], "x"))
    assert new in left and keys[-1] in left
    assert int(r.info("memory")["used_memory"]) <= used - 2_000_000 + 200_000


def test_watcher_times_out_naming_the_session(data_redis):
    with pytest.raises(TimeoutError, match="nobody_scans"):
        SessionWatcher(data_redis, "nobody_scans").next_scan(timeout=0.3)
    with pytest.raises(KeyError, match="not in the data Redis"):
        _ = ScanReader(data_redis, "no-such-scan").info


def test_scan_without_data_redis_still_runs(counters):
    scan = loopscan(3, 0, *counters, context=ScanContext("offline"))
    assert scan.key is None and len(scan.get_data("a")) == 3


def test_publisher_survives_its_connection_being_killed(scan_context, counters, redis_servers):
    conn = redis.Redis.from_url(redis_servers.data_url, client_name="publisher_under_test")
    ctx = ScanContext(scan_context.session, data_redis=conn)
    scan = loopscan(500, 0.003, *counters, context=ctx, run=False)
    scan.start()
    admin = scan_context.data_redis
    killed = 0
    for _ in range(3):
        gevent.sleep(0.3)
        for c in admin.client_list():
            if c.get("name") == "publisher_under_test":
                killed += admin.client_kill_filter(_id=c["id"])
    scan.wait()
    assert killed >= 1
    reader = ScanReader(admin, scan.key)
    assert reader.state == "CLOSED"
    assert_identical(scan, follow_all(reader))


def test_a_channel_that_got_no_point_is_sealed_and_empty(data_redis):
    pub = ScanPublisher(data_redis, "empty_session", {"title": "nothing"})
    pub.add_channel("det:spectrum", "float32", (-1,))
    pub.add_channel("det:x")
    key = pub.create()
    pub.push("det:x", np.array([1.0, 2.0]))
    pub.close(end_reason="USER_ABORT")
    reader = ScanReader(data_redis, key)
    assert reader.is_complete("det:spectrum")
    empty = reader.read_all("det:spectrum")
    assert empty.shape == (0, 0) and empty.dtype == np.float32
    assert list(reader.read_all("det:x")) == [1.0, 2.0]
    assert reader.info["end_reason"] == "USER_ABORT"
