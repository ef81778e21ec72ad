"""A flush still sending when the scan closes: its points must land before the seal; a
state handed to the flusher reaches the data Redis in order, whoever sends it."""

import gevent
import numpy as np
from helpers.waiting import wait_until

from blisstango.core.data import ScanPublisher, ScanReader, layout


def test_close_waits_for_a_flush_in_flight_so_no_point_follows_the_seal(data_redis):
    pub = ScanPublisher(data_redis, "order", {"title": "order"})
    pub.add_channel("dev:x")
    key = pub.create()
    big = np.arange(4_000_000, dtype=float)  # 32 MB: the send yields on a full socket
    pub.push("dev:x", big)
    sender = gevent.spawn(pub.flush)
    gevent.sleep(0)  # the flush takes the big batch and starts sending it
    tail = np.arange(big.size, big.size + 1000, dtype=float)
    pub.push("dev:x", tail)
    pub.close()
    sender.get(timeout=60)
    got = ScanReader(data_redis, key).read_all("dev:x", timeout=30)
    assert np.array_equal(got, np.concatenate([big, tail]))


def _states(data_redis, key: str) -> list[str]:
    return [f[b"state"].decode() for _, f in data_redis.xrange(layout.state_key(key))]


def test_a_started_the_flusher_has_not_sent_goes_with_the_end_in_order(data_redis):
    """A scan ending before its flusher ran (no yield between start and end): close()
    sends the STARTED first, in its one round trip."""
    pub = ScanPublisher(data_redis, "order", {"title": "order"}, flush_period=3600)
    pub.add_channel("dev:x")
    key = pub.create()
    pub.set_state("PREPARED", later=True)
    pub.set_state("STARTED", background=True)
    pub.push("dev:x", np.arange(10, dtype=float))
    pub.close()
    assert pub.redis_calls == 2
    assert _states(data_redis, key) == ["CREATED", "PREPARED", "STARTED", "STOPPED", "CLOSED"]
    assert np.array_equal(ScanReader(data_redis, key).read_all("dev:x", timeout=30), np.arange(10.0))


def test_a_started_handed_to_the_flusher_is_sent_without_the_caller_waiting(data_redis):
    """STARTED with background=True: the caller goes on at once, the flusher sends it (and
    the points queued by then, after it) as soon as the caller yields."""
    pub = ScanPublisher(data_redis, "order", {"title": "order"}, flush_period=3600)
    pub.add_channel("dev:x")
    key = pub.create()
    pub.set_state("STARTED", background=True)
    assert pub.redis_calls == 1 and _states(data_redis, key) == ["CREATED"]
    pub.push("dev:x", np.arange(3, dtype=float))
    wait_until(lambda: pub.redis_calls == 2, 30, "the flusher's round trip")
    assert _states(data_redis, key) == ["CREATED", "STARTED"]
    assert pub.info["state"] == "STARTED"
    pub.close()
    assert _states(data_redis, key) == ["CREATED", "STARTED", "STOPPED", "CLOSED"]
    assert np.array_equal(ScanReader(data_redis, key).read_all("dev:x", timeout=30), np.arange(3.0))
