"""The Wago server through TANGO_HOST, in a stack `blisstango up` starts with the coupler
emulator the YAML asks for; Debian's mbpoll reads the emulator's registers as the judge."""

from __future__ import annotations

import os
import re
import signal
import threading
import time

import pytest
import tango
from helpers.wago import emulator_address, mbpoll, wago_stack, write_server_config
from helpers.waiting import wait_until

from blisstango.core.wago.actuator import ActuatorTimeout
from blisstango.core.wago.client import ActuatorClient, WagoClient
from blisstango.core.wago.modules import module

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

TRAVEL = 0.5
ON, FAULT = tango.DevState.ON, tango.DevState.FAULT


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    root = tmp_path_factory.mktemp("wago_server")
    config = write_server_config(root / "tree", travel=TRAVEL)
    st = wago_stack(root, config, {"t15/wago/wago1": (ON,), "t15/wago/wago_bad": (FAULT,),
                                   "t15/valve/valve1": (tango.DevState.CLOSE,)})
    st.port_modbus = emulator_address(st)[1]
    yield st
    st.down()


@pytest.fixture
def wago(stack):
    dev = stack.device("t15/wago/wago1")
    wait_until(lambda: dev.state() == ON, 30, "wago1 ON")
    return dev


def key(dev, name: str) -> int:
    return dev.DevName2Key(name)


def test_readings_equal_what_an_independent_modbus_client_reads(stack, wago):
    words = mbpoll(stack.port_modbus, "input_registers", 0, 2)
    thc = module("750-469").channel_reading()
    assert wago.tc2 == pytest.approx(thc.to_physical([words[1]]))
    assert list(wago.DevReadNoCachePhys(key(wago, "tc2"))) == [pytest.approx(-12.3, abs=1e-5)]
    assert list(wago.DevReadDigi(key(wago, "tc2"))) == [-123]
    switches = mbpoll(stack.port_modbus, "discrete_inputs", 0, 4)
    assert [wago.read_attribute(n).value for n in ("valve_open", "valve_closed", "shutter_open",
                                                     "shutter_closed")] == switches
    config = wago.get_attribute_config("tc1")
    assert (config.unit, config.format) == ("degC", "%.1f")
    assert wago.get_attribute_config("setpoint").unit == "V"
    assert wago.get_attribute_config("dac").max_dim_x == 2
    kinds = {n: wago.get_attribute_config(n) for n in ("tc1", "setpoint", "valve_open", "valve_cmd", "dac")}
    assert {n: (c.data_type, c.writable) for n, c in kinds.items()} == {   # read-only inputs
        "tc1": (tango.CmdArgType.DevDouble, tango.AttrWriteType.READ),
        "setpoint": (tango.CmdArgType.DevDouble, tango.AttrWriteType.READ_WRITE),
        "valve_open": (tango.CmdArgType.DevShort, tango.AttrWriteType.READ),
        "valve_cmd": (tango.CmdArgType.DevShort, tango.AttrWriteType.READ_WRITE),
        "dac": (tango.CmdArgType.DevDouble, tango.AttrWriteType.READ_WRITE)}
    assert kinds["dac"].data_format == tango.AttrDataFormat.SPECTRUM
    with pytest.raises(tango.DevFailed):
        wago.write_attribute("tc1", 30.0)


def test_bliss_key_commands(wago):
    keys = list(wago.DevGetKeys())
    assert keys == list(range(len(keys)))
    assert wago.DevKey2Name(key(wago, "tc1")) == "tc1"
    offset, area, number, slot, channel = wago.DevLog2Hard([key(wago, "tc2"), 0])
    assert (offset, area, number, slot, channel) == (1, 0x4957, 469, 2, 1)
    assert list(wago.DevHard2Log([0x4F42, 2])) == [key(wago, "heater"), 0]


def test_writes_are_seen_by_the_independent_client(stack, wago):
    wago.DevWritePhys([key(wago, "setpoint"), 0, 6.5])
    raw = module("750-550").channel_reading().to_raw(6.5)
    assert mbpoll(stack.port_modbus, "holding_registers", 0x200, 1) == raw
    assert list(wago.DevReadNoCacheDigi(key(wago, "setpoint"))) == raw          # the output read back
    assert list(wago.DevReadPhys(key(wago, "setpoint"))) == [pytest.approx(6.5, abs=1e-3)]
    wago.DevWriteDigi([key(wago, "shutter2_cmd"), 0, 1])
    assert mbpoll(stack.port_modbus, "coils", 0x203, 1) == [1]
    assert list(wago.DevReadNoCacheDigi(key(wago, "shutter2_cmd"))) == [1]
    assert list(wago.DevReadDigi(key(wago, "shutter2_cmd"))) == [1]             # a write ends the cache
    wago.write_attribute("dac", [1.25, -4.0])
    assert mbpoll(stack.port_modbus, "holding_registers", 0x202, 2) == [
        module("750-556").channel_reading().to_raw(v)[0] for v in (1.25, -4.0)]
    wago.DevWriteDigi([key(wago, "shutter2_cmd"), 0, 0])
    assert mbpoll(stack.port_modbus, "coils", 0x203, 1) == [0]


