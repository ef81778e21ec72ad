"""A flush still sending when the scan closes: its points must land before the seal."""

import gevent
import numpy as np

from blisstango.core.data import ScanPublisher, ScanReader


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
