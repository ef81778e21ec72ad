"""core/mca: parameters, ROIs, counters and the fluorescence simulator, in process."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from helpers.mca import SPOTS, simulator

from blisstango.core.mca import McaParameterError, PresetMode, TriggerMode
from blisstango.core.mca.errors import McaError
from blisstango.core.mca.simulator.lines import emission_lines


def acquire(mca, seconds: float = 0.2):
    mca.trigger_mode = "SOFTWARE"
    mca.preset_mode = "REALTIME"
    mca.preset_value = seconds
    mca.trigger()
    return mca.get_acquisition_data(), mca.get_acquisition_statistics()


def peak_energy(mca, spectrum, low: float, high: float) -> float:
    e = mca.energies()
    window = (e >= low) & (e <= high)
    return float(e[window][np.argmax(spectrum[window])])


# ---- parameters ----------------------------------------------------------------------
@pytest.mark.parametrize("attr, value, words", [
    ("preset_mode", "FOREVER", ["mca1", "preset_mode", "FOREVER", "NONE, REALTIME, LIVETIME, EVENTS, TRIGGERS"]),
    ("trigger_mode", "EXTERNAL", ["mca1", "trigger_mode", "SOFTWARE, SYNC, GATE"]),
    ("preset_value", -1.0, ["mca1", "preset_value", "-1.0", "> 0"]),
    ("preset_value", float("nan"), ["mca1", "preset_value", "> 0"]),
    ("spectrum_size", 1000, ["mca1", "spectrum_size", "4096"]),
    ("hardware_points", 0, ["mca1", "hardware_points", "1 to"]),
    ("calibration", [0.0, -0.01, 0.0], ["mca1", "calibration", "increase"]),
])
def test_bad_parameters_are_refused_naming_mca_parameter_and_allowed_values(attr, value, words):
    mca = simulator()
    before = {a: getattr(mca, a) for a in ("preset_mode", "trigger_mode", "preset_value", "spectrum_size",
                                           "hardware_points", "calibration")}
    with pytest.raises(McaParameterError) as err:
        setattr(mca, attr, value)
    for w in words:
        assert w in str(err.value)
    assert {a: getattr(mca, a) for a in before} == before


def test_preset_mode_the_device_does_not_support_is_refused():
    mca = simulator(preset_modes=["NONE", "REALTIME", "LIVETIME"])
    with pytest.raises(McaParameterError, match="mca1: preset_mode 'EVENTS' refused: allowed one of NONE, "
                                                "REALTIME, LIVETIME"):
        mca.preset_mode = "EVENTS"
    mca.preset_mode = "livetime"
    assert mca.preset_mode is PresetMode.LIVETIME


@pytest.mark.parametrize("rois, words", [
    ({"Fe": [4000, 4100]}, ["mca1", "ROI Fe stop", "4100", "<= 4096"]),
    ({"Fe": [-1, 10]}, ["mca1", "ROI Fe start", "0 <= start"]),
    ({"Fe": [20, 20]}, ["mca1", "ROI Fe stop", "20 < stop"]),
    ({"Fe": [20, 10]}, ["mca1", "ROI Fe stop"]),
    ({"ocr": [1, 2]}, ["mca1", "ROI name", "ocr"]),
    ({"Fe Ka": [1, 2]}, ["mca1", "ROI name", "identifier"]),
    ([("Fe", 1, 2), ("Fe", 3, 4)], ["mca1", "ROI name", "Fe", "once"]),
])
def test_bad_rois_are_refused_and_change_nothing(rois, words):
    mca = simulator()
    before = mca.rois.as_dict()
    with pytest.raises(McaParameterError) as err:
        mca.rois.replace(rois)
    for w in words:
        assert w in str(err.value)
    assert mca.rois.as_dict() == before


def test_rois_as_json_refuse_a_name_given_twice():
    from blisstango.core.mca.rois import rois_from_json

    assert rois_from_json("mca1", '{"Fe": [1, 2], "Cu": {"start": 3, "stop": 4}}') == {
        "Fe": [1, 2], "Cu": {"start": 3, "stop": 4}}
    with pytest.raises(McaParameterError, match="mca1: ROI name 'Fe' refused: allowed names used once"):
        rois_from_json("mca1", '{"Fe": [1, 2], "Fe": [3, 4]}')
    with pytest.raises(ValueError, match="mca1: Rois 'Fe' is not JSON"):
        rois_from_json("mca1", "Fe")


def test_rois_set_remove_clear_and_counters_follow():
    mca = simulator()
    assert mca.rois.get_names() == ["Fe", "Cu", "Zn"]
    names = [c.name for c in mca.counters]
    assert names[:3] == ["Fe_det0", "Cu_det0", "Zn_det0"]
    assert {"spectrum_det3", "deadtime_det2", "trigger_livetime_det0", "Fe", "Zn"} <= set(names)
    assert len(names) == 4 * 3 + 4 + 4 * 8 + 3
    mca.rois.set("Ni", 1480, 1510)
    assert "Ni_det1" in [c.name for c in mca.counters] and "Ni" in [c.name for c in mca.counters]
    mca.rois.set_energy("Mn", 5.85, 5.95)
    assert mca.rois.get("Mn") == (1170, 1191)
    mca.rois.remove("Cu")
    assert "Cu" not in mca.rois and "Cu_det0" not in [c.name for c in mca.counters]
    with pytest.raises(KeyError, match="mca1: no ROI named 'Cu'"):
        mca.rois.get("Cu")
    mca.rois.clear()
    assert len(mca.rois) == 0 and not any(c.name.endswith("det0") and c.name.startswith("Fe") for c in mca.counters)


def test_single_element_has_no_roi_sums():
    mca = simulator(elements=1, detector={"solid_angles": [1.0]})
    assert "Fe" not in [c.name for c in mca.counters] and "Fe_det0" in [c.name for c in mca.counters]


def test_rois_and_modes_persist_in_the_settings_redis(redis_servers):
    from blisstango.core.beacon.settings import object_settings

    object_settings("mca_persist").clear()
    mca = simulator("mca_persist", settings=object_settings("mca_persist"))
    mca.rois.set("Ni", 1480, 1510)
    mca.preset_mode = "LIVETIME"
    mca.trigger_mode = "GATE"
    again = simulator("mca_persist", settings=object_settings("mca_persist"))
    assert again.rois.get("Ni") == (1480, 1510) and again.rois.get("Fe") == (1250, 1312)
    assert again.preset_mode is PresetMode.LIVETIME and again.trigger_mode is TriggerMode.GATE
    again.apply_config()
    assert "Ni" not in again.rois and again.trigger_mode is TriggerMode.SOFTWARE


# ---- the simulated physics -------------------------------------------------------------
def test_lines_at_their_energies_and_scatter_at_the_beam_energy():
    spots = [{"element": e, "x": 0.0, "y": 0.0, "fwhm": 1.0, "rate": 1.0e5} for e in ("Fe", "Cu", "Zn")]
    mca = simulator(positions={"sx": 0.0, "sy": 0.0}, seed=7,
                    sample={"axes": ["sx", "sy"], "spots": spots, "scatter_rate": 5.0e4})
    data, _ = acquire(mca, 0.5)
    total = np.convolve(sum(data.values()).astype(float), np.ones(5) / 5, mode="same")  # 25 eV smoothing
    for element, low, high in (("Fe", 6.2, 6.6), ("Cu", 7.9, 8.3), ("Zn", 8.5, 8.8)):
        ka1 = emission_lines(element)[0][1]
        assert abs(peak_energy(mca, total, low, high) - ka1) < 0.03, element
    assert abs(peak_energy(mca, total, 11.9, 12.1) - 12.0) < 0.02              # elastic
    compton = 12.0 / (1 + 12.0 / 511.0)
    assert abs(peak_energy(mca, total, 11.5, 11.85) - compton) < 0.1           # Compton


def test_resolution_grows_with_energy():
    mca = simulator()
    e = mca.energies()
    fwhm = []
    for energy in (6.40384, 8.63886):
        shape = mca.response.peak(e, energy)
        half = shape >= shape.max() / 2
        fwhm.append(half.sum() * 0.005)
    assert 0.13 < fwhm[0] < fwhm[1] < 0.19


def test_realtime_preset_dead_time_and_roi_sums():
    mca = simulator()
    data, stats = acquire(mca, 0.5)
    for element, s in stats.items():
        assert s.realtime == 0.5
        assert s.energy_livetime < s.realtime and s.trigger_livetime < s.realtime
        assert math.isclose(s.deadtime, 1 - s.ocr / s.icr, rel_tol=1e-9)
        assert s.events == int(data[element].sum())
        # paralyzable: ocr = icr exp(-icr tau), within Poisson noise
        assert math.isclose(s.ocr, s.icr * math.exp(-s.icr * 1e-6), rel_tol=0.02)
    assert stats[0].deadtime > 0.2
    block = mca._last_block()
    fe = mca.counter("Fe_det2").extract(block, mca.rois.as_dict())[0]
    assert fe == int(data[2][1250:1312].sum())
    total = mca.counter("Zn").extract(block, mca.rois.as_dict())[0]
    assert total == sum(int(d[1708:1748].sum()) for d in data.values())


def test_output_rate_falls_as_input_rate_rises_paralyzable():
    ocr, icr = [], []
    for intensity in (0.2, 1.0, 15.0):
        mca = simulator(seed=1)
        mca.beam_intensity = intensity
        _, stats = acquire(mca, 0.2)
        icr.append(stats[0].icr)
        ocr.append(stats[0].ocr)
    assert icr[0] < icr[1] < icr[2]
    assert ocr[0] < ocr[1] and ocr[2] < ocr[1]   # past 1/tau more input means less output


def test_count_rate_follows_beam_intensity_and_slit_gap():
    mca = simulator(beam={"energy": 12.0, "axis": "gap", "full_open": 2.0}, positions={"sx": -1, "sy": 1, "gap": 2})
    _, full = acquire(mca, 0.3)
    mca.positions.values["gap"] = 1.0
    _, half = acquire(mca, 0.3)
    assert math.isclose(half[0].icr, full[0].icr / 2, rel_tol=0.03)
    mca.beam_intensity = 0.25
    _, quarter = acquire(mca, 0.3)
    assert math.isclose(quarter[0].icr, full[0].icr / 8, rel_tol=0.05)
    with pytest.raises(McaParameterError, match="beam intensity"):
        mca.beam_intensity = -1


def test_poisson_noise():
    mca = simulator(positions={"sx": 5.0, "sy": 5.0}, seed=11)   # off every spot: scatter only, low rate
    counts = []
    for _ in range(100):
        data, _ = acquire(mca, 0.005)
        counts.append(int(data[0].sum()))
    mean, var = np.mean(counts), np.var(counts, ddof=1)
    assert mean > 10
    assert 0.6 < var / mean < 1.4


def test_spots_are_where_the_map_puts_them():
    mca = simulator()
    for element, (x, y) in SPOTS.items():
        rates = {e: mca.sample.element_rates(x, y)[e] for e in SPOTS}
        assert max(rates, key=rates.get) == element
    assert max(mca.sample.element_rates(10.0, 10.0).values()) < 1e-6


def test_unexcited_element_emits_nothing():
    mca = simulator(beam={"energy": 8.5})     # above the Fe K edge, below Cu's and Zn's
    shapes = dict(zip(mca.sample.elements, mca._templates()))
    assert shapes["Fe"].sum() > 0.99 and shapes["Cu"].sum() == 0 and shapes["Zn"].sum() == 0


@pytest.mark.parametrize("mode, value, field", [("LIVETIME", 0.1, "energy_livetime"), ("EVENTS", 20000, "events"),
                                                 ("TRIGGERS", 20000, "triggers")])
def test_presets_are_met_exactly(mode, value, field):
    mca = simulator()
    mca.preset_mode = mode
    mca.preset_value = value
    mca.trigger()
    for s in mca.get_acquisition_statistics().values():
        assert math.isclose(getattr(s, field), value, rel_tol=1e-9)
        assert s.realtime > s.energy_livetime


def test_preset_none_runs_until_stopped():
    import gevent

    mca = simulator()
    mca.preset_mode = "NONE"
    t0 = time.monotonic()
    mca.start_acquisition()
    t1 = time.monotonic()
    gevent.sleep(0.1)
    assert mca.is_acquiring() and mca.read_points(0) is None
    t2 = time.monotonic()
    mca.stop_acquisition()
    block = mca.read_points(0)
    t3 = time.monotonic()
    # the realtime spans start to stop, as the caller's own clock brackets them
    assert not mca.is_acquiring() and block.count == 1 and t2 - t1 <= block.stats[0, 0, 0] <= t3 - t0


# ---- mapping modes ---------------------------------------------------------------------
def test_gate_mode_one_pixel_per_gate_of_preset_width():
    import gevent

    mca = simulator()
    mca.trigger_mode = "GATE"
    mca.hardware_points = 10
    mca.preset_value = 0.005
    mca.start_acquisition()
    for _ in range(12):                # two pulses too many: ignored once the run is complete
        mca.trigger()
        gevent.sleep(0.008)
    got, index = [], 0
    while index < 10:
        block = mca.read_points(index, timeout=1.0)
        got.append(block)
        index = block.first + block.count
    stats = np.concatenate([b.stats for b in got])
    assert stats.shape == (10, 4, 8) and np.all(stats[:, :, 0] == 0.005)
    assert not mca.is_acquiring() and mca.points_acquired == 10
    assert mca.read_points(10) is None       # frees what was read
    with pytest.raises(McaError, match="read and freed"):
        mca.read_points(0)


def test_sync_mode_pixels_run_from_pulse_to_pulse():
    import gevent

    mca = simulator()
    mca.trigger_mode = "SYNC"
    mca.hardware_points = 4
    mca.start_acquisition()
    for _ in range(4):
        gevent.sleep(0.01)
        mca.trigger()
    block = mca.read_points(0, timeout=1.0)
    assert block.count == 4 and np.all(block.stats[:, :, 0] >= 0.009)


def test_buffer_overrun_stops_with_an_error():
    mca = simulator(buffer_points=3)
    mca.trigger_mode = "SYNC"
    mca.hardware_points = 10
    mca.start_acquisition()
    for _ in range(5):
        mca.trigger()
    assert not mca.is_acquiring()
    with pytest.raises(McaError, match="mca1: buffer overrun"):
        mca.read_points(4)


def test_parameters_cannot_change_while_acquiring():
    mca = simulator()
    mca.preset_mode = "NONE"
    mca.start_acquisition()
    try:
        with pytest.raises(McaParameterError, match="not acquiring"):
            mca.preset_value = 2.0
        with pytest.raises(McaError, match="already acquiring"):
            mca.start_acquisition()
    finally:
        mca.stop_acquisition()
