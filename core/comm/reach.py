"""Which host a Tango device runs on, for errors a person can act on when a call to it
fails for want of a network (a cut link, a host down): "m0 ... (host motion1 does not
answer)" says where to look, a bare CORBA TRANSIENT does not. Likewise a call access
control refused names the rule that grants only read (cppTango's text names the device
only): our clients' error mappings (AxisProxy) use both."""

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


def device_host(device: str) -> str | None:
    """The host the database says the device's server runs (or last ran) on, or None."""
    try:
        host = tango.Database().get_device_info(device).host
    except (tango.DevFailed, RuntimeError):
        return None
    return host if host and host != "nada" else None


def unreachable_suffix(exc: tango.DevFailed, device: str) -> str:
    """' (host <h> does not answer)' for a communication failure of device, else ''."""
    if not is_communication_failure(exc):
        return ""
    host = device_host(device)
    return f" (host {host} does not answer)" if host else " (its host does not answer)"


#: cppTango refuses a new connection for this long after a failed one (RECONNECTION_DELAY)
RECONNECTION_DELAY = 1.0


def reconnection_delayed(exc: tango.DevFailed) -> bool:
    """True when the client library itself refused the call: its last connection attempt
    failed less than RECONNECTION_DELAY ago. The call never left this process, so trying
    again after that delay is safe for any command (a link restored, a server restarted)."""
    return any(e.reason == "API_CantConnectToDevice" and "connection request was delayed" in e.desc
               for e in exc.args)


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
