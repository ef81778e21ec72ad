"""core/wago without a network: the module catalogue, the reading conversions, the YAML
mapping to the register map, and the emulated coupler's memory layout."""

from __future__ import annotations

import re

import pytest

from blisstango.core.wago import MODULES, WagoChannelError, WagoConfigError, WagoMapping, module
from blisstango.core.wago.emulator import AddressError, CouplerImage
from blisstango.core.wago.mapping import AREA_CODES, DI, DO
from blisstango.core.wago.modules import describe_code


def test_catalogue_holds_the_93_codes_bliss_knows_with_their_process_image():
    assert len(MODULES) == 93
    m = module("750-404")
    assert (m.analog_in, m.analog_out, m.channels, m.channels_ext) == (3, 3, 2, 4)
    assert (module("508").digital_in, module("508").digital_out) == (2, 2)
    assert module("750-8001").is_coupler and not module("750-469").is_coupler
    with pytest.raises(KeyError, match="unknown Wago module '750-999'"):
        module("750-999")


def test_identity_codes_are_what_a_coupler_reports_and_digital_modules_match_by_kind_and_size():
    assert module("750-504").identity_code() == 0x8402  # 4 bits, output
    assert module("750-408").identity_code() == 0x8401  # 4 bits, input
    assert module("750-469").identity_code() == 469
    assert module("750-562-UP").identity_code() == 562
    # a coupler cannot tell two 4-channel digital output modules apart
    assert module("750-516").matches(0x8402) and module("750-504").matches(0x8402)
    assert not module("750-408").matches(0x8402)  # an input is not an output
    assert not module("750-530").matches(0x8402)  # 8 channels are not 4
    assert not module("750-469").matches(478)
    assert describe_code(0x8402) == "a 4 channel digital output (code 0x8402)"
    assert describe_code(469) == "750-469 (2 Channel Ktype Thermocouple Input)"


@pytest.mark.parametrize("code, words, value", [
    ("750-469", [0xFF85], -12.3),             # signed tenths of a degree
    ("750-469", [0x00DC], 22.0),
    ("750-478", [32767], 10.0),               # 0..10 V full scale
    ("750-478", [16384], 16384 * 10 / 32767),
    ("750-456", [0x8001], -10.0),             # +-10 V: the word is signed
    ("750-554", [0], 4.0),                    # 4..20 mA
    ("750-554", [32767], 20.0),
    ("750-562-UP", [65535], 10.0),            # unipolar 16 bit
    ("750-477", [20000], 20.0),               # base 20000
    ("750-630", [0xFFFF, 0x00FF], -1),        # 24-bit SSI, low word first, signed
    ("750-630-32", [0x0002, 0x0001], 0x10002),
])
def test_readings_convert_by_the_module_rules(code, words, value):
    assert module(code).channel_reading().to_physical(words) == pytest.approx(value)


@pytest.mark.parametrize("code, value", [("750-550", 7.5), ("750-556", -3.25), ("750-554", 12.0),
                                         ("750-469", -40.5), ("750-562-UP", 9.99)])
def test_a_written_value_reads_back_within_one_step(code, value):
    reading = module(code).channel_reading()
    step = reading.span / reading.base if hasattr(reading, "span") else 0.1
    assert reading.to_physical(reading.to_raw(value)) == pytest.approx(value, abs=step)


@pytest.mark.parametrize("code, good, bad", [
    ("750-550", [0, 10, 4.2], [12, -0.1, "x", float("nan")]),
    ("750-556", [-10, 10], [-10.5, 11]),
    ("750-554", [4, 20], [3.9, 20.5]),
    ("750-504", [0, 1, True, 1.0], [2, 0.5, -1]),
])
def test_writes_are_checked_against_the_module_range(code, good, bad):
    reading = module(code).channel_reading()
    assert [reading.check(v) for v in good] == [None] * len(good)
    assert all(reading.check(v) for v in bad)


BLISS_EXAMPLE = [("750-504", ["foh2ctrl"] * 4),
                 ("750-408", ["foh2pos", "sain2", "foh2pos", "sain2"]),
                 ("750-408", ["foh2pos", "sain6", "foh2pos", "sain8"])]


def test_mapping_numbers_keys_and_logical_channels_as_bliss_does():
    m = WagoMapping(BLISS_EXAMPLE)
    assert m.names == ["foh2ctrl", "foh2pos", "sain2", "sain6", "sain8"]
    assert [c.offsets[0] for c in m.channels_of("foh2pos")] == [0, 2, 4, 6]  # DI bits
    assert [c.offsets[0] for c in m.channels_of("sain2")] == [1, 3]
    assert {c.area for c in m.channels_of("foh2ctrl")} == {DO}
    # DevLog2Hard: (offset, area code, module number, slot, module channel)
    assert m.log2hard(1, 3) == (6, AREA_CODES[DI], 408, 2, 2)
    assert m.log2hard(0, 2) == (2, AREA_CODES[DO], 504, 0, 2)
    assert m.hard2log(AREA_CODES[DI], 5) == (3, 0)  # sain6
    with pytest.raises(WagoChannelError, match="no logical name 'nope'; known: foh2ctrl"):
        m.channels_of("nope")
    with pytest.raises(WagoChannelError, match="sain6 has no channel 1"):
        m.channel("sain6", 1)


