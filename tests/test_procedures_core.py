"""Procedures in core, in this process: which functions are procedures, arguments read
without evaluating anything, output caught per run, stop/abort, results and errors.
(The ScanServer's Procedures device over these: tests/test_procedures_e2e.py.)"""

from __future__ import annotations

import json
import textwrap

import gevent
import gevent.event
import numpy as np
import pytest

from blisstango.core.counters import SimulationCounter, SimulationCounterController
from blisstango.core.procedures.arguments import ProcedureArgumentError, bind, show
from blisstango.core.procedures.catalogue import find_procedures
from blisstango.core.procedures.output import OutputLines, capture
from blisstango.core.procedures.runner import (
    ABORTED,
    FAILED,
    STOPPED,
    SUCCESS,
    ProcedureBusy,
    ProcedureRunner,
)
from blisstango.core.scanning import ScanContext
from blisstango.core.scanning.scan import ScanAborted
from blisstango.core.scanning.session_objects import SessionObjects, run_setup

SETUP = "/session/demo_setup.py"
SCRIPT = "/session/scripts/series.py"


class Slit:
    """A session object used by name."""

    name = "s1"


def _session(setup: str, script: str = "") -> SessionObjects:
    s = SessionObjects("local")
    ctrl = SimulationCounterController("sim")
    s.namespace.update(s1=Slit(), flat=SimulationCounter("flat", curve="flat", background=5.0, noise=0.0,
                                                         controller=ctrl))
    s.objects = ["s1", "flat"]
    s.setup_files, s.script_files = [SETUP], [SCRIPT]
    s.setup_text = f"# --- {SETUP}\n" + textwrap.dedent(setup)
    s.scripts_text = f"# --- {SCRIPT}\n" + textwrap.dedent(script) if script else ""
    return s


@pytest.fixture
def runner():
    setup = '''
        import os.path
        from os.path import join as imported_function

        def align(width: float, npoints: int = 20, *, label: str = "x", axis=None):
            """Align on the peak."""
            return {"width": width, "npoints": npoints, "label": label, "axis": getattr(axis, "name", axis)}

        def talk(n: int = 3):
            for i in range(n):
                print(f"line {i}")
                sleep(0.01)
            return n

        def fails():
            x = 1
            raise RuntimeError(f"x is {x}")

        def waits(seconds: float = 30.0):
            print("waiting")
            try:
                sleep(seconds)
            except Exception:
                print("an `except Exception` cannot swallow a stop")
            return "not reached"

        def counts(npoints: int = 3, count_time: float = 0.0):
            s = loopscan(npoints, count_time, flat)
            return list(s.get_data("flat"))

        def _private():
            pass

        lam = lambda: 1  # noqa
        '''
    script = '''
        def series(temperatures: list[float], dwell: float = 0.0) -> list:
            return [t * 2 for t in temperatures]
        '''
    s = _session(setup, script)
    r = ProcedureRunner("local", table_period=0.02)
    r.attach(s, ScanContext(session="local"))
    run_setup(s)
    assert s.setup_error is None
    r.setup_done()
    yield r
    r.abort()


def test_procedures_are_the_public_functions_of_setup_and_script_files(runner):
    procs = runner.procedures()
    assert list(procs) == ["align", "counts", "fails", "lam", "series", "talk", "waits"]
    assert procs["series"].file == SCRIPT and procs["align"].file == SETUP
    d = procs["align"].describe()
    assert d["doc"] == "Align on the peak." and d["line"] == 5
    assert d["signature"] == "(width: float, npoints: int = 20, *, label: str = 'x', axis=None)"
    assert [p["name"] for p in d["parameters"] if p["required"]] == ["width"]
    json.dumps([p.describe() for p in procs.values()])   # what ListProcedures sends
    # a function of another file (imported, or the scan functions) is not a procedure
    assert find_procedures({"imported": json.dumps}, [SETUP]) == {}


@pytest.mark.parametrize("texts, expected", [
    (["0.5"], {"width": 0.5, "npoints": 20, "label": "x", "axis": None}),
    (["0.5 30"], {"width": 0.5, "npoints": 30, "label": "x", "axis": None}),
    (["1", "npoints=30", "label=fine", "axis=s1"], {"width": 1.0, "npoints": 30, "label": "fine", "axis": "s1"}),
    (["2, npoints = 4, label='two words'"], {"width": 2.0, "npoints": 4, "label": "two words", "axis": None}),
    (["-1.5", "7.0"], {"width": -1.5, "npoints": 7, "label": "x", "axis": None}),
])
def test_arguments_are_read_as_the_typing_helper_splits_them(runner, texts, expected):
    proc = runner.procedures()["align"]
    call = bind(proc, texts, runner.objects(), "local")
    assert proc.function(*call.args, **call.kwargs) == expected


