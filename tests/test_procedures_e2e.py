"""A session's procedures from a plain PyTango client, end to end: the demo stack
(`blisstango up`), the session's Procedures device demo/procedure/demo beside its
ScanServer, procedures of the demo's setup file (align_m0) and script files."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import tango
from helpers.demo_stack import DemoStack
from helpers.nexus import wait_complete

from blisstango.core.data import ScanReader

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PROC = "demo/procedure/demo"
SCAN = "demo/scan/demo"
#: procedures only these tests need, in a script file of the copied demo session
TEST_SCRIPT = '''
def broken(x: float = 1.0):
    """Prints, then raises."""
    print("about to fail")
    raise ValueError(f"broken: {x} is not acceptable")


def empty():
    pass


def chatter(n: int = 3, label: str = "line"):
    for i in range(n):
        print(f"{label} {i}")
    return {"lines": n, "label": label}
'''


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from conftest import DEMO_CONFIG

    s = DemoStack(tmp_path_factory.mktemp("procedures"), DEMO_CONFIG)
    (s.config / "sessions" / "scripts" / "test_procedures.py").write_text(TEST_SCRIPT)
    with s:
        yield s


@pytest.fixture
def proc(stack):
    dev = stack.device(PROC, timeout_ms=30000)
    assert dev.WaitProcedure(30)
    return dev


class Events:
    """Change events of one attribute, collected (Tango's event thread) until closed;
    `restart()` marks where a test's own events begin."""

    def __init__(self, dev: tango.DeviceProxy, attr: str) -> None:
        self.values: list = []
        self.start = 0
        self.cond = threading.Condition()
        self.dev = dev
        self.id = dev.subscribe_event(attr, tango.EventType.CHANGE_EVENT, self._on)

    def _on(self, ev) -> None:
        if ev.err:
            return
        with self.cond:
            self.values.append(ev.attr_value.value)
            self.cond.notify_all()

    def restart(self) -> None:
        with self.cond:
            self.start = len(self.values)

    @property
    def new(self) -> list:
        """The values received since restart()."""
        with self.cond:
            return self.values[self.start:]

    def until(self, predicate, timeout: float) -> bool:
        """Wait until predicate(new values) holds; False after timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self.values[self.start:]):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True

    def wait_for(self, predicate, timeout: float = 30.0) -> None:
        assert self.until(predicate, timeout), f"not seen within {timeout} s: {self.new[-5:]}"

    def close(self) -> None:
        self.dev.unsubscribe_event(self.id)


class Watch:
    """The Procedures device's Output and State events, subscribed once for the module
    and known to arrive: cppTango does not promise that events pushed just after
    subscribe_event returns reach the client (ZeroMQ's subscription travels on its own;
    measured here at load 5: every event of 3 runs in 40 started right after a fresh
    subscription was lost). `live()` runs a probe procedure until its events come."""

    def __init__(self, dev: tango.DeviceProxy) -> None:
        self.dev = dev
        self.output = Events(dev, "Output")
        self.state = Events(dev, "State")

    def restart(self) -> None:
        """From now on: a test's run (its first Output event is the run's empty one)."""
        self.output.restart()
        self.state.restart()

    def live(self, attempts: int = 5) -> None:
        self.restart()
        for attempt in range(attempts):
            self.dev.RunProcedure(["chatter", "1", f"label=probe{attempt}"])
            assert self.dev.WaitProcedure(30)
            if self.output.until(lambda v: any(x is not None and len(x) and x[0].startswith("probe") for x in v),
                                 10) and self.state.until(lambda v: tango.DevState.RUNNING in v, 10):
                return
        raise AssertionError(f"no event of {attempts} probe runs reached the client: "
                             f"Output {self.output.new}, State {self.state.new}")

    def close(self) -> None:
        self.output.close()
        self.state.close()


@pytest.fixture(scope="module")
def watch(stack):
    w = Watch(stack.device(PROC, timeout_ms=30000))
    try:
        w.live()
        yield w
    finally:
        w.close()


def lines_of(events: Events) -> list[str]:
    """The lines of the run started after restart(), from Output events: a run starts with
    an empty event, then each event carries the new lines."""
    out: list[str] | None = None
    for value in events.new:
        if value is None or len(value) == 0:
            out = []
        elif out is not None:
            out.extend(value)
    return out or []


def test_procedures_are_listed_with_signature_and_doc(proc):
    listed = {p["name"]: p for p in json.loads(proc.ListProcedures())}
    assert {"align_m0", "wait_and_count", "broken", "empty", "chatter"} <= set(listed)
    align = listed["align_m0"]
    assert align["signature"] == "(start: float = 0.0, stop: float = 5.0, intervals: int = 20, " \
                                 "count_time: float = 0.1) -> float"
    assert align["doc"].startswith("Align m0 on the diode") and align["file"].endswith("demo_setup.py")
    assert listed["wait_and_count"]["file"].endswith("scripts/waiting.py")
    assert set(proc.Procedures) == set(listed)
    assert proc.state() == tango.DevState.ON


def test_align_m0_runs_with_live_output_and_leaves_m0_at_the_centre(stack, proc, watch):
    scan_dev = stack.device(SCAN, timeout_ms=30000)
    m0 = stack.device(stack.device_name("m0"))
    m0.write_attribute("Position", -1.0)
    m0.WaitMove()
    output, states = watch.output, watch.state
    watch.restart()
    number = proc.RunProcedure(["align_m0", "0 5", "intervals=20", "count_time=0.02"])
    assert proc.state() == tango.DevState.RUNNING        # RunProcedure returned at once
    assert proc.Procedure == "align_m0(0.0, 5.0, intervals=20, count_time=0.02)"
    assert proc.RunNumber == number
    output.wait_for(lambda v: any("m0 is at the centre" in ln for ln in lines_of(output)), 60)
    assert proc.WaitProcedure(30)
    states.wait_for(lambda v: v and v[-1] == tango.DevState.ON)
    assert tango.DevState.RUNNING in states.new
    lines = lines_of(output)
    head = next(i for i, ln in enumerate(lines) if ln.startswith("Scan "))
    assert "ascan m0 0 5 20 0.02" in lines[head]
    assert lines[head + 1].split() == ["#", "m0", "elapsed", "diode"]
    rows = [ln.split() for ln in lines[head + 2:head + 23]]
    np.testing.assert_allclose([float(r[1]) for r in rows], np.linspace(0, 5, 21), atol=1e-3)
    assert [int(r[0]) for r in rows] == list(range(21))
    assert lines[head + 23].startswith("Scan ") and "ended (SUCCESS), 21 points" in lines[head + 23]
    assert list(proc.Output) == lines          # a late reader gets every line of the run
    centre = json.loads(proc.Result)
    assert abs(centre - 2.5) < 0.05
    assert abs(m0.read_attribute("Position").value - centre) < 0.002
    assert proc.Error == ""
    info = json.loads(proc.RunInfo)
    assert info["state"] == "SUCCESS" and len(info["scans"]) == 1
    scan_info = json.loads(scan_dev.ScanInfo)    # the procedure's scan is the ScanServer's scan
    assert scan_info["scan_nb"] == info["scans"][0] and scan_info["end_reason"] == "SUCCESS"
    entry = assert_rows_in_redis_and_file(stack, scan_info, rows)   # in Redis and NeXus as any scan
    with h5py.File(scan_info["filename"], "r", locking=False) as f:
        assert f[entry]["title"][()].decode().startswith("ascan m0 0 5 20 0.02")


@pytest.fixture
def slow_m0(stack, proc):
    """m0 at 0, slowed to 0.3 mm/s: `align_m0 0 9 30 0.02` takes 30 s of motion, longer
    than a test's wait for its row 2 (SLOW_WAIT s at most; ~2 s when idle), so the scan
    cannot end before the test's stop or abort, which lands in a move between two points."""
    m0 = stack.device(stack.device_name("m0"))
    m0.write_attribute("Position", 0.0)          # at the scan's start, at full speed
    m0.WaitMove()
    velocity = m0.read_attribute("Velocity").value
    m0.write_attribute("Velocity", 0.3)
    try:
        yield m0
    finally:
        proc.AbortProcedure()          # a test that failed early leaves no run (nothing to do after an end)
        m0.write_attribute("Velocity", velocity)