@pytest.mark.parametrize("request_, reason, words", [
    (lambda d: d.write_attribute("setpoint", 12.0), "WagoValueError", ["setpoint[0] = 12 is out of range", "0..10 V"]),
    (lambda d: d.DevWritePhys([d.DevName2Key("setpoint"), 0, 12.0]), "WagoValueError",
     ["setpoint[0] = 12 is out of range", "750-550", "0..10 V"]),
    (lambda d: d.DevWritePhys([d.DevName2Key("tc1"), 0, 30.0]), "WagoChannelError",
     ["tc1[0] is an analog input", "only outputs"]),
    (lambda d: d.DevName2Key("nope"), "WagoChannelError", ["no logical name 'nope'"]),
    (lambda d: d.DevWritePhys([d.DevName2Key("dac"), 0, 1.0, 1]), "WagoValueError",
     ["[key, channel, value, channel, value, ...]", "4 number(s)"]),
    (lambda d: d.DevWritePhys([d.DevName2Key("dac"), 0, 1.0, 1, 11.0]), "WagoValueError",
     ["dac[1] = 11 is out of range", "-10..10 V"]),
    (lambda d: d.DevWriteDigi([d.DevName2Key("valve_cmd"), 0, 2]), "WagoValueError",
     ["valve_cmd[0] = 2 is not 0 or 1"]),
    (lambda d: d.DevKey2Name(99), "WagoChannelError", ["no logical key 99"]),
])
def test_bad_input_is_refused_naming_the_channel_and_the_coupler_is_not_written(stack, wago, request_,
                                                                               reason, words):
    wago.DevWritePhys([key(wago, "setpoint"), 0, 1.0])
    before = mbpoll(stack.port_modbus, "holding_registers", 0x200, 4) + mbpoll(stack.port_modbus, "coils", 0x200, 4)
    with pytest.raises(tango.DevFailed) as info:
        request_(wago)
    err = info.value.args[0]
    assert err.reason == reason
    for word in words:
        assert word in err.desc
    assert wago.state() == ON  # a bad request is no fault of the coupler
    after = mbpoll(stack.port_modbus, "holding_registers", 0x200, 4) + mbpoll(stack.port_modbus, "coils", 0x200, 4)
    assert after == before


def test_a_configuration_naming_a_module_the_coupler_does_not_have_is_refused(stack):
    bad = stack.device("t15/wago/wago_bad")
    assert bad.state() == FAULT
    status = bad.status()
    assert "slot 2" in status and "750-469" in status and "750-478" in status
    with pytest.raises(tango.DevFailed) as info:
        bad.DevReadNoCachePhys(bad.DevName2Key("t1"))
    assert info.value.args[0].reason == "WagoModuleMismatch"
    assert "slot 2" in info.value.args[0].desc
    assert stack.device("t15/wago/wago1").state() == ON  # the same server's other Wago works


def test_change_events_follow_the_values(stack, wago):
    seen: list[float] = []
    got = threading.Event()

    def on_event(event):
        if not event.err:
            seen.append(event.attr_value.value)
            got.set()

    eid = wago.subscribe_event("tc1", tango.EventType.CHANGE_EVENT, on_event)
    try:
        wait_until(got.is_set, 10, "the first tc1 event")
        first = seen[-1]
        wago.write_attribute("heater", 1)
        wait_until(lambda: seen[-1] > first + 0.5, 30, "tc1 events while the relay heats")
    finally:
        wago.write_attribute("heater", 0)
        wago.unsubscribe_event(eid)
    # after the value read at subscription, an event only when the value changed
    assert all(a != b for a, b in zip(seen[1:], seen[2:]))


def test_a_valve_opens_after_its_travel_time_and_a_shutter_without_feedback_times_out(stack, wago):
    valve = ActuatorClient("valve1", f"tango://{stack.tango_host}/t15/valve/valve1")
    assert valve.state == "CLOSED"
    sent = time.monotonic()
    valve.open()
    assert time.monotonic() - sent >= TRAVEL  # the switch came after the travel time
    assert valve.state == "OPEN"
    assert mbpoll(stack.port_modbus, "discrete_inputs", 0, 2) == [1, 0]
    valve.close()
    assert mbpoll(stack.port_modbus, "discrete_inputs", 0, 2) == [0, 1]

    shutter2 = ActuatorClient("shutter2", f"tango://{stack.tango_host}/t15/shutter/shutter2", "shutter")
    with pytest.raises(ActuatorTimeout) as info:
        shutter2.open()
    assert "shutter2: timeout: not open 1 s after the open command" in str(info.value)
    assert "shutter2_open still off" in str(info.value)
    dev = stack.device("t15/shutter/shutter2")
    assert dev.state() == FAULT and "shutter2: timeout" in dev.status()
    shutter2.proxy.Close()


