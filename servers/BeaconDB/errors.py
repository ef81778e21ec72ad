"""DevFailed errors with the reasons the C++ DataBaseds uses, so clients can test them."""

from __future__ import annotations

import tango

DB_IncorrectArguments = "DB_IncorrectArguments"
DB_IncorrectDeviceName = "DB_IncorrectDeviceName"
DB_IncorrectServerName = "DB_IncorrectServerName"
DB_DeviceNotDefined = "DB_DeviceNotDefined"
DB_AliasNotDefined = "DB_AliasNotDefined"
DB_SQLError = "DB_SQLError"
DB_ClassNotFoundError = "DB_ClassNotFoundError"
API_CommandNotImplemented = "API_CommandNotImplemented"


class DbError(Exception):
    """A database error to be raised to the client as DevFailed(reason, desc, origin)."""

    def __init__(self, reason: str, desc: str, origin: str = "DataBase"):
        super().__init__(desc)
        self.reason, self.desc, self.origin = reason, desc, origin

    def throw(self) -> None:
        tango.Except.throw_exception(self.reason, self.desc, self.origin)


def bad_args(command: str, why: str) -> DbError:
    return DbError(DB_IncorrectArguments, f"{command}: {why}", f"DataBase::{command}()")
