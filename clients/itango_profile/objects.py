"""Client objects of a session, backed by Tango proxies, with the BLISS vocabulary.

Usable without IPython (scripts, notebooks, tests): `shell_session("demo")` resolves the
session through TANGO_HOST (core.session's resolver) and wraps each object the Tango
database exports (axes, the session's ScanServer) in a small client object. Counters
are not Tango devices: they are named objects the ScanServer resolves by name.
"""

from __future__ import annotations

import json
import time
from typing import Any

import tango

from blisstango.core.beacon import BEACON_DEVICE
from blisstango.core.config.errors import ConfigError
from blisstango.core.motion import axis_proxy
from blisstango.core.session import ResolvedSession, resolve_session


class ShellError(Exception):
    """An error a person can act on, shown as one line by the shell."""


def error_line(exc: BaseException) -> str:
    """One line for an error: the first DevFailed reason and description (the device's
    own words, e.g. `LimitError: m0: 1000.0 is above the high limit 10.0`)."""
    if isinstance(exc, tango.DevFailed) and exc.args:
        err = exc.args[0]
        desc = " ".join(str(err.desc).split())
        return f"{err.reason}: {desc}"
    text = " ".join(str(exc).split())
    return text if isinstance(exc, ShellError) else f"{type(exc).__name__}: {text}"


def proxy(device: str) -> tango.DeviceProxy:
    return tango.DeviceProxy(device)


class AxisClient:
    """An axis served by an AxisManager (`<domain>/axis/<name>`), used like a BLISS axis."""

    def __init__(self, name: str, device: str, manager: str | None = None) -> None:
        self.name = name
        self.device_name = device
        self.device = proxy(device)
        self.manager = manager      # the AxisManagerDevice serving this axis (GroupMove), or None

    def __repr__(self) -> str:
        try:
            return (f"AXIS {self.name} ({self.device_name}): position {self.position:g} "
                    f"{self.unit}, dial {self.dial:g}, limits {tuple(self.limits)}, "
                    f"velocity {self.velocity:g}, state {self.state}")
        except tango.DevFailed as exc:
            return f"AXIS {self.name} ({self.device_name}): {error_line(exc)}"

    def __str__(self) -> str:
        return self.name

    # ---- readings
    @property
    def position(self) -> float:
        return float(self.device.read_attribute("Position").value)

    @position.setter
    def position(self, value: float) -> None:
        self.move(value)

    @property
    def dial(self) -> float:
        return float(self.device.read_attribute("Dial_position").value)

    @property
    def unit(self) -> str:
        return str(self.device.read_attribute("Unit").value or "")

    @property
    def state(self) -> str:
        return str(self.device.state())

    @property
    def status(self) -> str:
        return str(self.device.status())

    @property
    def is_moving(self) -> bool:
        return self.device.state() == tango.DevState.MOVING

    def _rw(name: str, doc: str):  # noqa: N805 - property factory used in the class body
        def get(self):
            return self.device.read_attribute(name).value

        def put(self, value):
            self.device.write_attribute(name, value)

        return property(get, put, doc=doc)

    velocity = _rw("Velocity", "user units / s")
    acceleration = _rw("Acceleration", "user units / s2")
    acctime = _rw("AccTime", "s")
    offset = _rw("Offset", "user = sign * dial + offset")
    sign = _rw("Sign", "user = sign * dial + offset")
    backlash = _rw("Backlash", "user units")
    low_limit = _rw("Low_limit", "user units")
    high_limit = _rw("High_limit", "user units")
    del _rw

    @property
    def limits(self) -> tuple[float, float]:
        low, high = self.device.read_attribute("Limits").value
        return float(low), float(high)

    @limits.setter
    def limits(self, value: tuple[float, float]) -> None:
        self.device.write_attribute("Limits", [float(v) for v in value])

    # ---- motion
    def move(self, position: float, wait: bool = True, relative: bool = False) -> None:
        target = float(position) + (self.position if relative else 0.0)
        self.device.write_attribute("Position", target)
        if wait:
            self.wait_move()

    def rmove(self, delta: float, wait: bool = True) -> None:
        self.move(delta, wait=wait, relative=True)

    def wait_move(self, timeout: float | None = None, poll: float = 0.02) -> None:
        """Wait for the end of the motion; an axis ending in FAULT/ALARM raises."""
        end = None if timeout is None else time.monotonic() + timeout
        while self.device.state() == tango.DevState.MOVING:
            if end is not None and time.monotonic() > end:
                raise ShellError(f"{self.name}: still moving after {timeout} s")
            time.sleep(poll)
        if self.device.state() == tango.DevState.FAULT:
            raise ShellError(f"{self.name}: {self.status.strip()}")

    def stop(self, wait: bool = True) -> None:
        self.device.command_inout("Stop")
        if wait:
            self.wait_move()

    def abort(self, wait: bool = True) -> None:
        self.device.command_inout("Abort")
        if wait:
            self.wait_move()

    def position_to(self, user: float) -> None:
        """Redefine the user position (the offset changes), as BLISS `position = ...` on a stopped axis."""
        self.device.command_inout("SetPosition", float(user))

    def dial_to(self, dial: float) -> None:
        self.device.command_inout("SetDial", float(dial))

    def sync_hard(self) -> float:
        """Read the position afresh from the device (no client cache)."""
        self.device.set_source(tango.DevSource.DEV)
        try:
            return self.position
        finally:
            self.device.set_source(tango.DevSource.CACHE_DEV)