def test_the_wago_as_counters_and_by_name(stack, wago):
    import json

    cfg = json.loads(stack.beacon().GetObjectConfig("wago1"))
    client = WagoClient("wago1", f"tango://{stack.tango_host}/t15/wago/wago1", cfg)
    names = [c.name for c in client.counters]
    assert "tc2" in names and "setpoint" not in names  # inputs only, without counter_names
    assert client.tc2.fullname == "wago1:tc2" and client.tc2.unit == "degC"
    values = dict(zip(names, client.read_all(*client.counters)))
    assert values["tc2"] == pytest.approx(-12.3)
    client.set("setpoint2", 3.5)
    assert client.get("setpoint2") == pytest.approx(3.5, abs=1e-3)


def test_turn_off_and_on(wago):
    wago.TurnOff()
    try:
        assert wago.state() == tango.DevState.OFF
        with pytest.raises(tango.DevFailed) as info:
            wago.DevReadNoCachePhys(key(wago, "tc2"))
        assert "TurnOn" in info.value.args[0].desc
    finally:
        wago.TurnOn()
    wait_until(lambda: wago.state() == ON, 30, "wago1 ON after TurnOn")


def test_a_silent_coupler_is_a_fault_with_its_reason_and_recovery_needs_no_restart(stack, wago):
    server_pid = stack.pid("Wago/wago1")
    emulator = stack.pid("wago-emulator/wago1")
    os.kill(emulator, signal.SIGSTOP)  # the coupler stops answering: its port stays open
    try:
        with pytest.raises(tango.DevFailed) as info:
            wago.DevReadNoCachePhys(key(wago, "tc2"))
        assert info.value.args[0].reason == "ModbusLinkError"
        assert "no answer within 1 s" in info.value.args[0].desc
        assert wago.state() == FAULT
        assert f"127.0.0.1:{stack.port_modbus}" in wago.status()
    finally:
        os.kill(emulator, signal.SIGCONT)
    wait_until(lambda: wago.state() == ON, 30, "wago1 back ON")
    assert wago.tc2 == pytest.approx(-12.3)
    assert stack.pid("Wago/wago1") == server_pid


def test_a_killed_emulator_is_a_fault_and_its_restart_brings_the_device_back(stack, wago):
    server_pid = stack.pid("Wago/wago1")
    states: list[tuple[tango.DevState, str]] = []

    def on_state(event):
        if not event.err:
            states.append((event.attr_value.value, wago.status()))

    eid = wago.subscribe_event("State", tango.EventType.CHANGE_EVENT, on_state)
    try:
        old = stack.pid("wago-emulator/wago1")
        os.kill(old, signal.SIGKILL)  # the supervisor starts it again on the same port
        with pytest.raises(tango.DevFailed) as info:
            wago.DevReadNoCachePhys(key(wago, "tc2"))
        assert info.value.args[0].reason == "ModbusLinkError"
        assert f"127.0.0.1:{stack.port_modbus}" in info.value.args[0].desc
        wait_until(lambda: stack.pid("wago-emulator/wago1") != old, 60, "the emulator restarted")
        wait_until(lambda: wago.state() == ON, 60, "wago1 back ON")
    finally:
        wago.unsubscribe_event(eid)
    assert any(state == FAULT for state, _ in states)
    assert list(wago.DevReadNoCachePhys(key(wago, "tc2"))) == [pytest.approx(-12.3, abs=1e-5)]
    assert stack.pid("Wago/wago1") == server_pid


def test_a_taurus_form_shows_a_thermocouple_with_its_unit_and_follows_it(stack, wago):
    """Taurus (offscreen, its own process) as the judge of units, format and events."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    child_py = Path(__file__).parent / "helpers" / "taurus_form_child.py"
    model = f"tango://{stack.tango_host}/t15/wago/wago1/tc1"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    child = subprocess.Popen([sys.executable, str(child_py), model, "60"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, env=env)
    shown: list[dict] = []
    try:
        while not shown or not re.fullmatch(r"-?\d+\.\d", shown[-1]["text"]):  # a value, %.1f
            line = child.stdout.readline()
            assert line, f"the form showed no value: {shown}"
            shown.append(json.loads(line))
        assert shown[-1]["unit"] == "°C"  # Taurus understood degC (pint)
        first = float(shown[-1]["text"])
        wago.write_attribute("heater", 1)
        while float(shown[-1]["text"] or first) < first + 1.0:  # pushed by the server's events
            line = child.stdout.readline()
            assert line, f"the form did not follow tc1 warming up: {shown[-5:]}"
            shown.append(json.loads(line))
    finally:
        wago.write_attribute("heater", 0)
        child.kill()
        child.wait()
