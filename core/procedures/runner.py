"""Runs a session's procedures one at a time, in a greenlet, with their output caught.

The ScanServer process holds one ProcedureRunner per session (`runner_for`): the
ScanServer device attaches the session it loaded (namespace, scan context, and the
launcher that runs a scan through its one-scan slot, so a procedure's scans are scans
like any other: events, locks, Redis, file); the Procedures device starts, stops and
reports runs. A run's print()s, and the table of each of its scans, become its Output
lines; its return value its Result (JSON); an exception its Error (one line, then the
traceback).

Stop ends a run gently: a running scan finishes its point, then the procedure is
interrupted (ProcedureStopped); outside a scan it is interrupted at its next sleep or
wait. Abort interrupts it at once (ProcedureAborted), aborts its scan (motion stopped)
and stops every axis it moved. Both are BaseExceptions, as KeyboardInterrupt is, so a
procedure's `except Exception` does not swallow them.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent

from ..scanning.live import LiveFeed, Update
from ..scanning.scan import Scan, ScanState
from ..scanning.table import ScanTable
from .arguments import ProcedureArgumentError, bind
from .catalogue import Procedure, find_procedures
from .output import OutputLines, capture, in_tree

log = logging.getLogger(__name__)

#: run states (ProcedureRun.state)
RUNNING, SUCCESS, FAILED, STOPPED, ABORTED = "RUNNING", "SUCCESS", "FAILED", "STOPPED", "ABORTED"


class ProcedureStopped(BaseException):
    """Raised in a procedure ended by a stop request."""


class ProcedureAborted(BaseException):
    """Raised in a procedure ended by an abort request."""


class ProcedureBusy(ProcedureArgumentError):
    """A procedure runs already (one at a time per session)."""


@dataclass
class ProcedureRun:
    """One run of a procedure: what it was asked, what it printed, how it ended."""

    number: int
    name: str
    call: str                      # "align_m0(m0, width=1.0)"
    started_by: str
    output: OutputLines = field(default_factory=OutputLines)
    state: str = RUNNING
    result: str = "null"           # JSON of the return value
    error: str = ""                # "<Class>: <message>\n\n<traceback>"
    start_time: float = field(default_factory=time.time)
    end_time: float | None = None
    scans: list[int] = field(default_factory=list)

    @property
    def error_line(self) -> str:
        return self.error.split("\n", 1)[0]

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "name": self.name, "call": self.call, "started_by": self.started_by,
                "state": self.state, "result": json.loads(self.result), "error": self.error_line,
                "start_time": self.start_time, "end_time": self.end_time, "scans": list(self.scans),
                "output_lines": self.output.count}


def to_json(value: Any) -> str:
    """A return value as JSON: numbers, text, lists, dicts; numpy values as Python ones; a
    scan as {scan, key, end_reason}; another object by its name, else its repr."""
    def plain(v: Any) -> Any:
        if isinstance(v, Scan):
            return {"scan": v.scan_number, "key": v.key, "end_reason": v.end_reason.value if v.end_reason else None}
        if hasattr(v, "tolist"):
            return v.tolist()
        name = getattr(v, "name", None)
        return name if isinstance(name, str) else repr(v)
    return json.dumps(value, default=plain)


def error_text(exc: BaseException, skip_frames: int = 1) -> str:
    """One line a person reads, a blank line, then the traceback (runner frames left out)."""
    tb = exc.__traceback__
    for _ in range(skip_frames):
        tb = tb.tb_next if tb is not None else None
    lines = traceback.format_exception(type(exc), exc, tb)
    return f"{type(exc).__name__}: {exc}\n\n{''.join(lines)}"


class ProcedureRunner:
    """The procedures of one session in this process. listeners: fn(kind, run, payload)
    with kind "attach" (run None), "start", "output" (payload: new lines), "end"."""

    def __init__(self, session_name: str, table_period: float = 0.1) -> None:
        self.session_name = session_name
        self.table_period = table_period
        self.session: Any = None          # core.scanning.session_objects.SessionObjects
        self.context: Any = None          # core.scanning.ScanContext
        self.run: ProcedureRun | None = None
        self.listeners: list[Callable[[str, ProcedureRun | None, Any], None]] = []
        self._launch: Callable[[Scan], Any] | None = None
        self._task: gevent.Greenlet | None = None
        self._scan: Scan | None = None
        self._request: str | None = None  # "stop" | "abort"
        self._moved: dict[str, Any] = {}
        self._ready = False
        self._numbers = itertools.count(1)

    # ------------------------------------------------------------------ the session
    def attach(self, session: Any, context: Any, launch: Callable[[Scan], Any] | None = None) -> None:
        """Serve `session`: its namespace gets the scan and alignment functions bound to
        `context`, each scan started by launch(scan) (default: scan.start()). Call it
        before the setup files run, so they and the procedures find those functions;
        then `setup_done()`."""
        from .scan_functions import scan_functions

        self.detach()
        self.session, self.context, self._launch = session, context, launch
        session.namespace.update(scan_functions(self))

    def setup_done(self) -> None:
        """The setup and script files ran: procedures can be listed and run; the axes
        the runs move are watched (to stop them on abort)."""
        for axis in list(self.session.axes.values()):
            listeners = getattr(axis, "move_listeners", None)
            if listeners is not None and self._on_move not in listeners:
                listeners.append(self._on_move)
        self._ready = True
        self._emit("attach", None, None)

    def detach(self) -> None:
        """The session goes away (its ScanServer device is initialised again): a run is
        aborted, nothing can start until the next attach."""
        if self.running:
            self.abort()
        was = self._ready
        self.session, self._ready = None, False
        if was:
            self._emit("attach", None, None)

    @property
    def attached(self) -> bool:
        return self.session is not None and self._ready

    def procedures(self) -> dict[str, Procedure]:
        if self.session is None:
            return {}
        files = [*self.session.setup_files, *getattr(self.session, "script_files", [])]
        return find_procedures(self.session.namespace, files)

    def objects(self) -> dict[str, Any]:
        """The names an argument may use: the session's objects and what its setup made."""
        s = self.session
        ns = s.namespace
        out = {n: ns[n] for n in s.objects if n in ns}
        for group in (s.axes, s.counters, s.groups, s.devices):
            out.update(group)
        return out

    # ------------------------------------------------------------------ runs
    @property
    def running(self) -> bool:
        """A run goes on (its end is reported from its own greenlet: it is over once its
        state is no longer RUNNING)."""
        return self._task is not None and not self._task.ready() and self.run.state == RUNNING

    def in_run(self) -> bool:
        """Is the current greenlet (part of) the running procedure?"""
        return self.running and in_tree(self._task)

    def start(self, name: str, texts: list[str], started_by: str = "") -> ProcedureRun:
        """Check the call and start it; returns at once. ProcedureArgumentError (naming the
        procedure and the parameter) when the name or an argument does not fit,
        ProcedureBusy while another run goes on."""
        if not self.attached:
            raise ProcedureBusy(f"session {self.session_name} is not loaded yet: no procedure can run")
        if self.running:
            run = self.run
            raise ProcedureBusy(f"{name}: procedure {run.call} is running (started by {run.started_by or '?'}): "
                                "stop it or wait for its end")
        procedures = self.procedures()
        procedure = procedures.get(name)
        if procedure is None:
            raise ProcedureArgumentError(f"{name!r} is not a procedure of session {self.session_name} "
                                         f"(procedures: {', '.join(procedures) or 'none'})")
        call = bind(procedure, texts, self.objects(), self.session_name)
        run = ProcedureRun(next(self._numbers), name, call.text(), started_by)
        run.output.listeners.append(lambda lines: self._emit("output", run, lines))
        self.run, self._request, self._moved = run, None, {}
        self._task = gevent.spawn(self._run, run, call)
        self._task.rawlink(lambda _task: self._never_ran(run))
        return run

    def _never_ran(self, run: ProcedureRun) -> None:
        """A run killed before its greenlet started reports its end all the same."""
        if run.state == RUNNING:
            run.state = ABORTED
            run.error = f"ProcedureAborted: {run.call} aborted before it started"
            run.end_time = time.time()
            self._emit("end", run, None)

    def _run(self, run: ProcedureRun, call) -> None:
        # reported from the run's greenlet: after the caller's reply went out, before the end
        self._emit("start", run, None)
        try:
            with capture(run.output):
                value = call.procedure.function(*call.args, **call.kwargs)
            run.result, run.state = to_json(value), SUCCESS
        except ProcedureStopped as exc:
            run.state, run.error = STOPPED, error_text(exc)
        except (ProcedureAborted, gevent.GreenletExit) as exc:
            run.state = ABORTED
            run.error = error_text(exc if isinstance(exc, ProcedureAborted)
                                   else ProcedureAborted(f"{run.call} aborted: the server ends it"))
        except BaseException as exc:  # noqa: BLE001 - a procedure's error is its report, never the server's
            run.state, run.error = FAILED, error_text(exc)
        finally:
            if run.state in (STOPPED, ABORTED):
                self._halt_moved(abort=run.state == ABORTED)
            run.end_time = time.time()
            self._emit("end", run, None)

    def stop(self, timeout: float | None = 10.0) -> bool:
        """Gentle: a running scan ends after its point, then the run stops (elsewhere: at
        its next sleep or wait); True once it has ended (within timeout)."""
        if not self.running:
            return True
        self._request = "stop"
        scan = self._scan
        if scan is not None and scan.state not in (ScanState.IDLE, ScanState.DONE):
            scan.stop()
        else:  # (a scan still starting is aborted by the run's clean-up)
            self._task.kill(ProcedureStopped(f"{self.run.call} stopped by request"), block=False)
        return self.wait(timeout)

    def abort(self, timeout: float | None = 10.0) -> bool:
        """At once: the run is interrupted, its scan aborted, the axes it moved stopped."""
        if not self.running:
            return True
        self._request = "abort"
        self._task.kill(ProcedureAborted(f"{self.run.call} aborted by request"), block=False)
        scan = self._scan
        if scan is not None:
            scan.abort()   # the run's own clean-up aborts it too: Scan.abort is idempotent
        self._halt_moved(abort=True)
        return self.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """True once no run goes on (False: still running after timeout s)."""
        if self._task is not None:
            self._task.join(timeout)
            if self._task.ready():
                self._never_ran(self.run)   # (its link may not have run yet)
        return not self.running

    # ------------------------------------------------------------------ scans of a run
    def run_scan(self, scan: Scan) -> Scan:
        """Run a scan built by a procedure (or a setup file) through the launcher; inside a
        run its table is printed as points come, and a stop or abort reaches it."""
        if not self.in_run():
            self._launch_scan(scan)
            scan.wait()
            return scan
        run = self.run
        self._scan = scan     # from now on a stop or abort reaches it, even while it starts
        try:
            self._launch_scan(scan)
            if scan.scan_number:
                run.scans.append(int(scan.scan_number))
            self._print_table(scan)
        finally:
            self._scan = None
            if scan.state is not ScanState.DONE:  # the run was interrupted: its scan ends with it
                scan.abort()
        if self._request == "stop":
            raise ProcedureStopped(f"{run.call} stopped by request (scan {scan.scan_number} ended after its point)")
        scan.wait(0)  # the scan's error, or ScanAborted, as scan.run() raises them
        return scan

    def _launch_scan(self, scan: Scan) -> None:
        if self._launch is not None:
            self._launch(scan)
            return
        task = scan.start()
        while scan.state is ScanState.IDLE and not task.ready():  # numbered, published
            gevent.sleep(0.001)

    def _print_table(self, scan: Scan) -> None:
        info = scan.scan_info
        table = ScanTable({c.name: c.description() for c in scan.chain.channels}, int(info.get("npoints") or 0))
        number = f" {scan.scan_number}" if scan.scan_number else ""
        print(f"Scan{number} {info.get('title', scan.name)}  (key {scan.key})")
        print(table.header())

        def push(update: Update) -> None:
            for channel, (_first, values) in update.new.items():
                for row in table.add(channel, values):
                    print(row)

        LiveFeed(scan, self.table_period).run(push)
        reason = scan.end_reason.value if scan.end_reason else "?"
        print(f"Scan{number} ended ({reason}), {table.printed} points")
        if scan.error is not None:
            print(f"error: {type(scan.error).__name__}: {scan.error}")
        filename = info.get("filename")
        if scan.save and filename:
            print(f"file: {filename}")

    # ------------------------------------------------------------------ axes of a run
    def _on_move(self, axis: Any) -> None:
        if self.in_run():
            self._moved[axis.name] = axis

    def _halt_moved(self, abort: bool) -> None:
        for axis in list(self._moved.values()):
            try:
                if axis.is_moving:
                    (axis.abort if abort else axis.stop)(wait=True)
            except Exception:  # noqa: BLE001 - every other axis must still be stopped
                log.exception("%s: stopping %s after the procedure ended", self.session_name, axis.name)

    # ------------------------------------------------------------------ reports
    def _emit(self, kind: str, run: ProcedureRun | None, payload: Any) -> None:
        for listener in list(self.listeners):
            try:
                listener(kind, run, payload)
            except Exception:  # noqa: BLE001 - a broken listener must not end the run
                log.exception("procedure listener failed on %s", kind)


_runners: dict[str, ProcedureRunner] = {}


def runner_for(session_name: str) -> ProcedureRunner:
    """The one runner of a session in this process (its ScanServer and Procedures devices
    share it)."""
    runner = _runners.get(session_name)
    if runner is None:
        runner = _runners[session_name] = ProcedureRunner(session_name)
    return runner


__all__ = ["ABORTED", "FAILED", "RUNNING", "STOPPED", "SUCCESS", "ProcedureAborted", "ProcedureBusy",
           "ProcedureRun", "ProcedureRunner", "ProcedureStopped", "error_text", "runner_for", "to_json"]
