"""The per-point path of software scans: rows of values read together, slaves triggered
without a greenlet each, statistics kept in place — with the data a user gets unchanged."""

import numpy as np
import pytest

from blisstango.core.counters import (
    SamplingCounter,
    SamplingCounterController,
    SimulationCounter,
    SimulationCounterController,
)
from blisstango.core.data import ScanReader
from blisstango.core.scanning import EndReason, ScanContext
from blisstango.core.scanning.scans import loopscan, timescan


class Rows(SamplingCounterController):
    """Point i reads (i, 2i, 3i) as float, int and numpy float; `bad_at` returns a value
    that is no scalar point (a 2-d list) for counter b."""

    def __init__(self, name="rows", bad_at=None):
        super().__init__(name)
        for n in "abc":
            SamplingCounter(n, self)
        self.i = 0
        self.bad_at = bad_at

    def read_all(self, *counters):
        i = self.i
        self.i += 1
        b = [[1.0, 2.0]] if i == self.bad_at else 2 * i
        return [float(i), b, np.float64(3 * i)][: len(counters)]


def test_rows_give_every_point_in_order_published_and_in_memory(scan_context):
    n = 3000  # several row batches (1024) and flushes
    scan = timescan(0.0, Rows(), npoints=n, context=scan_context)
    want = np.arange(n, dtype=float)
    reader = ScanReader(scan_context.data_redis, scan.key)
    for name, k in (("a", 1), ("b", 2), ("c", 3)):
        assert np.array_equal(scan.get_data(name), k * want)
        assert np.array_equal(reader.read_all(f"rows:{name}"), k * want)
        assert scan._channels[f"rows:{name}"].count == n
    stats = reader.info["statistics"]
    assert stats["rows"]["read"]["count"] == n
    assert stats["rows"]["trigger"]["count"] == n
    assert stats["timer"]["trigger"]["count"] == n
    assert 0 <= stats["rows"]["read"]["min"] <= stats["rows"]["read"]["max"]


def test_point_emitted_one_by_one_after_rows_keeps_order():
    ctx = ScanContext("rows_mixed")
    ctrl = Rows()
    scan = loopscan(5, 0.0, ctrl, context=ctx)
    ch = scan._channels["rows:a"]
    ch.emit(100.0)  # a point emitted directly comes after the rows already read
    assert list(scan.get_data("a")) == [0.0, 1.0, 2.0, 3.0, 4.0, 100.0]
    assert ch.count == 6


def test_a_value_that_is_no_point_fails_the_scan_naming_the_channel(scan_context):
    scan = timescan(0.0, Rows(bad_at=7), npoints=50, context=scan_context, run=False)
    with pytest.raises(ValueError, match="rows:b"):
        scan.run()
    assert scan.end_reason is EndReason.FAILURE


def test_several_in_process_controllers_are_all_triggered_each_point(scan_context):
    ctrls = [SimulationCounterController(f"sim{k}") for k in range(3)]
    cnts = [SimulationCounter(f"flat{k}", curve="flat", background=float(k), controller=c)
            for k, c in enumerate(ctrls)]
    scan = loopscan(20, 0.0, *cnts, context=scan_context)
    stats = ScanReader(scan_context.data_redis, scan.key).info["statistics"]
    for k in range(3):
        assert np.array_equal(scan.get_data(f"flat{k}"), np.full(20, float(k)))
        assert stats[f"sim{k}"]["trigger"]["count"] == 20