SLOW_WAIT = 20
SLOW_SCAN = ["align_m0", "0", "9", "30", "0.02"]


def wait_for_row(watch: Watch, row: int) -> None:
    watch.output.wait_for(lambda v: any(ln.split()[:1] == [str(row)] for ln in lines_of(watch.output)), SLOW_WAIT)


def assert_rows_in_redis_and_file(stack, scan_info: dict, rows: list[list[str]]) -> str:
    """The scan's m0 and diode in Redis are the rows the procedure's table printed, as
    many and no more, and its NeXus entry holds the same arrays: the entry's name."""
    reader = ScanReader(stack.data_redis(), scan_info["key"])
    assert reader.info["end_reason"] == scan_info["end_reason"]
    m0_channel = next(c for c in reader.channels if c.split(":")[-1] == "m0")
    diode_channel = next(c for c in reader.channels if c.split(":")[-1] == "diode")
    redis_m0, redis_diode = reader.read_all(m0_channel), reader.read_all(diode_channel)
    assert len(redis_m0) == len(redis_diode) == len(rows)
    np.testing.assert_allclose(redis_m0, [float(r[1]) for r in rows], atol=1e-3)
    entry = f"{scan_info['scan_nb']}.1"
    wait_complete(Path(scan_info["filename"]), entry, timeout=60)
    with h5py.File(scan_info["filename"], "r", locking=False) as f:
        meas = f[entry]["measurement"]
        np.testing.assert_array_equal(meas["m0"][()], redis_m0)
        np.testing.assert_array_equal(meas["diode"][()], redis_diode)
    return entry


