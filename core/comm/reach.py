"""Which host a Tango device runs on, for errors a person can act on when a call to it
fails for want of a network (a cut link, a host down): "m0 ... (host motion1 does not
answer)" says where to look, a bare CORBA TRANSIENT does not."""

from __future__ import annotations

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