def test_typed_lists_and_call_text(runner):
    call = bind(runner.procedures()["series"], ["[20, 25.5]", "dwell=1"], runner.objects(), "local")
    assert call.args == [[20.0, 25.5]] and call.kwargs == {"dwell": 1.0}
    assert call.text() == "series([20.0, 25.5], dwell=1.0)"
    call = bind(runner.procedures()["align"], ["1", "axis=s1"], runner.objects(), "local")
    assert call.text() == "align(1.0, axis=s1)"


def test_values_shown_as_text_bind_back_to_the_same_values(runner):
    """What the shell's runproc sends (show) is what RunProcedure reads back (bind)."""
    temperatures = np.array([20.0, 25.5])
    call = bind(runner.procedures()["series"], [show(temperatures), f"dwell={show(np.float64(1.5))}"],
                runner.objects(), "local")
    assert call.args == [[20.0, 25.5]] and call.kwargs == {"dwell": 1.5}
    axis = runner.objects()["s1"]
    call = bind(runner.procedures()["align"], [show(np.int64(2)), show(7), f"label={show('a b')}",
                                               f"axis={show(axis)}"], runner.objects(), "local")
    assert call.args == [2.0, 7] and call.kwargs == {"label": "a b", "axis": axis}


@pytest.mark.parametrize("texts, message", [
    ([], r"^align: parameter 'width' has no value \(align\(width: float"),
    (["1", "2", "3"], r"^align: takes 2 positional argument\(s\) \(width, npoints\); argument 3 '3' has no parameter"),
    (["1", "colour=red"], r"^align: no parameter named 'colour'"),
    (["1", "npoints=2", "npoints=3"], r"^align: parameter 'npoints' is given twice"),
    (["width=1", "2"], r"^align: positional argument '2' after keyword arguments"),
    (["fast"], r"^align: parameter 'width': 'fast' is not an object of session local \(objects: flat, s1\)"),
    (["'1'"], r"^align: parameter 'width' expects a number, got '1'"),
    (["1", "1.5"], r"^align: parameter 'npoints' expects an integer, got 1.5"),
    (["1", "axis=m9"], r"^align: parameter 'axis': 'm9' is not an object of session local"),
    (["__import__('os').system('touch /tmp/i22-pwned')"], r"^align: parameter 'width': \"__import__\('os'\)"
                                                            r"\.system\('touch /tmp/i22-pwned'\)\" is code \(Call\)"),
    (["s1.__class__"], r"^align: parameter 'width': 's1.__class__' is code \(Attribute\)"),
    (["1+1"], r"^align: parameter 'width': '1\+1' is code \(BinOp\)"),
    (["[x for x in ()]"], r"^align: parameter 'width': .* is code \(ListComp\)"),
    (["1", "label=(1"], r"^align: argument 'label=\(1' cannot be read"),
])
def test_arguments_that_do_not_fit_are_refused_naming_procedure_and_parameter(runner, texts, message):
    with pytest.raises(ProcedureArgumentError, match=message):
        runner.start("align", texts)
    assert not runner.running


def test_unknown_procedure_and_names_that_are_no_procedure(runner):
    for name in ("nope", "_private", "loopscan", "os", "__import__"):
        with pytest.raises(ProcedureArgumentError, match=rf"^'{name}' is not a procedure of session local "
                                                          r"\(procedures: align, counts, fails, lam, series"):
            runner.start(name, [])


def test_a_run_prints_into_its_output_returns_a_result(runner):
    events = []
    runner.listeners.append(lambda kind, run, payload: events.append((kind, payload)))
    run = runner.start("talk", ["3"], started_by="test")
    assert runner.running and run.state == "RUNNING"      # returned at once
    assert runner.wait(10)
    assert run.state == SUCCESS and json.loads(run.result) == 3 and run.error == ""
    assert list(run.output.lines) == ["line 0", "line 1", "line 2"]
    assert events[0] == ("start", None) and events[-1] == ("end", None)
    assert [p for k, p in events if k == "output"] == [["line 0"], ["line 1"], ["line 2"]]


