"""The access-control device (core.tangodb.access.ACCESS_DEVICE, class TangoAccessControl):
the commands cppTango and PyTango clients call when the control system declares the
AccessControl service, and those Tango's tools use to edit the rules; the rules live in
the YAML's globals block and every change lands there (journal first, like any DB write).
"""

from __future__ import annotations

import tango
from tango.server import Device, command

from blisstango.core.tangodb import access
from blisstango.core.tangodb.store import TangoStore

from ..errors import fail
from ..request_thread import request_hook

#: Set by the server before the device starts.
STORE: list[TangoStore] = []

#: Commands of this server's own classes a read-only client may run (they change nothing).
READ_ONLY_COMMANDS = {
    "Beacon": ("GetObjectConfig", "ListObjects", "GetSession", "WhoLocked"),
    "TangoAccessControl": ("GetAccess", "GetAccessForMultiIP", "ExplainAccess", "GetAllowedCommands",
                           "GetAllowedCommandClassList", "GetDeviceClass", "GetUsers",
                           "GetAddressByUser", "GetDeviceByUser"),
}


def _need(argin: list[str], n: int, what: str, origin: str) -> None:
    if len(argin) < n:
        fail("AC_IncorrectArguments", f"{origin} needs {what} (got {list(argin)})",
             f"TangoAccessControl::{origin}")


