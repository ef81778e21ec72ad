"""Regulation in scans, through the ScanServer of a real stack: the loop axis
`sample_temp_axis` scanned (each point waits until the deadband holds), the loop, its
input and its output counted, the loop locked by the scan, a point outside the setpoint
limits refused before anything moves."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tango
from helpers.demo_stack import DemoStack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

LOOP = "demo/loop/sample_temp"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    st = DemoStack(tmp_path_factory.mktemp("regulation_scans"))
    st.up()
    yield st
    st.down()


def test_the_session_has_the_loop_its_axis_and_counters(scan_dev):
    assert "sample_temp_axis" in scan_dev.Axes
    counters = set(scan_dev.Counters)
    assert {"sample_temp", "sample_tc", "heater_power"} <= counters


def test_ct_counts_the_loop_input_output_and_working_setpoint(stack, scan_dev, follower):
    loop = stack.device(LOOP)
    n = scan_dev.ct(["0.1", "sample_temp", "heater_power"])
    rec = follower.wait_end(n, 60)
    assert rec.end_reason == "SUCCESS", rec.error
    names = set(rec.data)
    assert {"sample_tc:sample_tc", "heater_power:heater_power", "sample_temp:sample_temp"} <= names
    assert len([c for c in names if c.startswith("heater_power")]) == 1     # the heater read once
    assert rec.data["sample_tc:sample_tc"][0] == pytest.approx(stack.device("demo/input/sample_tc").value, abs=2.0)
    assert loop.state() == tango.DevState.OFF            # counting never starts the regulation


def test_ascan_over_the_loop_axis_waits_for_the_deadband_at_each_point(stack, scan_dev, follower):
    loop = stack.device(LOOP)
    n = scan_dev.ascan(["sample_temp_axis", "30", "45", "3", "0.1", "sample_temp", "diode"])
    rec = follower.wait_end(n, 300)
    assert rec.end_reason == "SUCCESS", rec.error
    targets = np.linspace(30, 45, 4)
    recorded = np.asarray(rec.data["sample_tc:sample_tc"], dtype=float)
    axis = np.asarray(rec.data["axis:sample_temp_axis"], dtype=float)
    deadband = loop.deadband
    assert len(recorded) == 4
    assert np.all(np.abs(recorded - targets) <= deadband), recorded
    assert np.all(np.abs(axis - targets) <= deadband), axis
    np.testing.assert_allclose(rec.data["sample_temp:sample_temp"], targets)   # working setpoints
    assert loop.setpoint == 45.0 and loop.state() == tango.DevState.ON
    assert "diode:diode" in rec.data or any(c.endswith(":diode") for c in rec.data)


def test_a_scanned_loop_is_locked_for_anybody_else(stack, scan_dev, follower):
    loop = stack.device(LOOP)
    n = scan_dev.ascan(["sample_temp_axis", "45", "35", "2", "0.1"])
    try:
        with pytest.raises(tango.DevFailed, match=r"locked by 'ScanServer demo: scan"):
            loop.setpoint = 80.0
    finally:
        rec = follower.wait_end(n, 300)
    assert rec.end_reason == "SUCCESS", rec.error
    assert loop.setpoint == 35.0


def test_a_point_outside_the_setpoint_limits_is_refused_before_anything_moves(stack, scan_dev):
    loop = stack.device(LOOP)
    before = loop.setpoint
    with pytest.raises(tango.DevFailed) as err:
        scan_dev.ascan(["sample_temp_axis", "100", "130", "3", "0.1"])
    desc = err.value.args[0].desc
    assert "sample_temp: setpoint 130 degC is above the high limit 120 degC" in desc
    assert loop.setpoint == before
    loop.stop_regulation()


def test_scan_info_names_the_loop_axis_unit(stack, scan_dev, follower):
    n = scan_dev.ascan(["sample_temp_axis", "26", "27", "1", "0", "sample_tc"])  # cam1 refuses expo 0
    follower.wait_end(n, 300)
    info = stack.scan_info(json.loads(scan_dev.ScanInfo)["key"])     # as published in Redis
    assert info["channels"]["axis:sample_temp_axis"]["unit"] == "degC"
    stack.device(LOOP).stop_regulation()
