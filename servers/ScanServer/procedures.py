"""Procedures device `<domain>/procedure/<session>`: the session's procedures from any client.

A sibling of the session's ScanServer device, in the same process: a procedure runs in
the very namespace the ScanServer's setup files filled, and its scans go through the
ScanServer's one-scan slot (events, locks, Redis, file as any scan). Its own device
keeps its own State (RUNNING for the whole procedure, across its scans and moves,
while the ScanServer's State keeps saying whether a scan runs) and its Output, Result
and Error, as Sardana's Door does beside its MacroServer. The logic is core's
(core/procedures); this is the Tango face.

Commands: ListProcedures -> JSON, RunProcedure([name, args...]) -> run number (at once),
StopProcedure, AbortProcedure, WaitProcedure(timeout) -> bool. Attributes (change
events): Output (str[]; read: every line of the current/last run, events: the new
lines), Result (JSON), Error (one line, blank line, traceback), Procedure (the call),
RunNumber, RunInfo (JSON), Procedures (names).
"""

from __future__ import annotations

import json
import logging

import gevent
from tango import DevState, GreenMode
from tango.server import Device, attribute, command, device_property

from blisstango.core.procedures.output import KEEP_LINES
from blisstango.core.procedures.runner import ProcedureRun, runner_for

from ..errors import devfailed
from ..pusher import ShownAndListened, listened
from ..request_thread import in_request_thread, no_hardware_read, request_hook

log = logging.getLogger(__name__)
_EVENT_ATTRS = ("Output", "Result", "Error", "Procedure", "RunNumber", "RunInfo", "Procedures")


def client_text(device: Device) -> str:
    """Who sent the current request: `<lang> client pid <pid> on <host>` (best effort)."""
    try:
        ident = device.get_client_ident()
    except Exception:  # noqa: BLE001 - not in a request, or an old client
        return "this server"
    if ident is None:
        return "this server"
    pid = getattr(ident, "client_pid", 0)
    host = str(getattr(ident, "client_ip", "") or "").removeprefix("giop:tcp:").rsplit(":", 1)[0]
    lang = str(getattr(ident, "client_lang", "")).rsplit(".", 1)[-1]
    return f"{lang or 'Tango'} client pid {pid}" + (f" on {host}" if host else "")


