"""Which server and host a Tango device runs on, for errors a person can act on when a
call to it fails on the way: "m0's server AxisManager/demo stopped answering (GroupMoveWait
on demo/axis/m0) and is being restarted" or "... on host motion1 does not answer" says
what happened and where to look; a bare CORBA TRANSIENT does not. Every remote client
(axes, MCAs, detectors, counters, Wago) words a lost device with `lost_contact`."""

from __future__ import annotations

import socket

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