def test_output_is_caught_per_greenlet_tree():
    mine, other = OutputLines(), OutputLines()

    def child():
        print("from a child greenlet")

    def one():
        with capture(mine):
            print("first", end="")
            print(" line")
            gevent.spawn(child).join()
            gevent.sleep(0.01)

    def two():
        with capture(other):
            print("other")
            gevent.sleep(0.01)

    gevent.joinall([gevent.spawn(one), gevent.spawn(two)])
    assert list(mine.lines) == ["first line", "from a child greenlet"]
    assert list(other.lines) == ["other"]


def test_an_exception_is_the_error_and_the_runner_stays_usable(runner):
    run = runner.start("fails", [])
    assert runner.wait(10)
    assert run.state == FAILED and run.result == "null"
    first, _, tb = run.error.partition("\n\n")
    assert first == "RuntimeError: x is 1"
    assert tb.startswith("Traceback") and f'File "{SETUP}", line ' in tb and "raise RuntimeError" in tb
    run = runner.start("align", ["1"])
    assert runner.wait(10) and run.state == SUCCESS


def test_one_run_at_a_time(runner):
    runner.start("waits", ["30"])
    with pytest.raises(ProcedureBusy, match=r"^talk: procedure waits\(30.0\) is running"):
        runner.start("talk", [])
    assert runner.abort(5)


def test_stop_and_abort_interrupt_at_the_next_sleep(runner):
    for ask, state, cls in ((runner.stop, STOPPED, "ProcedureStopped"), (runner.abort, ABORTED, "ProcedureAborted")):
        run = runner.start("waits", ["30"])
        gevent.sleep(0.05)
        assert ask(5)
        assert run.state == state and run.error.startswith(f"{cls}: waits(30.0) ")
        assert list(run.output.lines) == ["waiting"]      # `except Exception` did not catch it


def test_a_procedure_scan_prints_its_table(runner):
    run = runner.start("counts", ["4"])
    assert runner.wait(20), run.output.lines
    assert run.state == SUCCESS, run.error
    assert json.loads(run.result) == [5.0] * 4
    lines = list(run.output.lines)
    assert lines[0].startswith("Scan 1 loopscan 4 0 ") and lines[1].split() == ["#", "elapsed", "flat"]
    rows = [ln.split() for ln in lines[2:6]]
    assert [r[0] for r in rows] == ["0", "1", "2", "3"] and all(r[2] == "5.0000" for r in rows)
    assert lines[6] == "Scan 1 ended (SUCCESS), 4 points"


def _wait_scan_running(runner, timeout: float = 20.0) -> None:
    """Until the run's scan took points (its table has a row)."""
    with gevent.Timeout(timeout, AssertionError(f"no scan row within {timeout} s")):
        while not any(ln.split()[:1] == ["0"] for ln in runner.run.output.lines):
            gevent.sleep(0.01)


def test_stop_during_a_scan_finishes_its_point(runner):
    run = runner.start("counts", ["1000", "0.05"])
    _wait_scan_running(runner)
    assert runner.stop(10)
    assert run.state == STOPPED and "ended after its point" in run.error_line
    assert any(ln.startswith("Scan 1 ended (USER_STOP)") for ln in run.output.lines)


def test_abort_during_a_scan_aborts_it(runner):
    run = runner.start("counts", ["1000", "0.05"])
    _wait_scan_running(runner)
    assert runner.abort(5)
    assert run.state == ABORTED
    assert runner.context.last_scan.end_reason.value == "USER_ABORT"


def test_abort_while_its_scan_is_being_launched_aborts_that_scan(runner):
    launched = gevent.event.Event()
    scans = []

    def slow_launch(scan):   # a slot that takes its time after starting the scan
        scans.append(scan)
        scan.start()
        launched.set()
        gevent.sleep(30)

    runner.attach(runner.session, runner.context, launch=slow_launch)
    runner.setup_done()
    run = runner.start("counts", ["1000", "0.05"])
    assert launched.wait(10)
    assert runner.abort(5)
    assert run.state == ABORTED
    with pytest.raises(ScanAborted):
        scans[0].wait(5)
    assert scans[0].end_reason.value == "USER_ABORT"


def test_a_run_aborted_before_it_started_still_ends(runner):
    events = []
    runner.listeners.append(lambda kind, run, payload: events.append(kind))
    run = runner.start("waits", ["30"])
    assert runner.abort(5)                 # no switch in between: its greenlet never ran
    assert run.state == ABORTED and run.error == "ProcedureAborted: waits(30.0) aborted before it started"
    assert events == ["end"] and not runner.running
