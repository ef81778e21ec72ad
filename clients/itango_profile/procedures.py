"""The session's procedures in the shell: `lsproc`, `runproc align_m0 0 5`, and a
procedure someone started from Tango shown in the prompt.

A procedure of the setup file also exists in the shell (the setup file runs here too):
`align_m0()` runs it in-process, its scans by the ScanServer. `runproc align_m0 ...`
runs it on the session's Procedures device instead (in the ScanServer's own namespace,
where other clients see it run): its Output printed live, its Result returned, its
Error raised as one line; Ctrl-C aborts it (AbortProcedure).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import tango

from blisstango.core.procedures import DEVICE_FAMILY
from blisstango.core.procedures.arguments import show

from .display import table
from .motion import command
from .objects import Session, ShellError, error_line, proxy


class ProcedureClient:
    """The session's Procedures device; the current run kept from RunInfo change events."""

    def __init__(self, device: str) -> None:
        self.device_name = device
        self.device = proxy(device)
        self.device.set_timeout_millis(15000)
        self.info: dict = {}
        self._event_id: int | None = None
        try:
            self._event_id = self.device.subscribe_event("RunInfo", tango.EventType.CHANGE_EVENT, self._on_info)
        except tango.DevFailed:
            self._event_id = None

    def _on_info(self, ev) -> None:
        if not ev.err and ev.attr_value is not None:
            try:
                self.info = json.loads(ev.attr_value.value)
            except ValueError:
                pass

    def running(self) -> dict | None:
        """The run going on in the server (whoever started it), or None."""
        info = self.info if self._event_id is not None else self._read_info()
        return info if info.get("state") == "RUNNING" else None

    def _read_info(self) -> dict:
        try:
            return json.loads(self.device.read_attribute("RunInfo").value)
        except (tango.DevFailed, ValueError):
            return {}

    def procedures(self) -> list[dict]:
        return json.loads(self.device.ListProcedures())

    def run(self, name: str, args: tuple, kwargs: dict[str, Any], out: Callable[[str], None] = print) -> Any:
        """Run on the server; print its Output as it comes; its Result, or ShellError."""
        follower = _OutputFollower(self.device)
        try:
            texts = [show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs.items()]
            try:
                number = int(self.device.RunProcedure([name, *texts]))
            except tango.DevFailed as exc:
                raise ShellError(error_line(exc)) from None
            try:
                info = follower.follow(number, out)
            except KeyboardInterrupt:
                self.device.AbortProcedure()
                info = follower.follow(number, out)
        finally:
            follower.close()
        if info.get("state") == "SUCCESS":
            return json.loads(self.device.read_attribute("Result").value)
        error = str(self.device.read_attribute("Error").value)
        first, _, trace = error.partition("\n\n")
        if info.get("state") == "FAILED" and trace:
            out(trace.rstrip())
        raise ShellError(f"{info.get('call', name)} ended {info.get('state')}: {first}")

    def close(self) -> None:
        if self._event_id is not None:
            try:
                self.device.unsubscribe_event(self._event_id)
            except tango.DevFailed:
                pass
            self._event_id = None


class _OutputFollower:
    """Output and RunInfo events of one run, handed to the shell's thread."""

    def __init__(self, device: tango.DeviceProxy) -> None:
        self.device = device
        self.lines: deque[str] = deque()
        self.infos: deque[dict] = deque()
        self.wake = threading.Event()
        self.started = False     # the empty Output event a run starts with was seen
        self.received = 0         # lines of this run received (RunInfo's output_lines counts them all)
        self.ids = [device.subscribe_event("Output", tango.EventType.CHANGE_EVENT, self._on_output),
                    device.subscribe_event("RunInfo", tango.EventType.CHANGE_EVENT, self._on_info)]

    def _on_output(self, ev) -> None:
        if ev.err:
            return
        value = ev.attr_value.value
        if value is None or len(value) == 0:
            self.started = True   # lines of an earlier run (the subscription's first event) are skipped
        elif self.started:
            self.lines.extend(value)
            self.received += len(value)
        self.wake.set()

    def _on_info(self, ev) -> None:
        if not ev.err:
            self.infos.append(json.loads(ev.attr_value.value))
            self.wake.set()

    def follow(self, number: int, out: Callable[[str], None]) -> dict:
        """Print lines until the run's end is reported; its RunInfo."""
        while True:
            self.wake.wait(0.2)
            self.wake.clear()
            while self.lines:
                out(self.lines.popleft())
            ended = [i for i in self.infos if i.get("number") == number and i.get("state") != "RUNNING"]
            if ended:
                info = ended[-1]
                while self.lines:
                    out(self.lines.popleft())
                missing = int(info.get("output_lines", 0)) - self.received
                if missing > 0:   # events lost on the way: the kept lines' tail, read once
                    kept = list(self.device.read_attribute("Output").value or [])
                    for line in kept[-missing:]:
                        out(line)
                return info

    def close(self) -> None:
        for i in self.ids:
            try:
                self.device.unsubscribe_event(i)
            except tango.DevFailed:
                pass


def find_procedure_client(session: Session) -> ProcedureClient | None:
    """The session's Procedures device (beside its ScanServer), if it is exported."""
    rs = session.resolved
    if rs is None:
        return None
    device = rs.sub_device(session.name, DEVICE_FAMILY)
    if not device:
        return None
    try:
        if not list(rs.db.get_device_exported(device)):
            return None
        return ProcedureClient(device)
    except tango.DevFailed:
        return None


def prompt_status(client: ProcedureClient | None) -> str:
    """`align_m0 running` while a procedure runs on the server, else ''."""
    run = client.running() if client is not None else None
    return f"{run.get('name')} running" if run else ""


def procedure_commands(session: Session) -> dict[str, Any]:
    state: dict[str, ProcedureClient | None] = {"client": find_procedure_client(session)}

    def client() -> ProcedureClient:
        if state["client"] is None:
            state["client"] = find_procedure_client(session)
        if state["client"] is None:
            raise ShellError(f"session {session.name}: no Procedures device is exported (is its ScanServer "
                             "running?)")
        return state["client"]

    @command
    def lsproc() -> None:
        """The session's procedures (run on the server with `runproc name args...`)."""
        c = client()
        rows = [(p["name"], p["signature"], (p["doc"].splitlines() or [""])[0]) for p in c.procedures()]
        print(table(["procedure", "signature", "doc"], rows) if rows else "no procedure in this session")
        run = c.running()
        if run:
            print(f"\nrunning: {run['call']} (run {run['number']}, started by {run['started_by']})")

    def runproc(procedure: Any, *args: Any, **kwargs: Any) -> Any:
        """runproc(name_or_function, *args, **kwargs): run a procedure on the session's
        Procedures device, its output shown live; Ctrl-C aborts it."""
        name = procedure if isinstance(procedure, str) else getattr(procedure, "__name__", None)
        if not isinstance(name, str):
            raise ShellError(f"runproc: {procedure!r} is not a procedure (give its name or the function)")
        return client().run(name, args, kwargs)

    return {"lsproc": lsproc, "runproc": runproc, "_procedures": state}


__all__ = ["ProcedureClient", "find_procedure_client", "procedure_commands", "prompt_status"]
