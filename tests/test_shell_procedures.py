"""The scientist's shell, procedure part: `lsproc`, `runproc` on the session's Procedures
device with live output, a procedure started from Tango by someone else in the prompt,
and the setup file's procedure run in-process."""

from __future__ import annotations

import re

import pytest
import tango

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def procedures(shell_stack):
    dev = shell_stack.device("demo/procedure/demo", timeout_ms=30000)
    assert dev.WaitProcedure(30)
    yield dev
    dev.AbortProcedure()


def test_lsproc_lists_the_session_procedures(shell, procedures):
    out = shell.run("lsproc")
    assert re.search(r"align_m0\s+\(start: float = 0\.0, stop: float = 5\.0, intervals: int = 20, "
                     r"count_time: float = 0\.1\) -> float\s+Align m0 on the diode", out), out
    assert re.search(r"wait_and_count\s+\(seconds: float = 1\.0, count_time: float = 0\.1\) -> None", out), out


def test_runproc_runs_on_the_server_with_live_output(shell, procedures):
    out = shell.run("runproc align_m0 0 5 20 0.02", timeout=120)
    rows = [ln.split() for ln in out.splitlines() if re.match(r"^\s+\d+\s+-?\d+\.\d{4}\s", ln)]
    assert [int(r[0]) for r in rows] == list(range(21)), out
    assert "m0 is at the centre of the diode peak" in out
    centre = float(re.search(r"Out \[\d+\]: (\S+)", out)[1])
    assert abs(centre - 2.5) < 0.05
    assert procedures.Procedure == "align_m0(0.0, 5.0, 20, 0.02)"   # it ran on the server


def test_a_refused_call_is_one_line(shell, procedures):
    out = shell.run("runproc align_m0 0 5 'many'")
    assert "ProcedureArgumentError: align_m0: parameter 'intervals' expects an integer, got 'many'" in out
    assert "Traceback" not in out


def test_a_procedure_started_from_tango_shows_in_the_shell(shell, procedures):
    procedures.RunProcedure(["wait_and_count", "seconds=120"])
    out = shell.run("lsproc")
    assert re.search(r"running: wait_and_count\(seconds=120\.0\) \(run \d+, started by \S+ client pid \d+", out), out
    assert "[wait_and_count running]" in shell.child.after        # the prompt after the command
    procedures.AbortProcedure()
    assert procedures.state() == tango.DevState.ON
    shell.run("1")
    assert "running" not in shell.child.after


def test_the_setup_file_procedure_also_runs_in_process(shell, procedures):
    before = procedures.RunNumber
    out = shell.run("align_m0(0, 5, 20, 0.02)", timeout=120)
    assert "m0 is at the centre of the diode peak" in out and re.search(r"Out \[\d+\]: 2\.[45]", out), out
    assert procedures.RunNumber == before          # the shell ran it, not the server
