"""The scan engine on recorded chains: call order, errors, stop/abort, presets, watchdog,
statistics, with the data published to a real Redis."""

import gevent
import pytest
from helpers.scanning import RecMaster, Recorder, RecSlave

from blisstango.core.data import ScanReader
from blisstango.core.scanning import (
    AcquisitionChain,
    AcquisitionSlave,
    EndReason,
    Scan,
    ScanAborted,
    ScanPreset,
    TriggerMode,
    WatchdogCallback,
)


def two_top_three_levels(rec, **slave_kw):
    """A (3 pts) -> B -> s1, s2 ; A -> s3 ; C (2 pts) -> s4"""
    chain = AcquisitionChain()
    a, b, c = RecMaster("A", rec, 3), RecMaster("B", rec, 3), RecMaster("C", rec, 2)
    s1, s2, s3, s4 = (RecSlave(n, rec, **slave_kw.get(n, {})) for n in ("s1", "s2", "s3", "s4"))
    chain.add(a, b)
    chain.add(b, s1)
    chain.add(b, s2)
    chain.add(a, s3)
    chain.add(c, s4)
    return chain


def positions(rec, call):
    return {n: i for i, (n, c) in enumerate(rec.calls) if c == call}


def test_prepare_start_stop_order_two_top_masters_three_levels(scan_context):
    rec = Recorder()
    chain = two_top_three_levels(rec)
    assert [n.name for n in chain.top_masters] == ["A", "C"]
    scan = Scan(chain, "order").run()
    assert scan.end_reason is EndReason.SUCCESS
    level = {"A": 0, "C": 0, "B": 1, "s3": 1, "s4": 1, "s1": 2, "s2": 2}
    for call in ("prepare", "start"):
        pos = positions(rec, call)
        assert set(pos) == set(level), call
        for x in level:
            for y in level:
                if level[x] > level[y]:  # deeper nodes first: leaves before their masters
                    assert pos[x] < pos[y], f"{call}: {x} should come before {y}: {rec.calls}"
    # every prepare before any start, every start before any trigger
    last_prepare = max(positions(rec, "prepare").values())
    first_start = min(positions(rec, "start").values())
    assert last_prepare < first_start
    assert max(positions(rec, "start").values()) < rec.calls.index(("A", "trigger"))
    # stop: masters first (motion stops before detectors), and every node stopped once
    stops = positions(rec, "stop")
    assert sorted(rec.of("stop")) == sorted(level)
    assert max(stops[n] for n in ("A", "C")) < min(stops[n] for n in ("B", "s3", "s4"))
    assert max(stops[n] for n in ("B", "s3", "s4")) < min(stops[n] for n in ("s1", "s2"))
    # triggers: every iteration of A triggers B then B's slaves
    counts = {n: rec.of("trigger").count(n) for n in level}
    assert counts == {"A": 3, "B": 3, "s1": 3, "s2": 3, "s3": 3, "C": 2, "s4": 2}
    seq = [n for n, c in rec.calls if c == "trigger" and n in ("A", "B", "s1")]
    assert seq == ["A", "B", "s1"] * 3
    # the data followed the tree and is in Redis
    reader = ScanReader(scan_context.data_redis, scan.key)
    assert list(reader.read_all("s1:value")) == [1.0, 2.0, 3.0]
    assert list(reader.read_all("C:index")) == [0, 1]
    assert reader.info["end_reason"] == "SUCCESS"
    assert [c["name"] for c in reader.info["chain"]] == ["A", "C"]


def test_error_in_one_slave_stops_every_node_and_is_the_end_reason(scan_context):
    rec = Recorder()
    chain = two_top_three_levels(rec, s2={"fail_on": "trigger", "fail_at": 2})
    scan = Scan(chain, "failing")
    with pytest.raises(RuntimeError, match="s2 failed in trigger"):
        scan.run()
    assert scan.end_reason is EndReason.FAILURE
    assert sorted(rec.of("stop")) == sorted(["A", "B", "C", "s1", "s2", "s3", "s4"])
    assert rec.of("trigger").count("A") == 2  # no third iteration after the error
    info = ScanReader(scan_context.data_redis, scan.key).info
    assert info["end_reason"] == "FAILURE"
    assert "s2 failed in trigger" in info["error"]
    assert info["state"] == "CLOSED"


def test_error_in_prepare_still_stops_every_node(scan_context):
    rec = Recorder()
    chain = two_top_three_levels(rec, s4={"fail_on": "prepare"})
    scan = Scan(chain, "failing_prepare")
    with pytest.raises(RuntimeError, match="s4 failed in prepare"):
        scan.run()
    assert rec.of("trigger") == []
    assert sorted(rec.of("stop")) == sorted(["A", "B", "C", "s1", "s2", "s3", "s4"])


class StopAfter(ScanPreset):
    def __init__(self, n):
        self.n = n
        self.log = []

    def before_scan(self, scan):
        self.log.append("before_scan")

    def before_iteration(self, scan, i):
        self.log.append(f"before {i}")

    def after_iteration(self, scan, i):
        self.log.append(f"after {i}")
        if i + 1 == self.n:
            scan.stop()

    def after_scan(self, scan):
        self.log.append("after_scan")


