"""The coupler emulator in its own process, judged by Debian's mbpoll, and WagoController
against it over real Modbus TCP: identity check, readings, range-checked writes, valve
travel, a heater, a lost and recovered link."""

from __future__ import annotations

import time

import pytest
from helpers.procs import free_port
from helpers.wago import EmulatorProcess, mbpoll, mbpoll_refused, write_wago_config
from helpers.waiting import wait_until

from blisstango.core.comm.backoff import Backoff
from blisstango.core.comm.modbus import ModbusLinkError
from blisstango.core.config import load_tree
from blisstango.core.wago import (
    WagoChannelError,
    WagoController,
    WagoModuleMismatch,
    WagoValueError,
)
from blisstango.core.wago.modules import module

pytestmark = pytest.mark.e2e

TRAVEL = 0.5


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    root = tmp_path_factory.mktemp("wago")
    config, port = write_wago_config(root / "config", travel=TRAVEL)
    emu = EmulatorProcess(config, "wago1", port, root / "emulator.log").start()
    yield emu
    emu.stop()


def controller(config, name="wago1", **kw) -> WagoController:
    node = load_tree(config)[name]
    return WagoController.from_config(node.to_dict(), name=name, file=node.file, line=node.line, **kw)


@pytest.fixture
def wago(emulator):
    ctrl = controller(emulator.config)
    yield ctrl
    ctrl.close()


def test_identity_registers_are_those_of_a_352_coupler_with_the_configured_modules(emulator, wago):
    port = emulator.port
    assert mbpoll(port, "input_registers", 0x2011, 2) == [750, 352]
    assert mbpoll(port, "holding_registers", 0x2030, 8) == [352, 0x8402, 0x8401, 469, 550, 0x8401, 556, 0]
    identity = wago.connect()
    assert (identity.series, identity.order) == (750, 352)
    assert identity.modules == (0x8402, 0x8401, 469, 550, 0x8401, 556)


def test_readings_equal_the_registers_an_independent_client_reads(emulator, wago):
    port = emulator.port
    tc = mbpoll(port, "input_registers", 0, 2)
    thc = module("750-469").channel_reading()
    assert wago.read("tc2") == [pytest.approx(thc.to_physical([tc[1]]))]
    assert wago.read("tc2") == [pytest.approx(-12.3)]
    assert wago.read_raw("tc2") == [-123]
    switches = mbpoll(port, "discrete_inputs", 0, 4)
    assert [wago.read(n)[0] for n in ("valve_open", "valve_closed", "shutter_open", "shutter_closed")] == switches
    assert switches[1] == 1  # the valve starts closed


def test_cached_reads_keep_the_image_for_the_configured_period(emulator):
    """`cache_period` from the YAML: a cached read answers from the image read last while
    it is younger than the period, even if the coupler changed meanwhile (another Modbus
    master wrote the output); an uncached read sees the change and refreshes the image."""
    from pymodbus.client import ModbusTcpClient

    node = load_tree(emulator.config)["wago1"]
    ctrl = WagoController.from_config({**node.to_dict(), "cache_period": 600.0}, name="wago1")
    other = ModbusTcpClient("127.0.0.1", port=emulator.port)
    reading = module("750-550").channel_reading()
    try:
        assert ctrl.cache_period == 600.0
        ctrl.write("setpoint", 1.5)
        assert ctrl.read("setpoint", cached=True) == [pytest.approx(1.5, abs=1e-3)]
        assert other.connect()
        assert not other.write_register(0x200, reading.to_raw(4.0)[0]).isError()
        assert ctrl.read("setpoint", cached=True) == [pytest.approx(1.5, abs=1e-3)]  # the image kept
        assert ctrl.read("setpoint") == [pytest.approx(4.0, abs=1e-3)]               # the coupler's
        assert ctrl.read("setpoint", cached=True) == [pytest.approx(4.0, abs=1e-3)]  # image refreshed
        ctrl.cache_period = 0.0                    # no period: a cached read asks the coupler
        assert not other.write_register(0x200, reading.to_raw(2.0)[0]).isError()
        assert ctrl.read("setpoint", cached=True) == [pytest.approx(2.0, abs=1e-3)]
    finally:
        other.close()
        ctrl.close()


def test_writes_are_seen_by_the_independent_client_in_coils_and_holding_registers(emulator, wago):
    port = emulator.port
    wago.write("setpoint", 7.5)
    raw = module("750-550").channel_reading().to_raw(7.5)[0]
    assert mbpoll(port, "holding_registers", 0x200, 1) == [raw]   # output image read back
    assert mbpoll(port, "input_registers", 0x200, 1) == [raw]
    assert wago.read("setpoint") == [pytest.approx(7.5, abs=10 / 32767)]
    wago.write_phys([wago.mapping.key_of("setpoint2"), 0, 2.25])
    assert mbpoll(port, "holding_registers", 0x201, 1) == module("750-550").channel_reading().to_raw(2.25)
    wago.write("shutter2_cmd", 1)
    assert mbpoll(port, "coils", 0x200, 4) == [0, 0, 0, 1]
    wago.write_phys([wago.mapping.key_of("shutter2_cmd"), 0, 0])
    assert mbpoll(port, "coils", 0x203, 1) == [0]