def test_analog_and_special_modules_take_their_place_in_the_words():
    m = WagoMapping([("750-469", ["tc1", "tc2"]), ("750-404", ["cnt_status", "cnt"]),
                     ("750-630", ["enc"]), ("750-550", ["ao1", "ao2"]),
                     ("750-508", ["out1", "out2"])])
    assert m.area_sizes == {"DI": 2, "DO": 2, "AI": 7, "AO": 5}  # 404 also has 3 output words
    assert m.channel("cnt").offsets == (3, 4)
    assert m.channel("cnt_status").offsets == (2,)
    assert m.channel("enc").offsets == (5, 6)
    assert m.channel("ao2").offsets == (4,)
    assert m.channel("out2").area == DO and m.areas[DI] == [None, None]  # diagnostics unnamed
    ext = WagoMapping([("750-508", ["out1", "out2", "diag1", "diag2"])], extended_mode=True)
    assert ext.channel("diag2").area == DI and ext.channel("diag2").offsets == (1,)


@pytest.mark.parametrize("modules, message", [
    ([("750-999", ["a"])], "slot 1 (750-999): unknown module type '750-999'"),
    ([("750-469", ["tc1", "tc2"]), ("750-504", ["a", "b"])],
     "slot 2 (750-504): 750-504 (4 Channel Digital Output) has 4 channels in normal mode, 2 logical names"),
    ([("750-842", ["x"])], "750-842 is a coupler; name it as main_module"),
    ([("750-653", ["rs"])], "RS485 module's serial protocol is not supported"),
    ([("750-469", ["tc1", ""])], "empty logical name"),
])
def test_mapping_errors_name_the_slot_and_the_module(modules, message):
    with pytest.raises(WagoConfigError, match=re.escape(message)):
        WagoMapping(modules)


def test_mapping_from_yaml_takes_bliss_strings_or_lists_and_ignore_missing():
    m = WagoMapping.from_config({"name": "w", "ignore_missing": True, "mapping": [
        {"type": "750-504", "logical_names": "a, b"}, {"type": "750-469", "logical_names": ["t"]}]})
    assert m.names == ["a", "b", "t"] and m.area_sizes["DO"] == 4
    with pytest.raises(WagoConfigError, match="main_module 750-469 is a 2 Channel Ktype"):
        WagoMapping.from_config({"name": "w", "main_module": "750-469", "mapping": [{"type": "750-400",
                                                                                      "logical_names": "a,b"}]})


def test_emulated_coupler_packs_digital_bits_after_the_analog_words():
    m = WagoMapping([("750-469", ["tc1", "tc2"]), ("750-408", ["i0", "i1", "i2", "i3"]),
                     ("750-550", ["ao1", "ao2"]), ("750-504", ["o0", "o1", "o2", "o3"])], main_module="750-352")
    image = CouplerImage(m)
    image.words["AI"][:] = [220, 0xFF85]
    image.bits[DI][:] = [1, 0, 1, 1]
    assert image.read_words(0, 3) == [220, 0xFF85, 0b1101]   # input image: AI words, then DI bits
    assert image.read_bits(0, 4) == [1, 0, 1, 1]
    image.write_bits(0x200 + 1, [1])                           # outputs from 0 or from 0x200
    image.write_words(0, [1234])
    assert image.read_words(0x200, 3) == [1234, 0, 0b0010]    # output image read back
    image.write_words(0x202, [0b1001])                         # the packed word sets the bits
    assert image.bits[DO] == [1, 0, 0, 1]
    assert image.read_words(0x2011, 2) == [750, 352]
    assert image.read_words(0x2030, 6) == [352, 469, 0x8401, 550, 0x8402, 0]
    for bad in (lambda: image.read_bits(4, 1), lambda: image.read_words(3, 1),
                lambda: image.write_bits(4, [1]), lambda: image.read_words(0x1000, 1)):
        with pytest.raises(AddressError):
            bad()


def test_the_demo_wago_becomes_devices_of_one_server_and_asks_for_its_emulator(demo_config):
    from blisstango.core.config import load_tree
    from blisstango.core.config.servers import implied_simulators
    from blisstango.core.config.tango_view import tango_view

    tree = load_tree(demo_config)
    view = tango_view(tree)
    assert not view.errors
    found = {alias: (d.name, d.klass, d.server) for alias, d in view.aliases.items()
             if alias in ("wago1", "valve1", "shutter1")}
    assert found == {"wago1": ("demo/wago/wago1", "Wago", "Wago/wago1"),
                     "valve1": ("demo/valve/valve1", "WagoValve", "Wago/wago1"),
                     "shutter1": ("demo/shutter/shutter1", "WagoShutter", "Wago/wago1")}
    props = view.aliases["wago1"].attribute_properties
    assert props["thermocouple1"]["unit"] == ["degC"] and props["hv_setpoint"]["unit"] == ["V"]
    assert "takes 0..10 V" in props["hv_setpoint"]["description"][0]
    sims = [s for s in implied_simulators(tree) if s.name.startswith("wago-emulator/")]
    assert [s.name for s in sims] == ["wago-emulator/wago1"]  # (beside the demo's IcePAP and Cryo-con)
    argv = sims[0].argv
    assert argv[:3] == ("wago-emulator", str(demo_config.resolve()), "wago1")
    assert argv[argv.index("--port") + 1] == str(sims[0].port) and "--announce" in argv


def test_backoff_doubles_while_attempts_fail_and_a_success_resets_it():
    from blisstango.core.comm.backoff import Backoff

    now = [100.0]
    backoff = Backoff(first=0.1, longest=0.5, clock=lambda: now[0])
    assert backoff.wait_left() == 0.0                      # nothing failed: try now
    assert [backoff.failed() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    assert backoff.wait_left() == pytest.approx(0.5)       # the next attempt is due later
    now[0] += 0.3
    assert backoff.wait_left() == pytest.approx(0.2)
    now[0] += 0.3
    assert backoff.wait_left() == 0.0
    backoff.succeeded()
    assert backoff.failed() == 0.1                         # a new failure starts again
