"""Every command and writable attribute of every device of the demo stack, fuzzed.

The members are listed from the running servers' own interfaces (command_list_query,
attribute_list_query), one device per Tango class; each gets values drawn per Tango type
(helpers.fuzz: wrong types, empty and huge arrays, NaN/inf, huge and malformed strings and
JSON, unknown names) in random orders, so most calls also come in the wrong state (a move
while off, ChainStart before ChainCreate, a ct during a scan). Each call must succeed or
answer a DevFailed a person can act on (no bare Python error, no traceback), and after each
batch the stack is still up and correct: no process died or was restarted, every device
answers State, a motor still moves to its target and a ct still counts.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import pytest
import tango
from helpers import fuzz
from helpers.config_trees import DEMO
from helpers.demo_stack import DemoStack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

T = tango.CmdArgType
#: the device fuzzed for a class with several devices (the others share its interface)
PREFERRED = ("demo/axis/m0", "demo/loop/sample_temp", "demo/input/sample_tc", "demo/output/heater_power")
#: commands whose own argument is how long to block: a client time-out there is the client's
#: choice, not a server that stopped answering
WAITS = {"WaitScan", "WaitProcedure", "WaitMove", "axis_wait", "GroupMoveWait"}
#: commands that bring a device back to rest after a batch, where it has them
CALM = ("Stop", "StopScan", "StopAcquisition", "AbortProcedure", "stop_regulation", "stop_ramping", "axis_stop",
        "ClearRois", "ApplyConfig")
#: attributes that are a motion, not a setting: not written back after a batch
MOTIONS = {"Position", "axis_position", "set_value", "setpoint"}
ROUNDS = 5  # hypothesis examples per device: each calls every member once, in a drawn order


@dataclass
class Interface:
    device: str
    klass: str
    commands: dict[str, T] = field(default_factory=dict)
    writable: dict[str, T] = field(default_factory=dict)


def _attr_type(info: tango.AttributeInfoEx) -> T:
    t = T.values[int(info.data_type)]
    if info.data_format == tango.AttrDataFormat.SCALAR:
        return t
    if info.data_format == tango.AttrDataFormat.SPECTRUM:
        return next(a for a, e in fuzz.ARRAY_OF.items() if e == t)
    raise KeyError(f"IMAGE attribute {info.name}")


def interface_of(dev: tango.DeviceProxy) -> Interface:
    iface = Interface(dev.name(), dev.info().dev_class)
    for c in dev.command_list_query():
        iface.commands[c.cmd_name] = T.values[int(c.in_type)]
    for a in dev.attribute_list_query_ex():
        if a.writable in (tango.AttrWriteType.WRITE, tango.AttrWriteType.READ_WRITE):
            iface.writable[a.name] = _attr_type(a)
    return iface


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = DemoStack(tmp_path_factory.mktemp("fuzz"))
    s.up()
    try:
        yield s
    finally:
        s.down()


@pytest.fixture(scope="module")
def interfaces(stack) -> dict[str, Interface]:
    """Every suite device and the Beacon device, by name."""
    names = [*stack.suite_devices(), stack.beacon().name()]
    return {n: interface_of(stack.device(n)) for n in names}


@pytest.fixture(scope="module")
def fuzzed(interfaces) -> dict[str, Interface]:
    """One device per class."""
    out: dict[str, Interface] = {}
    for name in sorted(interfaces, key=lambda n: (n not in PREFERRED, n)):
        out.setdefault(interfaces[name].klass, interfaces[name])
    return out


@pytest.fixture
def processes(stack) -> dict[str, tuple[int, int]]:
    """The stack's processes (pid, restarts) as this test starts: a crash fails the test
    it happened in, and the next tests run on the restarted server."""
    return _processes(stack)


def _processes(stack) -> dict[str, tuple[int, int]]:
    return {p["name"]: (p["pid"], p["restarts"]) for p in stack.status()["processes"]}


# -- one call -----------------------------------------------------------------------------
def call(dev: tango.DeviceProxy, iface: Interface, member: str, value) -> str:
    """Send one fuzzed call; '' when the answer is acceptable, else the finding."""
    is_cmd = member in iface.commands
    what = f"{iface.klass} {'command' if is_cmd else 'attribute'} {member}({fuzz.short(value)})"
    try:
        if is_cmd:
            if isinstance(value, tango.DeviceData):
                dev.command_inout_raw(member, value)
            elif iface.commands[member] == T.DevVoid:
                dev.command_inout(member)
            else:
                dev.command_inout(member, value)
        else:
            dev.write_attribute(member, value)
    except tango.DevFailed as exc:
        if member in WAITS and "timedout" in (exc.args[0].reason + exc.args[0].desc).lower():
            return ""
        why = fuzz.unreadable(exc)
        return f"{what}: {why}" if why else ""
    if not is_cmd and isinstance(value, float) and not math.isfinite(value):
        if not (math.isinf(value) and "limit" in member.lower()):  # an open limit is +-inf
            return f"{what}: accepted a non-finite value"
    return ""


def members(iface: Interface) -> list[tuple[str, T]]:
    return sorted([*iface.commands.items(), *iface.writable.items()])


# -- the stack is up and correct ----------------------------------------------------------
def calm(stack, iface: Interface, saved: dict) -> None:
    """Bring the fuzzed device back to rest: stop what it does, write back its settings."""
    dev = stack.device(iface.device, timeout_ms=30000)
    for cmd in CALM:
        if iface.commands.get(cmd) == T.DevVoid:
            try:
                dev.command_inout(cmd)
            except tango.DevFailed:
                pass  # a refusal in this state is fine: the checks below judge the result
    if "WaitScan" in iface.commands:
        dev.WaitScan(60)
    if "WaitMove" in iface.commands:
        _wait_still(dev)
    for name, value in saved.items():
        try:
            if name in iface.commands:
                dev.command_inout(name, value)
            else:
                dev.write_attribute(name, value)
        except tango.DevFailed:
            pass  # judged below: the stack must be correct all the same


def _wait_still(dev: tango.DeviceProxy, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while dev.state() == tango.DevState.MOVING:
        assert time.monotonic() < deadline, f"{dev.name()} still MOVING after {timeout} s"
        time.sleep(0.05)


def snapshot(stack, iface: Interface) -> dict:
    """The device's settings (and an axis' dial and user positions, SetDial/SetPosition fuzzed)."""
    dev = stack.device(iface.device)
    saved = {n: dev.read_attribute(n).value for n in iface.writable if n not in MOTIONS}
    if "SetDial" in iface.commands:
        saved["SetDial"] = dev.read_attribute("Dial_position").value
        saved["SetPosition"] = dev.read_attribute("Position").value
    return saved


def assert_up(stack, interfaces, processes) -> None:
    """No process died or was restarted; every device answers State."""
    assert _processes(stack) == processes, "a server died during the fuzz: " + str(stack.status())
    for name in interfaces:
        stack.device(name, timeout_ms=15000).state()


def assert_correct(stack) -> None:
    """A motor still moves to its target; a ct still counts."""
    m0 = stack.device("demo/axis/m0", timeout_ms=30000)
    if m0.state() == tango.DevState.OFF:
        m0.On()
    low, high = m0.read_attribute("Limits").value
    here = m0.read_attribute("Position").value
    target = here + 0.25 if here + 0.25 < high else here - 0.25
    assert low <= target <= high, (here, low, high)
    m0.write_attribute("Position", target)
    _wait_still(m0)
    assert m0.state() == tango.DevState.ON, m0.status()
    assert abs(m0.read_attribute("Position").value - target) < 1e-3
    scan = stack.device("demo/scan/demo", timeout_ms=60000)
    scan.WaitScan(60)
    scan.ct(["0.01", "diode"])
    assert scan.WaitScan(60)
    assert scan.state() in (tango.DevState.ON, tango.DevState.ALARM), scan.status()


# -- the tests ----------------------------------------------------------------------------
def test_every_member_has_a_fuzz_strategy(interfaces, fuzzed):
    """The coverage, from the servers' own interfaces: every device's class is fuzzed with
    the same interface, and every command argin and writable attribute type has a strategy."""
    missing = []
    for name, iface in interfaces.items():
        rep = fuzzed[iface.klass]
        for member, t in members(iface):
            if dict(members(rep)).get(member) != t:
                missing.append(f"{name} {member}: not in {rep.device}'s interface")
            try:
                fuzz.value_for(t)
            except KeyError:
                missing.append(f"{name} {member}: no fuzz strategy for Tango type {t}")
    assert not missing, "\n".join(missing)
    print({k: (len(v.commands), len(v.writable)) for k, v in sorted(fuzzed.items())})


def _classes() -> list[str]:
    """The Tango classes the demo configuration implies (core.config.tango_view), and
    BeaconDB's Beacon device: what the tests below are parametrized over."""
    from blisstango.core.config import load_tree
    from blisstango.core.config.tango_view import tango_view

    view = tango_view(load_tree(DEMO))
    return sorted({d.klass for d in view.devices.values() if not d.file.startswith("tango/")} | {"Beacon"})