@pytest.mark.parametrize("request_, error, words", [
    (lambda w: w.write("setpoint", 12), WagoValueError, ["setpoint[0] = 12", "0..10 V", "750-550"]),
    (lambda w: w.write("setpoint", -0.5), WagoValueError, ["0..10 V"]),
    (lambda w: w.write("tc1", 30), WagoChannelError, ["tc1[0] is an analog input", "only outputs"]),
    (lambda w: w.write("nope", 1), WagoChannelError, ["no logical name 'nope'"]),
    (lambda w: w.write("valve_cmd", 3), WagoValueError, ["valve_cmd[0] = 3 is not 0 or 1"]),
    (lambda w: w.write_phys([w.mapping.key_of("setpoint"), 0]), WagoValueError,
     ["[key, channel, value, channel, value, ...]"]),
    (lambda w: w.write_phys([w.mapping.key_of("dac"), 0, 1.0, 1, -11.0]), WagoValueError,
     ["dac[1] = -11 is out of range", "-10..10 V"]),  # the good value is not written either
    (lambda w: w.write_phys([99, 0, 1.0]), WagoChannelError, ["no logical key 99"]),
    (lambda w: w.write_phys([w.mapping.key_of("setpoint"), 0.5, 1.0]), WagoValueError,
     ["channel of setpoint 0.5 is not an integer"]),
])
def test_bad_writes_are_refused_and_the_coupler_is_not_written(emulator, wago, request_, error, words):
    port = emulator.port
    wago.write("setpoint", 1.0)
    wago.write("dac", -2.0, 3.0)
    before = mbpoll(port, "holding_registers", 0x200, 4) + mbpoll(port, "coils", 0x200, 4)
    with pytest.raises(error) as info:
        request_(wago)
    for word in words:
        assert word in str(info.value)
    assert mbpoll(port, "holding_registers", 0x200, 4) + mbpoll(port, "coils", 0x200, 4) == before


def test_the_valve_switches_follow_its_output_after_the_travel_time(emulator, wago):
    wago.write("valve_cmd", 0)
    wait_until(lambda: wago.read("valve_closed") == [1], 10, "valve closed")
    sent = time.monotonic()
    wago.write("valve_cmd", 1)
    first = wago.read("valve_open")[0], wago.read("valve_closed")[0]
    if time.monotonic() - sent < TRAVEL:  # the coupler cannot have seen the travel end yet
        assert first == (0, 0)  # left closed, not yet open
    wait_until(lambda: wago.read("valve_open") == [1], 10, "valve open")
    assert time.monotonic() - sent >= TRAVEL
    assert mbpoll(emulator.port, "discrete_inputs", 0, 2) == [1, 0]
    wago.write("valve_cmd", 0)
    wait_until(lambda: wago.read("valve_closed") == [1], 10, "valve closed again")


def test_a_relay_heats_its_thermocouple_and_the_room_cools_it(emulator, wago):
    ambient = wago.read("tc1")[0]
    assert ambient == pytest.approx(22.0, abs=0.2)
    wago.write("heater", 1)
    try:
        wait_until(lambda: wago.read("tc1")[0] > ambient + 1.0, 20, "tc1 warming up")
        raw = mbpoll(emulator.port, "input_registers", 0, 1)[0]
        assert raw / 10 > ambient + 1.0  # the independent client sees it too
    finally:
        wago.write("heater", 0)
    hot = wago.read("tc1")[0]
    wait_until(lambda: wago.read("tc1")[0] < hot - 0.5, 20, "tc1 cooling down")


def test_the_coupler_refuses_what_it_does_not_serve(emulator):
    assert "Illegal data address" in mbpoll_refused(emulator.port, "input_registers", 0x300)
    assert "Illegal data address" in mbpoll_refused(emulator.port, "discrete_inputs", 12)


def test_a_configuration_naming_a_module_the_coupler_does_not_have_is_refused(emulator, tmp_path):
    wrong = tmp_path / "wrong"
    write_wago_config(wrong, port=emulator.port)
    path = wrong / "wago" / "wago.yml"
    path.write_text(path.read_text().replace("type: 750-469", "type: 750-478"))
    ctrl = controller(wrong)
    with pytest.raises(WagoModuleMismatch) as info:
        ctrl.connect()
    text = str(info.value)
    assert "slot 3" in text and "750-478" in text and "750-469" in text
    assert f"127.0.0.1:{emulator.port}" in text
    with pytest.raises(WagoModuleMismatch):  # and so is every request, not only the first
        ctrl.read("tc1")


def test_a_lost_link_fails_reads_clearly_and_comes_back_without_a_new_controller(tmp_path):
    config, port = write_wago_config(tmp_path / "config", port=free_port())
    emu = EmulatorProcess(config, "wago1", port, tmp_path / "emulator.log").start()
    ctrl = controller(config, backoff=Backoff(first=0.05, longest=0.5))
    try:
        assert ctrl.read("tc2") == [pytest.approx(-12.3)]
        emu.kill()
        with pytest.raises(ModbusLinkError) as info:
            ctrl.read("tc2")
        assert f"127.0.0.1:{port}" in str(info.value) and "next attempt in" in str(info.value)
        with pytest.raises(ModbusLinkError):
            ctrl.read("tc2")
        emu.start()
        readings = []

        def answers() -> bool:
            try:
                readings.append(ctrl.read("tc2"))
                return True
            except ModbusLinkError:
                return False

        wait_until(answers, 20, "the controller reading again")
        assert readings[-1] == [pytest.approx(-12.3)]
    finally:
        ctrl.close()
        emu.stop()