def run_slow_scan_to_row_2(stack, proc, watch: Watch):
    """RunProcedure of the slowed align_m0, returned once its scan printed row 2: the
    ScanServer device, for the test's stop or abort in the middle of the scan."""
    watch.restart()
    proc.RunProcedure(SLOW_SCAN)
    wait_for_row(watch, 2)
    return stack.device(SCAN, timeout_ms=30000)


def test_abort_during_the_scan_ends_it_and_stops_m0(stack, proc, watch, slow_m0):
    scan_dev, m0 = run_slow_scan_to_row_2(stack, proc, watch), slow_m0
    proc.AbortProcedure()          # returns once the procedure has ended
    assert proc.WaitProcedure(3.0)
    assert proc.state() == tango.DevState.ON
    error = proc.Error
    assert error.startswith("ProcedureAborted: align_m0(0.0, 9.0, 30, 0.02) aborted by request\n\nTraceback")
    assert json.loads(proc.RunInfo)["state"] == "ABORTED"
    assert scan_dev.WaitScan(10)
    assert json.loads(scan_dev.ScanInfo)["end_reason"] == "USER_ABORT"
    assert m0.state() == tango.DevState.ON
    assert 0.5 < m0.read_attribute("Position").value < 9.0      # stopped on the way, not at the end
    assert scan_dev.state() in (tango.DevState.ON, tango.DevState.ALARM)


def test_stop_during_the_scan_ends_it_at_a_point_with_its_data_complete(stack, proc, watch, slow_m0):
    scan_dev, m0 = run_slow_scan_to_row_2(stack, proc, watch), slow_m0
    proc.StopProcedure()           # returns once the procedure has ended (its scan after its point)
    assert proc.WaitProcedure(3.0) and proc.state() == tango.DevState.ON
    info = json.loads(proc.RunInfo)
    assert info["state"] == "STOPPED"
    assert proc.Error.startswith(f"ProcedureStopped: align_m0(0.0, 9.0, 30, 0.02) stopped by request "
                                 f"(scan {info['scans'][0]} ended after its point)\n\nTraceback")
    assert scan_dev.WaitScan(10)
    scan_info = json.loads(scan_dev.ScanInfo)
    assert scan_info["scan_nb"] == info["scans"][0] and scan_info["end_reason"] == "USER_STOP"
    lines = lines_of(watch.output)
    head = next(i for i, ln in enumerate(lines) if ln.startswith("Scan "))
    end = next(i for i, ln in enumerate(lines) if i > head and ln.startswith("Scan "))
    rows = [ln.split() for ln in lines[head + 2:end]]
    n = len(rows)
    assert 3 <= n < 31                                        # stopped on the way
    assert lines[end] == f"Scan {scan_info['scan_nb']} ended (USER_STOP), {n} points"
    assert [int(r[0]) for r in rows] == list(range(n))
    np.testing.assert_allclose([float(r[1]) for r in rows], np.linspace(0, 9, 31)[:n], atol=1e-3)
    assert not any("centre" in ln for ln in lines)            # the procedure went no further
    assert m0.state() == tango.DevState.ON                    # at the last point, not between two
    assert abs(m0.read_attribute("Position").value - float(rows[-1][1])) < 0.002
    assert_rows_in_redis_and_file(stack, scan_info, rows)      # every point complete, nothing more


