"""Database errors with the reasons the C++ DataBaseds uses, so clients can test them.

A handler raises :class:`DbError`; the server turns it into a DevFailed with the same
reason, description and origin.
"""

from __future__ import annotations

DB_IncorrectArguments = "DB_IncorrectArguments"
DB_IncorrectDeviceName = "DB_IncorrectDeviceName"
DB_IncorrectServerName = "DB_IncorrectServerName"
DB_DeviceNotDefined = "DB_DeviceNotDefined"
DB_AliasNotDefined = "DB_AliasNotDefined"
DB_SQLError = "DB_SQLError"
DB_ClassNotFoundError = "DB_ClassNotFoundError"
API_CommandNotImplemented = "API_CommandNotImplemented"


class DbError(Exception):
    """A database error, for the client as DevFailed(reason, desc, origin)."""

    def __init__(self, reason: str, desc: str, origin: str = "DataBase"):
        super().__init__(desc)
        self.reason, self.desc, self.origin = reason, desc, origin


def bad_args(command: str, why: str) -> DbError:
    return DbError(DB_IncorrectArguments, f"{command}: {why}", f"DataBase::{command}()")