def test_fuzzed_classes_are_the_stacks(fuzzed):
    """The parametrization (from the configuration) is every class the running stack serves."""
    assert sorted(fuzzed) == sorted(_classes())


@pytest.mark.parametrize("klass", _classes())
def test_wrong_argument_types_are_refused(stack, interfaces, fuzzed, processes, klass):
    iface = fuzzed[klass]
    dev = stack.device(iface.device, timeout_ms=15000)
    findings = []
    for member, t in sorted(iface.commands.items()):
        if t != T.DevVoid:
            findings.append(call(dev, iface, member, fuzz.wrong_type(t)))
    assert_up(stack, interfaces, processes)
    assert not [f for f in findings if f], "\n".join(f for f in findings if f)


@pytest.mark.parametrize("klass", _classes())
def test_fuzzed_calls_answer_clearly_and_the_stack_stays_correct(stack, interfaces, fuzzed, processes, klass):
    iface = fuzzed[klass]
    dev = stack.device(iface.device, timeout_ms=15000)
    saved = snapshot(stack, iface)
    findings: list[str] = []

    @settings(max_examples=ROUNDS, deadline=None, derandomize=False, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def one_round(data):
        order = data.draw(st.permutations(members(iface)), label="order")
        for member, t in order:
            value = data.draw(fuzz.value_for(t), label=member)
            finding = call(dev, iface, member, value)
            if finding:
                findings.append(finding)
        calm(stack, iface, saved)
        assert_up(stack, interfaces, processes)

    try:
        one_round()
    finally:
        calm(stack, iface, saved)
    assert_up(stack, interfaces, processes)
    assert not findings, f"{len(findings)} unclear answers:\n" + "\n".join(sorted(set(findings)))
    assert_correct(stack)