def test_stop_ends_a_procedure_at_its_sleep_and_scan_commands_wait_for_it(stack, proc, watch):
    scan_dev = stack.device(SCAN, timeout_ms=30000)
    watch.restart()
    proc.RunProcedure(["wait_and_count", "seconds=60"])
    try:
        watch.output.wait_for(lambda v: "waiting 60 s" in lines_of(watch.output), 30)
        with pytest.raises(tango.DevFailed) as err:
            scan_dev.ct(["0.01"])
        assert err.value.args[0].reason == "ScanArgumentError"
        assert "ct: procedure wait_and_count(seconds=60.0) is running" in err.value.args[0].desc
    finally:
        proc.StopProcedure()
    assert proc.WaitProcedure(10) and proc.state() == tango.DevState.ON
    assert proc.Error.startswith("ProcedureStopped: wait_and_count(seconds=60.0) stopped by request")
    assert scan_dev.ct(["0.01"]) == 0        # the session's scans are free again


def test_a_procedure_that_raises_reports_it_and_the_device_stays_usable(proc):
    proc.RunProcedure(["broken", "2"])
    assert proc.WaitProcedure(30)
    error = proc.Error
    first, _, tb = error.partition("\n\n")
    assert first == "ValueError: broken: 2.0 is not acceptable"
    assert "test_procedures.py\", line 5, in broken" in tb and 'raise ValueError(f"broken' in tb
    assert list(proc.Output) == ["about to fail"] and proc.Result == "null"
    assert proc.state() == tango.DevState.ON
    assert "ended FAILED: ValueError: broken: 2.0 is not acceptable" in proc.status()
    proc.RunProcedure(["chatter", "2", "label=row"])
    assert proc.WaitProcedure(30)
    assert json.loads(proc.Result) == {"lines": 2, "label": "row"} and proc.Error == ""
    assert list(proc.Output) == ["row 0", "row 1"]


@pytest.mark.parametrize("argin, reason, desc", [
    (["align_m9"], "ProcedureArgumentError", "'align_m9' is not a procedure of session demo (procedures: align_m0,"),
    (["os.system", "'ls'"], "ProcedureArgumentError", "'os.system' is not a procedure of session demo"),
    (["align_m0", "0", "5", "twenty"], "ProcedureArgumentError",
     "align_m0: parameter 'intervals': 'twenty' is not an object of session demo"),
    (["align_m0", "count_time='fast'"], "ProcedureArgumentError",
     "align_m0: parameter 'count_time' expects a number, got 'fast'"),
    (["align_m0", "0", "5", "20", "0.1", "7"], "ProcedureArgumentError",
     "align_m0: takes 4 positional argument(s) (start, stop, intervals, count_time); argument 5 '7' has no parameter"),
    (["align_m0", "speed=3"], "ProcedureArgumentError", "align_m0: no parameter named 'speed'"),
    (["align_m0", "__import__('os').system('touch /tmp/i22-pwned')"], "ProcedureArgumentError",
     "align_m0: parameter 'start': \"__import__('os').system('touch /tmp/i22-pwned')\" is code (Call)"),
    (["chatter", "label=__import__('os').getcwd()"], "ProcedureArgumentError",
     "chatter: parameter 'label': \"__import__('os').getcwd()\" is code (Call)"),
])
def test_a_call_that_does_not_fit_is_refused_at_once(proc, argin, reason, desc):
    before = proc.RunNumber
    with pytest.raises(tango.DevFailed) as err:
        proc.RunProcedure(argin)
    assert err.value.args[0].reason == reason
    assert err.value.args[0].desc.startswith(desc), err.value.args[0].desc
    assert proc.RunNumber == before and proc.state() == tango.DevState.ON
    assert not Path("/tmp/i22-pwned").exists()
