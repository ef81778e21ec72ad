"""The Tango DataBase device class, built from the Db* command table.

Every handler error becomes a DevFailed naming the command and the problem; anything
unexpected (a malformed argument slipping past the parsers) becomes DB_IncorrectArguments
rather than a Python traceback, and the server stays up.
"""

from __future__ import annotations

import logging

import tango
from tango.server import Device, attribute, command

from blisstango.core.tangodb.errors import DB_IncorrectArguments, DbError
from blisstango.core.tangodb.registry import DbCommand, command_table
from blisstango.core.tangodb.server_cache import RELEASE
from blisstango.core.tangodb.store import TangoStore

from ..errors import fail, throw
from ..request_thread import request_hook
from . import ending

log = logging.getLogger(__name__)

#: The store served by the DataBase device; set by the server before the device starts.
STORE: list[TangoStore] = []


def _fail(cmd: str, argin, exc: Exception) -> None:
    shown = repr(argin)
    shown = shown if len(shown) <= 200 else shown[:200] + "..."
    log.warning("%s(%s) failed: %r", cmd, shown, exc)
    fail(DB_IncorrectArguments, f"{cmd}: malformed argument {shown}: {type(exc).__name__}: {exc}",
         f"DataBase::{cmd}()")


def _make(spec: DbCommand):
    handler, name = spec.handler, spec.name

    def method(self, *argin):  # (self) for a DevVoid command, else (self, argin)
        try:
            return handler(self.store, *argin)
        except DbError as e:  # the C++ DataBaseds' reason, desc, origin
            throw(e, f"DataBase::{name}()")
        except tango.DevFailed:
            raise
        except Exception as e:  # noqa: BLE001
            _fail(name, argin[0] if argin else None, e)

    method.__name__ = name
    method.__qualname__ = f"DataBase.{name}"
    method.__doc__ = handler.__doc__
    kwargs = {"cmd_green_mode": False}  # run in the omniORB thread: no executor hop
    if spec.dtype_in is not None:
        kwargs["dtype_in"] = spec.dtype_in
    if spec.dtype_out is not None:
        kwargs["dtype_out"] = spec.dtype_out
    return command(method, **kwargs)


def _build():
    attrs = {spec.name: _make(spec) for spec in command_table().values()}

    def init_device(self):
        Device.init_device(self)
        self.store = STORE[0]
        self.set_state(tango.DevState.ON)
        self.set_status("BeaconDB: Tango database served from the YAML tree and the journal")
        for signo in ending.ENDING_SIGNALS:  # cppTango still ends the server after them
            self.register_signal(signo)

    def signal_handler(self, signo):
        ending.note_signal(signo)

    def ResetTimingValues(self):
        """Kept for clients of the C++ DataBaseds; BeaconDB keeps no timing table."""

    def read_StoredProcedureRelease(self):
        """cppTango sends its major release with DbGetDataForServerCache (and then reads
        pipe properties from the reply) only if this reads 'release 1.9' or later."""
        return RELEASE

    attrs["init_device"] = init_device
    attrs["signal_handler"] = signal_handler
    attrs["always_executed_hook"] = request_hook
    attrs["StoredProcedureRelease"] = attribute(read_StoredProcedureRelease, dtype=str)
    attrs["ResetTimingValues"] = command(ResetTimingValues)
    attrs["__doc__"] = "Tango DataBase device served by BeaconDB."
    return type("DataBase", (Device,), attrs)


DataBase = _build()
