"""Which network address a process of the suite listens on and advertises.

One rule for every server (DESIGN §2, issue 18): a device server, the Redis servers and
BeaconDB listen on one address, never on all interfaces. The address is

1. ``$BLISSTANGO_ADDRESS`` when set (``blisstango up --address``, or the environment a
   Tango Starter passes on to the servers it starts);
2. else the local address this host reaches TANGO_HOST's database through: loopback
   when TANGO_HOST is on this machine's loopback (the laptop default), the address of
   the interface on the route to a remote database otherwise — the address other hosts
   of the beamline can reach.
"""

from __future__ import annotations

import ipaddress
import os
import socket

ADDRESS_ENV = "BLISSTANGO_ADDRESS"
LOOPBACK = "127.0.0.1"


def tango_host_address(tango_host: str | None = None) -> str | None:
    """The host part of TANGO_HOST (its first database when several are listed)."""
    value = os.environ.get("TANGO_HOST", "") if tango_host is None else tango_host
    first = value.split(",")[0].strip()
    if ":" not in first:
        return None
    return first.rsplit(":", 1)[0] or None


def is_loopback(host: str) -> bool:
    """True for 127.x, ::1 and a name resolving to one of them (localhost)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except OSError:
        return False


def route_source(host: str, port: int = 9) -> str:
    """The local address the kernel picks to reach host (no packet is sent: a UDP
    socket's connect only chooses the route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((socket.gethostbyname(host), port))
        return sock.getsockname()[0]


def local_address(tango_host: str | None = None) -> str:
    """The address this process listens on and advertises (see the module's rule)."""
    explicit = os.environ.get(ADDRESS_ENV, "").strip()
    if explicit:
        return explicit
    host = tango_host_address(tango_host)
    if host is None or is_loopback(host):
        return LOOPBACK
    try:
        return route_source(host)
    except OSError:
        return LOOPBACK


def orb_endpoint_args(argv: list[str], address: str | None = None) -> list[str]:
    """argv plus ``-ORBendPoint giop:tcp:<address>:`` unless argv names an endpoint: the
    server's CORBA port and, since cppTango follows that address, its ZMQ event ports
    listen there only (a Tango server listens on every interface by default)."""
    if any(a.startswith("-ORBendPoint") for a in argv):
        return list(argv)
    return [*argv, "-ORBendPoint", f"giop:tcp:{address or local_address()}:"]