class TangoAccessControl(Device):
    """Tango access control served from the YAML configuration (users, addresses, device
    patterns with read or write rights)."""

    always_executed_hook = request_hook

    def init_device(self):
        Device.init_device(self)
        self.store = STORE[0]
        self.set_state(tango.DevState.ON)
        self.set_status("access rules from the configuration's access_control block")

    def _device(self, name: str) -> str:
        """A client may name the device by its alias (AttributeProxy("m0/Position"))."""
        dev = self.store.device_by_name_or_alias(name)
        return dev.name if dev is not None else name

    def _rules(self) -> dict:
        return self.store.access_control or {}

    def _change(self, user: str, what: str, key: str, value: str | None) -> None:
        self.store.mutate("put_access_control", access.edit(self._rules(), user, what, key, value))

    # -- what clients ask ---------------------------------------------------------------
    @command(dtype_in=(str,), dtype_out=str, doc_in="[user, IP address, device]",
             doc_out="read or write")
    def GetAccess(self, argin: list[str]) -> str:
        _need(argin, 3, "[user, address, device]", "GetAccess")
        return access.decide(self._rules(), argin[0], [argin[1]], self._device(argin[2])).right

    @command(dtype_in=(str,), dtype_out=str, doc_in="[user, device, IP address, ...]",
             doc_out="read or write")
    def GetAccessForMultiIP(self, argin: list[str]) -> str:
        _need(argin, 3, "[user, device, address...]", "GetAccessForMultiIP")
        return access.decide(self._rules(), argin[0], list(argin[2:]), self._device(argin[1])).right

    @command(dtype_in=(str,), dtype_out=str, doc_in="[user, device, IP address, ...]",
             doc_out="the right and the rule that gives it, as a sentence")
    def ExplainAccess(self, argin: list[str]) -> str:
        _need(argin, 3, "[user, device, address...]", "ExplainAccess")
        device = self._device(argin[1])
        decision = access.decide(self._rules(), argin[0], list(argin[2:]), device)
        return f"{device}: {decision.right} for {argin[0]} ({decision.rule})"

    @command(dtype_in=str, dtype_out=(str,), doc_in="device class (or device) name",
             doc_out="commands a read-only client may run")
    def GetAllowedCommands(self, argin: str) -> list[str]:
        klass = argin
        if argin.count("/") == 2:
            dev = self.store.device(argin)
            klass = dev.klass if dev is not None else argin
        props = self.store.tables["class"].props(klass.lower())
        declared = next((list(v) for n, v in props.values() if n.lower() == "allowedaccesscmd"), [])
        return [*access.ALWAYS_ALLOWED_COMMANDS, *access.read_only_commands(klass),
                *READ_ONLY_COMMANDS.get(klass, ()), *declared]

    @command(dtype_out=(str,), doc_out="classes with the AllowedAccessCmd property")
    def GetAllowedCommandClassList(self) -> list[str]:
        return sorted(owner for owner, props in self.store.tables["class"].data.values()
                      if any(n.lower() == "allowedaccesscmd" for n, _ in props.values()))

    @command(dtype_in=str, dtype_out=str)
    def GetDeviceClass(self, argin: str) -> str:
        dev = self.store.device(argin)
        if dev is None:
            fail("AC_IncorrectArguments", f"device {argin} is not defined", "TangoAccessControl::GetDeviceClass")
        return dev.klass

    # -- what tools edit ------------------------------------------------------------------
    @command(dtype_out=(str,), doc_out="users with rules")
    def GetUsers(self) -> list[str]:
        return sorted((self._rules().get("users") or {}).keys())

    @command(dtype_in=str, dtype_out=(str,), doc_in="user")
    def GetAddressByUser(self, argin: str) -> list[str]:
        return list(((self._rules().get("users") or {}).get(argin) or {}).get("addresses") or [])

    @command(dtype_in=str, dtype_out=(str,), doc_in="user", doc_out="[pattern, right, ...]")
    def GetDeviceByUser(self, argin: str) -> list[str]:
        devices = ((self._rules().get("users") or {}).get(argin) or {}).get("devices") or {}
        return [x for pattern, right in devices.items() for x in (pattern, right)]

    @command(dtype_in=(str,), doc_in="[user, address or network]")
    def AddAddressForUser(self, argin: list[str]) -> None:
        _need(argin, 2, "[user, address]", "AddAddressForUser")
        if access.problems({"users": {argin[0]: {"addresses": [argin[1]]}}}):
            fail("AC_IncorrectArguments", f"{argin[1]!r} is not an address, a network or a.b.*.*",
                 "TangoAccessControl::AddAddressForUser")
        self._change(argin[0], "addresses", argin[1], "add")

    @command(dtype_in=(str,), doc_in="[user, address or network]")
    def RemoveAddressForUser(self, argin: list[str]) -> None:
        _need(argin, 2, "[user, address]", "RemoveAddressForUser")
        self._change(argin[0], "addresses", argin[1], None)

    @command(dtype_in=(str,), doc_in="[user, device pattern, read|write]")
    def AddDeviceForUser(self, argin: list[str]) -> None:
        _need(argin, 3, "[user, device pattern, read|write]", "AddDeviceForUser")
        if argin[2] not in access.RIGHTS or argin[1].count("/") != 2:
            fail("AC_IncorrectArguments", f"{argin[1]} {argin[2]}: needs domain/family/member and "
                 "read or write", "TangoAccessControl::AddDeviceForUser")
        self._change(argin[0], "devices", argin[1], argin[2])

    @command(dtype_in=(str,), doc_in="[user, device pattern(, right)]")
    def RemoveDeviceForUser(self, argin: list[str]) -> None:
        _need(argin, 2, "[user, device pattern]", "RemoveDeviceForUser")
        self._change(argin[0], "devices", argin[1], None)

    @command(dtype_in=str, doc_in="user")
    def RemoveUser(self, argin: str) -> None:
        rules = dict(self._rules())
        users = {k: v for k, v in (rules.get("users") or {}).items() if k != argin}
        self.store.mutate("put_access_control", {**rules, "users": users} if users else {})

    @command(dtype_in=(str,), doc_in="[source user, target user]")
    def CloneUser(self, argin: list[str]) -> None:
        _need(argin, 2, "[source user, target user]", "CloneUser")
        rules = dict(self._rules())
        users = dict(rules.get("users") or {})
        if argin[0] not in users:
            fail("AC_IncorrectArguments", f"user {argin[0]} has no rules", "TangoAccessControl::CloneUser")
        users[argin[1]] = users[argin[0]]
        self.store.mutate("put_access_control", {**rules, "users": users})

    @command
    def RegisterService(self) -> None:
        """Declare this device as the control system's AccessControl service."""
        self._services(add=True)

    @command
    def UnregisterService(self) -> None:
        self._services(add=False)

    def _services(self, add: bool) -> None:
        props = self.store.tables["object"].props("ctrlsystem")
        services = next((list(v) for n, v in props.values() if n.lower() == "services"), [])
        services = [s for s in services if not s.lower().startswith("accesscontrol/")]
        if add:
            services.append(access.SERVICE)
        if services:
            self.store.mutate("put_props", "object", "CtrlSystem", [("Services", services)])
        else:
            self.store.mutate("delete_props", "object", "CtrlSystem", ["Services"])
