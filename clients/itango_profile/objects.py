"""Client objects of a session, backed by Tango proxies, with the BLISS vocabulary.

Usable without IPython (scripts, notebooks, tests): `shell_session("demo")` resolves the
session through TANGO_HOST (core.session's resolver) and wraps each object the Tango
database exports (axes, the session's ScanServer) in a small client object. Counters
are not Tango devices: they are named objects the ScanServer resolves by name.
"""

from __future__ import annotations

import json
from typing import Any

import tango

from blisstango.core.beacon import BEACON_DEVICE
from blisstango.core.config.errors import ConfigError
from blisstango.core.motion.axis_proxy import AxisProxy
from blisstango.core.motion.protocol import is_axis
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
        self.axes: dict[str, AxisProxy] = {}
        self.counters: dict[str, CounterClient] = {}
        self.others: dict[str, Any] = {}
        self.scan_server: ScanServerClient | None = None
        self.setup_files: list[str] = []
        self.setup_text = ""
        self.scripts_text = ""   # the session's `scripts:` files, run after the setup
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


def exported_client(rs: ResolvedSession, entry: Any) -> Any:
    """What the shell uses for an exported object: the client its server declares (a Wago
    as counters and get/set, a valve whose open() waits for its switch), else the device."""
    if rs.client_factory(entry.klass) is None:
        return proxy(entry.device)
    try:
        return rs.client(entry.name)
    except Exception as exc:  # noqa: BLE001 - the shell starts; the object is its device
        print(f"{entry.name}: its client failed ({error_line(exc)}); using the device {entry.device}")
        return proxy(entry.device)


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
    session.scripts_text = rs.scripts_text
    for obj in session.objects:
        entry = rs.entry(obj)
        if entry.exported:   # what its server declares for its class (an axis: an AxisProxy)
            client = exported_client(rs, entry)
            (session.axes if is_axis(client) else session.others)[obj] = client
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
