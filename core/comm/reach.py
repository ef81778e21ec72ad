"""Which server and host a Tango device runs on, for errors a person can act on when a
call to it fails on the way: "m0's server AxisManager/demo stopped answering (GroupMoveWait
on demo/axis/m0) and is being restarted" or "... on host motion1 does not answer" says
what happened and where to look; a bare CORBA TRANSIENT does not. Every remote client
(axes, MCAs, detectors, counters, Wago) words a lost device with `lost_contact`. Likewise
a call access control refused names the rule that grants only read (`access_refusal`:
cppTango's own text names the device only)."""

from __future__ import annotations

import os
import pwd
import socket

import psutil
import tango

#: DevFailed reasons of a call that never reached the device or got no answer
COMMUNICATION_REASONS = frozenset({
    "API_CorbaException", "API_DeviceTimedOut", "API_CantConnectToDevice",
    "API_CommunicationFailed", "API_ServerNotRunning", "API_DeviceNotExported",
})


def is_communication_failure(exc: tango.DevFailed) -> bool:
    """True when the call failed on the way (no route, no answer), not in the device."""
    return any(e.reason in COMMUNICATION_REASONS or "TRANSIENT" in e.desc or "COMM_FAILURE" in e.desc
               for e in exc.args)


def _database_of(device: str) -> tuple[tango.Database, str]:
    """The database a device name points at (its tango://host:port/ prefix, else
    TANGO_HOST) and the bare device name."""
    if device.startswith("tango://"):
        address, _, name = device[len("tango://"):].partition("/")
        host, _, port = address.rpartition(":")
        return tango.Database(host, int(port)), name.split("#")[0]
    return tango.Database(), device


def device_server(device: str) -> tuple[str | None, str | None]:
    """(server, host) the database says the device's server runs (or last ran) as and on:
    ('AxisManager/demo', 'vm'); None for what the database cannot tell (it is down)."""
    try:
        db, name = _database_of(device)
        info = db.get_device_info(name)
    except (tango.DevFailed, RuntimeError, ValueError):
        return None, None
    server = info.ds_full_name or None
    host = info.host if info.host and info.host != "nada" else None
    return server, host


def is_this_host(host: str) -> bool:
    """True when host names the machine this process runs on (its kernel answers: a
    refused call means the server process is gone, not the host)."""
    here = socket.gethostname()
    return host.split(".")[0] in {here, here.split(".")[0], "localhost"} or host.startswith("127.")


def lost_contact(exc: tango.DevFailed, obj: str, device: str, what: str) -> str | None:
    """The sentence for a call (`what`) to `device`, which serves `obj`, that failed on the
    way; None when the device answered (its own refusal keeps its own sentence).
    A server on this host stopped answering (killed, crashed: the stack's supervisor, or
    Starter, restarts it); one on another host may be gone or cut off: its host is named."""
    if not is_communication_failure(exc):
        return None
    server, host = device_server(device)
    who = f"{obj}'s server {server}" if server else f"{obj}'s device {device}"
    where = (f"{what} on {device}" if server else what) if what else device
    if host is None or is_this_host(host):
        if any(e.reason == "API_DeviceTimedOut" for e in exc.args):  # alive, but busy or stuck
            return f"{who} did not answer in time ({where}): it is busy or stuck; see its log"
        return f"{who} stopped answering ({where}) and is being restarted: try again in a few seconds"
    return f"{who} on host {host} does not answer ({where}): is host {host} up and reachable?"


#: cppTango refuses a new connection for this long after a failed one (RECONNECTION_DELAY)
RECONNECTION_DELAY = 1.0


def reconnection_delayed(exc: tango.DevFailed) -> bool:
    """True when the client library itself refused the call: its last connection attempt
    failed less than RECONNECTION_DELAY ago. The call never left this process, so trying
    again after that delay is safe for any command (a link restored, a server restarted)."""
    return any(e.reason == "API_CantConnectToDevice" and "connection request was delayed" in e.desc
               for e in exc.args)


class ServerLost(ConnectionError):
    """A device stopped answering: the sentence of `lost_contact` (which object, which
    server, what happened)."""


def reading_error(exc: tango.DevFailed, obj: str, device: str, what: str) -> Exception:
    """What a client raises for a failed call to device: ServerLost with the sentence when
    the call failed on the way, else the DevFailed itself (the device's own refusal)."""
    lost = lost_contact(exc, obj, device, what)
    return ServerLost(lost) if lost else exc


#: the reason cppTango gives when access control lets this client only read a device
READ_ONLY_REASON = "API_ReadOnlyMode"
#: the Tango service (free property CtrlSystem/Services) naming the access-control device
ACCESS_SERVICE = ("AccessControl", "tango")


def is_access_refusal(exc: tango.DevFailed) -> bool:
    """True when the client library refused the call: access control grants only read."""
    return any(e.reason == READ_ONLY_REASON for e in exc.args)


def client_user() -> str:
    """The user name cppTango's access check sends (the account's, never $USER)."""
    return pwd.getpwuid(os.getuid()).pw_name.lower()


def client_addresses() -> list[str]:
    """This host's IPv4 addresses other than loopback, as cppTango's access check sends
    them (loopback alone on a host with no network)."""
    ips = sorted({a.address for addrs in psutil.net_if_addrs().values() for a in addrs
                  if a.family == socket.AF_INET and not a.address.startswith("127.")})
    return ips or ["127.0.0.1"]


def access_device() -> str | None:
    """The access-control device the database declares (service AccessControl/tango)."""
    try:
        names = list(tango.Database().get_services(*ACCESS_SERVICE).value_string)
    except (tango.DevFailed, RuntimeError):
        return None
    return names[0].removeprefix("tango:") if names else None


def access_refusal(exc: tango.DevFailed, device: str) -> str | None:
    """For a call access control refused (cppTango's API_ReadOnlyMode, whose text names
    the device only): the sentence naming the device, the user, the host and the rule
    that grants only read, as the access-control device's ExplainAccess gives it, e.g.
    "demo/axis/m0: write refused for user 'opd' from 10.0.0.5: access rule of user '*'
    from *.*.*.* (10.0.0.5): */*/* read (access control sys/access_control/1)".
    None for any other failure."""
    if not is_access_refusal(exc):
        return None
    user, ips = client_user(), client_addresses()
    head = f"{device}: write refused for user {user!r} from {', '.join(ips)}"
    service = access_device()
    if service is None:
        return f"{head}: read only (no access-control device declared)"
    try:
        why = str(tango.DeviceProxy(service).command_inout("ExplainAccess", [user, device, *ips]))
    except tango.DevFailed as failed:
        return f"{head}: read only; asking {service} why failed: {failed.args[0].desc.strip()}"
    # ExplainAccess answers "<device>: <right> for <user> (<the rule>)": keep the rule
    rule = why.partition(" (")[2].removesuffix(")") or why
    return f"{head}: {rule} (access control {service})"