def test_presets_and_gentle_stop_finish_the_current_point(scan_context):
    rec = Recorder()
    chain = AcquisitionChain()
    top = RecMaster("T", rec, npoints=100)
    chain.add(top, RecSlave("s", rec))
    preset = StopAfter(3)
    scan = Scan(chain, "gentle", presets=[preset]).run()
    assert scan.end_reason is EndReason.USER_STOP
    assert preset.log == ["before_scan", "before 0", "after 0", "before 1", "after 1", "before 2", "after 2",
                          "after_scan"]
    assert list(scan.get_data("s:value")) == [1.0, 2.0, 3.0]
    assert ScanReader(scan_context.data_redis, scan.key).info["end_reason"] == "USER_STOP"


def test_abort_stops_every_node_at_once(scan_context):
    rec = Recorder()
    chain = AcquisitionChain()
    top = RecMaster("T", rec, npoints=1000)
    chain.add(top, RecSlave("slow", rec, delay=0.05))
    scan = Scan(chain, "aborted")
    scan.start()
    gevent.sleep(0.3)
    scan.abort()
    with pytest.raises(ScanAborted):
        scan.wait()
    assert scan.end_reason is EndReason.USER_ABORT
    assert sorted(rec.of("stop")) == ["T", "slow"]
    assert 1 <= rec.of("trigger").count("slow") < 100
    assert ScanReader(scan_context.data_redis, scan.key).info["end_reason"] == "USER_ABORT"


class Watch(WatchdogCallback):
    def __init__(self, action):
        super().__init__(period=0.05)
        self.action = action
        self.ended = False

    def on_timer(self, scan):
        if scan.iterations_done >= 3:
            if self.action == "stop":
                raise StopIteration
            raise OSError("beam lost")

    def on_scan_end(self, scan):
        self.ended = True


@pytest.mark.parametrize("action, reason", [("stop", EndReason.USER_STOP), ("fail", EndReason.FAILURE)])
def test_watchdog_stops_or_fails_the_scan(scan_context, action, reason):
    rec = Recorder()
    chain = AcquisitionChain()
    chain.add(RecMaster("T", rec, npoints=0), RecSlave("s", rec, delay=0.01))
    watchdog = Watch(action)
    scan = Scan(chain, "watched", watchdog=watchdog)
    if action == "fail":
        with pytest.raises(OSError, match="beam lost"):
            scan.run()
    else:
        scan.run()
    assert scan.end_reason is reason
    assert watchdog.ended
    assert sorted(rec.of("stop")) == ["T", "s"]


class HwSlave(AcquisitionSlave):
    """Delivers points by itself after start (hardware triggered); fails if asked."""

    def __init__(self, npoints, fail=False):
        super().__init__(None, name="hw", npoints=npoints, trigger_mode=TriggerMode.HARDWARE)
        self.fail = fail
        self.ch = self.add_channel("hw:data", float, (4,))

    def reading(self):
        for i in range(self.npoints):
            gevent.sleep(0.01)
            if self.fail and i == 2:
                raise ValueError("hw: fifo overflow at point 2")
            self.ch.emit([i, i, i, i])


def test_hardware_slave_data_and_failure(scan_context):
    rec = Recorder()
    chain = AcquisitionChain()
    top = RecMaster("T", rec, npoints=5)
    chain.add(top, HwSlave(5))
    scan = Scan(chain, "hw").run()
    assert scan.get_data("hw:data").shape == (5, 4)

    chain = AcquisitionChain()
    chain.add(RecMaster("T", rec, npoints=0), HwSlave(5, fail=True))
    scan = Scan(chain, "hw_fail")
    with pytest.raises(ValueError, match="fifo overflow"):
        scan.run()
    assert scan.end_reason is EndReason.FAILURE


def test_timing_statistics_are_published(scan_context):
    rec = Recorder()
    chain = AcquisitionChain()
    chain.add(RecMaster("T", rec, npoints=4), RecSlave("s", rec, delay=0.01))
    scan = Scan(chain, "stats").run()
    stats = ScanReader(scan_context.data_redis, scan.key).info["statistics"]
    assert stats["s"]["trigger"]["count"] == 4
    assert stats["s"]["trigger"]["min"] >= 0.01
    assert stats["T"]["trigger"]["total"] >= stats["s"]["trigger"]["total"]
    assert {"prepare", "start", "stop"} <= set(stats["s"])


def test_chain_refuses_cycles_and_second_parents():
    rec = Recorder()
    chain = AcquisitionChain()
    a, b, s = RecMaster("A", rec), RecMaster("B", rec), RecSlave("s", rec)
    chain.add(a, b)
    chain.add(b, s)
    with pytest.raises(ValueError, match="cycle"):
        chain.add(b, a)
    with pytest.raises(ValueError, match="already under"):
        chain.add(a, s)
    with pytest.raises(TypeError, match="not an AcquisitionMaster"):
        chain.add(s, RecSlave("x", rec))


class EndlessHw(AcquisitionSlave):
    """A hardware-triggered device acquiring until stopped (npoints 0)."""

    def __init__(self):
        super().__init__(None, name="endless", npoints=0, trigger_mode=TriggerMode.HARDWARE)
        self.ch = self.add_channel("endless:x", float)
        self.stopped = False

    def reading(self):
        while True:
            gevent.sleep(0.01)
            self.ch.emit(1.0)

    def stop(self):
        super().stop()
        self.stopped = True


def test_gentle_stop_also_ends_endless_hardware_readers(scan_context):
    rec = Recorder()
    chain = AcquisitionChain()
    hw = EndlessHw()
    chain.add(RecMaster("T", rec, npoints=100), hw)
    preset = StopAfter(3)
    scan = Scan(chain, "endless", presets=[preset])
    scan.start()
    scan.wait(timeout=10)
    assert scan.end_reason is EndReason.USER_STOP and hw.stopped
