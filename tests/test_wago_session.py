"""The demo's emulated Wago used by the session: its channels counted in scans run by the
ScanServer, its valve and shutter driven from a real `blisstango shell -s demo`."""

from __future__ import annotations

import re
import time

import pytest
import tango
from helpers.wago import emulator_address, mbpoll

pytestmark = pytest.mark.timeout(300)

VALVE_TRAVEL = 1.0  # s, examples/demo_beamline/wago/wago1.yml


@pytest.fixture(scope="module")
def stack(shell_stack):
    """The shared shell stack is this module's stack (conftest's scan_dev and follower use it)."""
    return shell_stack


def test_wago_channels_are_counters_of_scans(shell_stack, scan_dev, follower):
    n = scan_dev.ct(["0.01", "wago1:thermocouple2"])
    assert scan_dev.WaitScan(60)
    rec = follower.wait_end(n, 30)
    assert rec.end_reason == "SUCCESS", rec.error
    assert list(rec.data["wago1:thermocouple2"]) == [pytest.approx(21.3)]  # the emulator's fixed input
    n = scan_dev.loopscan(["2", "0.01", "wago1"])  # the whole Wago: its counter_names
    assert scan_dev.WaitScan(60)
    rec = follower.wait_end(n, 30)
    assert rec.end_reason == "SUCCESS", rec.error
    assert {"wago1:thermocouple1", "wago1:thermocouple2", "wago1:hv_setpoint"} <= set(rec.data)
    assert len(rec.data["wago1:thermocouple1"]) == 2
    assert 15 < rec.data["wago1:thermocouple1"][0] < 80  # a room warmed at most by the heater
    with pytest.raises(tango.DevFailed, match="unknown counter 'wago1:nope'"):
        scan_dev.ct(["0.01", "wago1:nope"])


def test_valve_and_shutter_from_the_shell(shell, shell_stack):
    port = emulator_address(shell_stack)[1]
    assert "'CLOSED'" in shell.run("valve1.state")
    assert mbpoll(port, "discrete_inputs", 0, 2) == [0, 1]        # valve1_open, valve1_closed
    sent = time.monotonic()
    out = shell.run("valve1.open()")
    assert time.monotonic() - sent >= VALVE_TRAVEL, out           # the switch came after the travel
    assert "Error" not in out and "Traceback" not in out, out
    assert "'OPEN'" in shell.run("valve1.state")
    assert mbpoll(port, "discrete_inputs", 0, 2) == [1, 0]
    assert mbpoll(port, "coils", 0x200, 1) == [1]                 # valve1_cmd
    shell.run("valve1.close()")
    assert "'CLOSED'" in shell.run("valve1.state")
    assert mbpoll(port, "discrete_inputs", 0, 2) == [0, 1]
    shell.run("shutter1.open()")
    assert "'OPEN'" in shell.run("shutter1.state")
    shell.run("shutter1.close()")
    assert "'CLOSED'" in shell.run("shutter1.state")


def test_wago_values_and_counts_from_the_shell(shell):
    out = shell.run("wago1.get('thermocouple2')")
    assert re.search(r"Out \[\d+\]: 21\.3", out), out
    out = shell.run("wago1.set('hv_setpoint', 12)")
    assert "WagoValueError" in out and "hv_setpoint[0] = 12" in out and "0..10 V" in out, out
    shell.run("wago1.set('hv_setpoint', 2.5)")
    assert re.search(r"Out \[\d+\]: 2\.5", shell.run("round(wago1.get('hv_setpoint'), 3)"))
    out = shell.run("ct 0.01 wago1.thermocouple2", timeout=60)
    assert re.search(r"21\.3", out), out


def test_a_scanserver_letting_go_of_its_session_leaves_the_valve_open(shell_stack, scan_dev):
    """Init (as a stop or a restart) makes the ScanServer let go of its session's clients
    (core.config.release: their __close__). A valve's close() is what it does to the
    beamline: before, every Init or stop of the ScanServer closed valve1 and shutter1."""
    from helpers.waiting import wait_until

    valve = shell_stack.device("demo/valve/valve1")
    valve.Open()
    wait_until(lambda: valve.state() == tango.DevState.OPEN, 30, "valve1 open")
    try:
        scan_dev.Init()
        wait_until(lambda: scan_dev.state() == tango.DevState.ON, 120, "the ScanServer's session loaded again")
        assert valve.state() == tango.DevState.OPEN, valve.status()
        assert mbpoll(emulator_address(shell_stack)[1], "coils", 0x200, 1) == [1]  # valve1_cmd still set
    finally:
        valve.Close()
        wait_until(lambda: valve.state() == tango.DevState.CLOSE, 30, "valve1 closed")