class CounterClient:
    """A counter of the session: the ScanServer reads it; the shell names it."""

    def __init__(self, name: str, config: dict) -> None:
        self.name = name
        self.config = config
        self.unit = config.get("unit")

    @property
    def fullname(self) -> str:
        return self.name

    def __repr__(self) -> str:
        cls = self.config.get("class", self.config.get("plugin", "counter"))
        return f"COUNTER {self.name} ({cls}, unit {self.unit or '-'})"

    def __str__(self) -> str:
        return self.name


class ConfigObject:
    """Any other session object: its configuration, by name."""

    def __init__(self, name: str, config: dict) -> None:
        self.name = name
        self.config = config

    def __repr__(self) -> str:
        return f"{self.config.get('plugin', 'object')} {self.name}: {self.config}"

    def __str__(self) -> str:
        return self.name


class ScanServerClient:
    """The session's ScanServer device: scan commands take strings, return the scan number."""

    def __init__(self, session: str, device: str) -> None:
        self.session = session
        self.device_name = device
        self.device = proxy(device)
        self.device.set_timeout_millis(10000)

    def __repr__(self) -> str:
        try:
            return f"SCAN SERVER {self.device_name}: {self.device.state()} {self.device.status().strip()}"
        except tango.DevFailed as exc:
            return f"SCAN SERVER {self.device_name}: {error_line(exc)}"

    def run(self, command: str, args: list[str]) -> int:
        return int(self.device.command_inout(command, [str(a) for a in args]))

    @property
    def scan_saving(self) -> dict:
        return json.loads(self.device.read_attribute("SCAN_SAVING").value)

    @scan_saving.setter
    def scan_saving(self, values: dict) -> None:
        self.device.write_attribute("SCAN_SAVING", json.dumps(values))

    @property
    def active_mg(self) -> str:
        return str(self.device.read_attribute("ActiveMeasurementGroup").value)

    @active_mg.setter
    def active_mg(self, name: str) -> None:
        self.device.write_attribute("ActiveMeasurementGroup", str(name))


class Session:
    """What `shell_session` found: the namespace and the objects by kind."""

    def __init__(self, name: str, resolved: ResolvedSession | None = None) -> None:
        self.name = name
        self.resolved = resolved
        self.objects: list[str] = []
        self.axes: dict[str, AxisClient] = {}
        self.counters: dict[str, CounterClient] = {}
        self.others: dict[str, Any] = {}
        self.scan_server: ScanServerClient | None = None
        self.setup_files: list[str] = []
        self.setup_text = ""
        self.beacon = resolved.beacon if resolved is not None else None

    @property
    def namespace(self) -> dict[str, Any]:
        ns: dict[str, Any] = {**self.others, **self.counters, **self.axes}
        if self.scan_server is not None:
            ns["scan_server"] = self.scan_server
        return ns

    def get_scan_server(self) -> ScanServerClient:
        if self.scan_server is None:
            self.scan_server = find_scan_server(self)
        return self.scan_server


def find_scan_server(session: Session) -> ScanServerClient:
    """The ScanServer of the session: the device exported for the session object."""
    device = session.resolved.session_device if session.resolved is not None else None
    if not device or not list(session.resolved.db.get_device_exported(device)):
        raise ShellError(f"session {session.name}: its ScanServer {device or '(no device)'} is not "
                         f"exported (is `ScanServer {session.name}` running?)")
    return ScanServerClient(session.name, device)


def shell_session(name: str) -> Session:
    """Build the client objects of session `name` through TANGO_HOST only."""
    try:
        rs = resolve_session(name)
    except ConfigError as exc:   # "session <name>: <Beacon device> refused GetSession: ..."
        raise ShellError(str(exc)) from None
    except tango.DevFailed as exc:
        raise ShellError(f"cannot reach the Beacon device {BEACON_DEVICE}: {error_line(exc)}") from None
    session = Session(name, rs)
    session.objects = list(rs.objects)
    session.setup_files = list(rs.setup_files)
    session.setup_text = rs.setup_text
    for obj in session.objects:
        entry = rs.entry(obj)
        factory = rs.client_factory(entry.klass) if entry.exported else None
        if entry.exported and factory is axis_proxy.session_client:
            session.axes[obj] = AxisClient(obj, entry.device, entry.manager)
        elif factory is not None:  # the client its server declares (a detector's counter controller)
            session.others[obj] = rs.client(obj)
        elif entry.exported:
            session.others[obj] = proxy(entry.device)
        else:
            config = entry.config
            if config.get("plugin") == "counters" and config.get("class") != "MeasurementGroup":
                session.counters[obj] = CounterClient(obj, config)
            else:
                session.others[obj] = ConfigObject(obj, config)
    try:
        session.scan_server = find_scan_server(session)
    except (ShellError, tango.DevFailed):
        session.scan_server = None   # motion works without it; scans say what is missing
    return session
