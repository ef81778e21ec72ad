"""The objects one session holds in this process, and its setup files run over them.

Standard-scan arguments and JSON chains name axes and counters; SessionObjects is where
those names resolve. `load_session` fills it through TANGO_HOST (core.session's
resolver: exported objects as their servers' clients, the others built here); a Python
session fills it with the objects it built itself. Either way the setup files run in
its namespace and what they create (counters, groups, axes) is picked up.
"""

from __future__ import annotations

import linecache
import logging
import traceback
from typing import Any

from blisstango.core.beacon import BEACON_DEVICE
from blisstango.core.counters import Counter, CounterController, MeasurementGroup
from blisstango.core.motion.protocol import is_axis

log = logging.getLogger(__name__)


class SessionObjects:
    """Everything a session holds in this process: namespace, axes, counters, groups."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.namespace: dict[str, Any] = {}
        self.axes: dict[str, Any] = {}          # AxisProtocol: AxisProxy (remote) or Axis (local)
        self.counters: dict[str, Any] = {}      # Counter / CounterController, + counters by full name
        #: the session's counters and controllers themselves, each once (not their counters
        #: again by full name): what a default measurement group holds
        self.own_counters: list[Any] = []
        self.groups: dict[str, MeasurementGroup] = {}
        self.devices: dict[str, Any] = {}       # other exported objects (DeviceProxy)
        self.setup_files: list[str] = []
        self.setup_text = ""
        self.script_files: list[str] = []     # the session's `scripts:`, run after the setup files
        self.scripts_text = ""
        self.setup_error: str | None = None
        self.objects: list[str] = []
        self.resolved: Any = None               # core.session.ResolvedSession, if loaded from Beacon

    def refresh_from_namespace(self) -> None:
        """Pick up counters, groups and axes the setup file created."""
        for key, obj in self.namespace.items():
            if key.startswith("_"):
                continue
            if is_axis(obj):
                self.axes.setdefault(key, obj)
            elif isinstance(obj, (Counter, CounterController)):
                self.counters.setdefault(getattr(obj, "name", key), obj)
                if all(obj is not o for o in self.own_counters):
                    self.own_counters.append(obj)
                if isinstance(obj, CounterController):  # its counters by full name: wago1:tc1
                    for counter in obj.counters:
                        self.counters.setdefault(counter.fullname, counter)
            elif isinstance(obj, MeasurementGroup):
                self.groups.setdefault(obj.name, obj)


def _extra_objects(namespace: dict[str, Any]) -> dict[str, Any]:
    """Names the clients bring besides their own (a loop's `<loop>_axis`): each object
    whose class has `session_objects()` adds what it returns."""
    import inspect

    out: dict[str, Any] = {}
    for obj in list(namespace.values()):
        if inspect.getattr_static(type(obj), "session_objects", None) is not None:
            out.update(obj.session_objects())
    return out


def load_session(name: str, *, beacon_device: str = BEACON_DEVICE, green_mode: Any = None) -> SessionObjects:
    """The session's objects in this process, through TANGO_HOST only: every exported
    object as the client its server declares (an AxisManager axis as an AxisProxy), the
    others built by their plugins (simulation counters following those clients). The
    setup files are run separately (run_setup). ConfigError if Beacon refuses the session."""
    from blisstango.core.session import resolve_session

    rs = resolve_session(name, beacon_device=beacon_device, green_mode=green_mode)
    session = SessionObjects(name)
    session.resolved = rs
    session.objects = list(rs.objects)
    session.setup_files = list(rs.setup_files)
    session.setup_text = rs.setup_text
    session.script_files = list(rs.script_files)
    session.scripts_text = rs.scripts_text
    session.namespace.update(rs.namespace())
    for name, obj in _extra_objects(session.namespace).items():
        session.namespace.setdefault(name, obj)
    session.refresh_from_namespace()
    known = {*session.axes, *session.counters, *session.groups}
    for obj in rs.objects:
        if obj in session.namespace and obj not in known and rs.entry(obj).exported:
            session.devices[obj] = session.namespace[obj]
    return session


def setup_segments(text: str, files: list[str]) -> list[tuple[str, str]]:
    """(file, source) per setup file: the setup text heads each file's text with
    `# --- <path>`; compiling each body alone under its path gives tracebacks the file's
    own line numbers."""
    headers = {f"# --- {f}": f for f in files}
    segments: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line in headers:
            segments.append((headers[line], []))
        elif segments:
            segments[-1][1].append(line)
        else:
            segments.append(("<setup>", [line]))
    return [(f, "\n".join(body) + "\n") for f, body in segments]


def run_setup(session: SessionObjects) -> None:
    """Run the setup files, then the script files, in the namespace; an error is kept in
    setup_error (file, line) and ends the run."""
    segments = [("setup file", *seg) for seg in setup_segments(session.setup_text, session.setup_files)]
    if session.scripts_text.strip():
        segments += [("script", *seg) for seg in setup_segments(session.scripts_text, session.script_files)]
    for what, path, source in segments:
        # tracebacks show the lines even where the file is not (it came through Beacon)
        linecache.cache[path] = (len(source), None, source.splitlines(keepends=True), path)
        try:
            # dont_inherit: the session's code gets no __future__ flag of this module
            code = compile(source, path, "exec", dont_inherit=True)
            exec(code, session.namespace)  # noqa: S102 - the session's setup, as in BLISS
        except Exception as exc:  # noqa: BLE001 - reported by the caller, the session stays up
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
            line = frames[-1].lineno if frames else getattr(exc, "lineno", "?")
            session.setup_error = f"{what} {path} line {line}: {type(exc).__name__}: {exc}"
            log.error("session %s: %s", session.name, session.setup_error)
            break
    session.refresh_from_namespace()