class Procedures(ShownAndListened, Device):
    """Runs BY_DEVICE with its ScanServer (servers.pusher), pushing only what is listened to."""

    green_mode = GreenMode.Gevent
    read_attr_hardware = no_hardware_read

    @in_request_thread
    def always_executed_hook(self) -> None:
        """request_hook, and who sends the request: only the request thread knows (the
        command itself runs in the hub), kept for RunProcedure's `started_by`."""
        request_hook(self)
        self._client = client_text(self)

    ObjectName = device_property(dtype=str, default_value="", doc="session whose procedures this device runs")

    # ------------------------------------------------------------------ life
    def init_device(self) -> None:
        super().init_device()
        self.session_name = self.ObjectName or self.get_name().rsplit("/", 1)[-1]
        self.runner = runner_for(self.session_name)
        self._client = "this server"
        self._pushed: dict[str, object] = {}
        self._pending: list[str] = []
        self._flush: gevent.Greenlet | None = None
        for name in (*_EVENT_ATTRS, "State", "Status"):
            self.set_change_event(name, True, False)
        self.runner.listeners.append(self._on_runner)
        self._show_state()

    def delete_device(self) -> None:
        if self._on_runner in self.runner.listeners:
            self.runner.listeners.remove(self._on_runner)
        super().delete_device()

    def _run(self) -> ProcedureRun | None:
        return self.runner.run

    def _show_state(self) -> None:
        run = self._run()
        if not self.runner.attached:
            state, status = DevState.INIT, f"waiting for the ScanServer of session {self.session_name} to load it"
        elif self.runner.running:
            state, status = DevState.RUNNING, f"procedure {run.call} running (run {run.number}, started by " \
                                              f"{run.started_by})"
        elif run is None:
            names = ", ".join(self.runner.procedures()) or "none"
            state, status = DevState.ON, f"session {self.session_name} procedures: {names}"
        else:
            end = f"{run.state}" + (f": {run.error_line}" if run.error else f", result {run.result}")
            state, status = DevState.ON, f"procedure {run.call} (run {run.number}) ended {end}"
        self.show_state(state, status)
        self.push_change_event("State", state)
        self.push_change_event("Status", status)

    # ------------------------------------------------------------------ runner events
    def _on_runner(self, kind: str, run: ProcedureRun | None, payload) -> None:
        if kind == "output":
            self._pending.extend(payload)
            if self._flush is None:   # lines printed before the run yields go in one event
                self._flush = gevent.spawn(self._push_output)
            return
        if kind == "attach":
            self._show_state()
            self.push_change_event("Procedures", self._procedures())
            return
        if kind == "start":
            self._pending = []
            self.push_change_event("Output", [])
            self._push_changed(("Procedure", "RunNumber", "Result", "Error", "RunInfo"))
            self._show_state()
            return
        if kind == "end":
            self._push_output()
            self._push_changed(("Result", "Error", "RunInfo"))
            self._show_state()     # last: a client that sees ON has every final value

    def _push_changed(self, names) -> None:
        """Change events of the values that changed (a run's Result and Error are often
        null and '' again), made and pushed only for the attributes somebody listens to
        (an empty run's eight pushes were half its server time); an unheard value is
        forgotten, so its next change reaches a later subscriber."""
        for name in names:
            if not listened(self, name):
                self._pushed.pop(name, None)
                continue
            value = self._value(name)
            if self._pushed.get(name) != value:
                self._pushed[name] = value
                self.push_heard(name, value)

    def _push_output(self) -> None:
        self._flush = None
        lines, self._pending = self._pending, []
        if lines:
            self.push_change_event("Output", lines)

    def _value(self, name: str):
        run = self._run()
        if name == "Procedure":
            return run.call if run else ""
        if name == "RunNumber":
            return run.number if run else 0
        if name == "Result":
            return run.result if run else "null"
        if name == "Error":
            return run.error if run else ""
        if name == "RunInfo":
            return json.dumps(run.as_dict() if run else {})
        raise KeyError(name)

    def _procedures(self) -> list[str]:
        return list(self.runner.procedures())

    # ------------------------------------------------------------------ attributes
    @attribute(dtype=(str,), max_dim_x=KEEP_LINES,
               doc="lines printed by the current (or last) procedure; change events carry the new lines")
    def Output(self) -> list[str]:
        run = self._run()
        return list(run.output.lines) if run else []

    @attribute(dtype=str, doc="JSON of the value the last procedure returned (null while running or after an error)")
    def Result(self) -> str:
        return self._value("Result")

    @attribute(dtype=str, doc="the last procedure's exception: one line, a blank line, the traceback ('' if none)")
    def Error(self) -> str:
        return self._value("Error")

    @attribute(dtype=str, doc="the current (or last) call, e.g. align_m0(width=1.0)")
    def Procedure(self) -> str:
        return self._value("Procedure")

    @attribute(dtype=int, doc="number of the current (or last) run (0: none yet)")
    def RunNumber(self) -> int:
        return self._value("RunNumber")

    @attribute(dtype=str, doc="JSON {number, name, call, started_by, state, result, error, start_time, "
                              "end_time, scans, output_lines} of the current (or last) run")
    def RunInfo(self) -> str:
        return self._value("RunInfo")

    @attribute(dtype=(str,), max_dim_x=4096, doc="names of the session's procedures")
    def Procedures(self) -> list[str]:
        return self._procedures()

    # ------------------------------------------------------------------ commands
    @command(dtype_out=str, doc_out="JSON list of {name, signature, doc, file, line, parameters}")
    @devfailed
    def ListProcedures(self) -> str:
        return json.dumps([p.describe() for p in self.runner.procedures().values()])

    @command(dtype_in=(str,), dtype_out=int,
             doc_in="[name, arguments...] as typed in the shell: values (numbers, quoted strings, lists) or "
                    "session object names, key=value for keywords; never evaluated",
             doc_out="run number (the procedure runs on: State RUNNING until it ends)")
    @devfailed
    def RunProcedure(self, argin: list[str]) -> int:
        if not argin or not argin[0].strip():
            raise ValueError("RunProcedure needs [name, arguments...]")
        run = self.runner.start(argin[0].strip(), list(argin[1:]), started_by=self._client)
        # at once; the events follow from the run's greenlet
        self.show_state(DevState.RUNNING, f"procedure {run.call} running (run {run.number}, started by {run.started_by})")
        return run.number

    @command(doc_in="gentle: a running scan ends after its point, then the procedure stops (else at its next "
                    "sleep or wait); returns once it has ended (10 s at most)")
    @devfailed
    def StopProcedure(self) -> None:
        self.runner.stop()

    @command(doc_in="now: the procedure is interrupted, its scan aborted, the axes it moved stopped; returns "
                    "once it has ended (10 s at most)")
    @devfailed
    def AbortProcedure(self) -> None:
        self.runner.abort()

    @command(dtype_in=float, dtype_out=bool, doc_in="timeout in s (<= 0: none; set the client timeout above it)",
             doc_out="true when no procedure runs")
    @devfailed
    def WaitProcedure(self, timeout: float) -> bool:
        return self.runner.wait(timeout if timeout > 0 else None)
