"""Tango access control rules, as the YAML's globals block holds them.

The TangoAccessControl device (BeaconDB) answers cppTango/PyTango clients from these
rules when the control system declares the service (free property CtrlSystem/Services:
``AccessControl/tango:sys/access_control/1``)::

    access_control:
      users:
        "*":                                 # every other user: the defaults
          addresses: ["*.*.*.*"]
          devices: {"*/*/*": read}
        opid00:
          addresses: [10.0.0.0/24, 10.1.2.3]  # networks, addresses, or a.b.*.*
          devices: {"demo/*/*": write, "demo/shutter/*": read}

A client is (user, its IP addresses, device). The user's own rule applies when one of
its addresses matches, else the rule of user ``*``; the most specific matching device
pattern (fewest wildcards) gives the right; nothing matching gives read. Commands a
read-only client may still run come from the class property AllowedAccessCmd (as with
Tango's own TangoAccessControl), plus State and Status.
"""

from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

ACCESS_DEVICE = "sys/access_control/1"
SERVICE = f"AccessControl/tango:{ACCESS_DEVICE}"
RIGHTS = ("read", "write")
ANY_USER = "*"
ALWAYS_ALLOWED_COMMANDS = ("State", "Status")


@dataclass(frozen=True)
class Decision:
    right: str          # "read" or "write"
    rule: str           # the sentence naming the rule that decided


#: What a read-only client still needs, by Tango class (besides AllowedAccessCmd): the
#: database's lookups, imports and a server's own export (a server on a read-only host
#: must start), and the admin device's queries and event subscriptions.
_DATABASE_READS = ("DbInfo", "DbImportDevice", "DbImportEvent", "DbMySqlSelect", "DbExportDevice",
                   "DbExportEvent", "DbUnExportServer", "DbUnExportDevice", "DbUnExportEvent")
_BUILTIN_READS = {
    "DServer": ("QueryClass", "QueryDevice", "QuerySubDevice", "QueryWizardClassProperty",
                "QueryWizardDevProperty", "EventSubscriptionChange", "ZmqEventSubscriptionChange",
                "EventConfirmSubscription", "DevPollStatus", "PolledDevice", "GetLoggingLevel",
                "GetLoggingTarget", "DevLockStatus"),
    "Starter": ("DevGetRunningServers", "DevGetStopServers", "DevReadLog", "UpdateServersInfo"),
}


def read_only_commands(klass: str) -> list[str]:
    """Commands of a Tango class any read-only client may run (Tango's defaults)."""
    if klass.lower() == "database":
        from .registry import COMMANDS

        return [*_DATABASE_READS, *sorted(n for n in COMMANDS if n.startswith("DbGet"))]
    return list(next((v for k, v in _BUILTIN_READS.items() if k.lower() == klass.lower()), ()))


def problems(rules: Any) -> list[str]:
    """What is wrong with an access_control mapping (empty list: nothing)."""
    if not isinstance(rules, dict) or set(rules) - {"users"}:
        return ["access_control: needs `users: {<user>: {addresses: [...], devices: {<pattern>: read|write}}}`"]
    users = rules.get("users") or {}
    if not isinstance(users, dict):
        return ["access_control.users must map user names to {addresses, devices}"]
    out = []
    for user, body in users.items():
        if not isinstance(body, dict) or set(body) - {"addresses", "devices"}:
            out.append(f"access_control.users.{user}: only `addresses` and `devices` are allowed")
            continue
        for addr in body.get("addresses") or []:
            if not _valid_address(str(addr)):
                out.append(f"access_control.users.{user}: address {addr!r} is not an address, "
                           "a network (10.0.0.0/24) or a pattern (10.0.*.*)")
        devices = body.get("devices") or {}
        if not isinstance(devices, dict):
            out.append(f"access_control.users.{user}.devices must map device patterns to read|write")
            continue
        for pattern, right in devices.items():
            if str(right) not in RIGHTS or str(pattern).count("/") != 2:
                out.append(f"access_control.users.{user}.devices: {pattern}: {right} (needs "
                           "domain/family/member: read|write)")
    return out


def _valid_address(text: str) -> bool:
    if "*" in text:
        return text.count(".") == 3
    try:
        ipaddress.ip_network(text, strict=False)
        return True
    except ValueError:
        return False


def _address_matches(rule: str, ip: str) -> bool:
    if "*" in rule:
        return fnmatchcase(ip, rule)
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(rule, strict=False)
    except ValueError:
        return False


def _specificity(pattern: str) -> tuple[int, int]:
    return (-pattern.count("*"), len(pattern))


def decide(rules: dict, user: str, ips: list[str], device: str) -> Decision:
    """The right of `user` from any of `ips` on `device`, and the rule that gave it."""
    users = {str(k).lower(): v or {} for k, v in ((rules or {}).get("users") or {}).items()}
    user, device = user.lower(), device.lower()
    for who in ([user] if user in users and user != ANY_USER else []) + [ANY_USER]:
        body = users.get(who)
        if body is None:
            continue
        addresses = [str(a) for a in body.get("addresses") or ["*.*.*.*"]]
        hit = next(((a, ip) for a in addresses for ip in ips if _address_matches(a, ip)), None)
        if hit is None:
            continue
        devices = {str(p).lower(): str(r) for p, r in (body.get("devices") or {}).items()}
        matching = sorted((p for p in devices if fnmatchcase(device, p)), key=_specificity, reverse=True)
        if not matching:
            return Decision("read", f"access rule of user {who!r} from {hit[0]} ({hit[1]}) names no "
                            f"pattern matching {device}: read only")
        pattern = matching[0]
        return Decision(devices[pattern], f"access rule of user {who!r} from {hit[0]} ({hit[1]}): "
                        f"{pattern} {devices[pattern]}")
    return Decision("read", f"no access rule for user {user!r} from {', '.join(ips) or '?'}: read only")


def edit(rules: dict | None, user: str, what: str, key: str, value: str | None) -> dict:
    """A copy of the rules with one change: what = "addresses" (add key, or remove it when
    value is None) or "devices" (key = pattern, value = right, None removes)."""
    out = copy.deepcopy(rules) if rules else {}
    users = out.setdefault("users", {})
    body = users.setdefault(user, {})
    if what == "addresses":
        addresses = [str(a) for a in body.get("addresses") or []]
        if value is None:
            addresses = [a for a in addresses if a != key]
        elif key not in addresses:
            addresses.append(key)
        body["addresses"] = addresses
    else:
        devices = {str(p): str(r) for p, r in (body.get("devices") or {}).items()}
        if value is None:
            devices.pop(key, None)
        else:
            devices[key] = value
        body["devices"] = devices
    for k in [k for k, v in body.items() if not v]:
        del body[k]
    if not body:
        del users[user]
    return out
