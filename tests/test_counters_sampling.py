"""Counter kinds in real scans: sampling modes, integrating, calc and simulation curves."""

import math

import numpy as np
import pytest

from blisstango.core.counters import (
    CalcCounter,
    SamplingCounter,
    SamplingCounterController,
    SamplingMode,
    SimulationCounter,
    SimulationCounterController,
    TimerIntegratingController,
)
from blisstango.core.scanning.scans import ct, loopscan


class SampleIndex(SamplingCounterController):
    """Each read returns the number of reads so far: samples of a point are consecutive."""

    max_sampling_frequency = 200.0

    def __init__(self):
        super().__init__("seq")
        self.reads = 0

    def read_all(self, *counters):
        self.reads += 1
        return [float(self.reads)] * len(counters)


def test_sampling_modes_reduce_the_same_samples(scan_context):
    ctrl = SampleIndex()
    cnt = {m: SamplingCounter(m.value.lower(), ctrl, mode=m) for m in SamplingMode}
    scan = loopscan(3, 0.05, *cnt.values())
    d = scan.get_data()
    samples = d["seq:samples_samples"]
    assert len(samples) == 3
    for i, s in enumerate(samples):
        assert len(s) >= 3  # count time 50 ms at up to 200 Hz
        np.testing.assert_array_equal(s, np.arange(s[0], s[0] + len(s)))  # every read is there
        assert d["mean"][i] == pytest.approx(s.mean())
        assert d["samples"][i] == pytest.approx(s.mean())
        assert d["single"][i] == s[0]
        assert d["last"][i] == s[-1]
        assert d["integrate"][i] == pytest.approx(s.mean() * 0.05)
        assert d["seq:integrate_N"][i] == len(s)
        assert d["stats"][i] == pytest.approx(s.mean())
        assert d["seq:stats_N"][i] == len(s)
        assert d["seq:stats_std"][i] == pytest.approx(s.std())
        assert d["seq:stats_var"][i] == pytest.approx(s.var())
        assert (d["seq:stats_min"][i], d["seq:stats_max"][i]) == (s[0], s[-1])
        assert d["seq:stats_p2v"][i] == len(s) - 1
    assert ctrl.reads == sum(len(s) for s in samples)  # one read_all serves all six counters


def test_single_mode_reads_once_per_point(scan_context):
    ctrl = SampleIndex()
    c = SamplingCounter("one", ctrl, mode=SamplingMode.SINGLE)
    scan = loopscan(4, 0.05, c)
    assert list(scan.get_data("one")) == [1.0, 2.0, 3.0, 4.0]


def test_integrating_counter_counts_over_the_count_time(scan_context):
    ctrl = TimerIntegratingController("card", {"cnt1": 1000.0, "cnt2": 10.0})
    scan = loopscan(3, 0.05, ctrl)
    np.testing.assert_allclose(scan.get_data("card:cnt1"), [50.0] * 3)
    np.testing.assert_allclose(scan.get_data("card:cnt2"), [0.5] * 3)


def test_calc_counter_follows_its_inputs_even_when_not_asked(scan_context):
    ctrl = SampleIndex()
    raw = SamplingCounter("raw", ctrl, mode=SamplingMode.SINGLE)
    flat = SimulationCounter("bg", curve="flat", background=4.0, controller=SimulationCounterController("calcsim"))
    norm = CalcCounter("norm", [raw, flat], lambda r, b: r / b)
    scan = loopscan(5, 0, norm)
    np.testing.assert_allclose(scan.get_data("calc:norm"), np.arange(1, 6) / 4.0)
    assert len(scan.get_data("raw")) == 5  # inputs were read because the calc needs them


def test_simulation_curves():
    class At:
        name = "x"
        position = 0.0

    ax = At()
    g = SimulationCounter("g", ax, curve="gaussian", center=1.0, fwhm=2.0, height=100.0, background=5.0,
                          controller=SimulationCounterController("curves"))
    lin = SimulationCounter("l", ax, curve="linear", slope=3.0, background=1.0, center=0.5,
                            controller=g.controller)
    assert g.value_at(1.0) == pytest.approx(105.0)
    assert g.value_at(2.0) == pytest.approx(55.0)  # half maximum at centre +/- fwhm/2
    assert lin.value_at(2.5) == pytest.approx(7.0)
    noisy = SimulationCounter("n", ax, curve="flat", background=1000.0, noise=0.01, controller=g.controller,
                              seed=1)
    values = np.array([noisy.read() for _ in range(2000)])
    assert values.std() == pytest.approx(10.0, rel=0.15) and values.mean() == pytest.approx(1000.0, rel=0.01)
    with pytest.raises(ValueError, match="curve 'cubic'"):
        SimulationCounter("bad", ax, curve="cubic")
    with pytest.raises(ValueError, match="needs an axis"):
        SimulationCounter("bad", None, curve="gaussian")
    assert math.isfinite(ct(0, g, context=None).get_data("g")[0])
