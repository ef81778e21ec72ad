"""The table of Db* commands: name -> (input type, output type, handler(store, argin)).

Handlers live in modules named for the command families; the DataBase device class is
built from this table, so every command gets the same error handling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from .errors import DB_IncorrectDeviceName, DbError, bad_args

STR = "DevString"
STRS = "DevVarStringArray"
LONGSTRS = "DevVarLongStringArray"
VOID = None


class DbCommand(NamedTuple):
    name: str
    dtype_in: str | None
    dtype_out: str | None
    handler: Callable


COMMANDS: dict[str, DbCommand] = {}


def register(name: str, dtype_in: str | None, dtype_out: str | None, handler: Callable) -> Callable:
    """Add one command to the table; its docstring is the handler's."""
    COMMANDS[name] = DbCommand(name, dtype_in, dtype_out, handler)
    return handler


def db_command(dtype_in: str | None, dtype_out: str | None):
    """Register the decorated handler under its own name."""
    return lambda fn: register(fn.__name__, dtype_in, dtype_out, fn)


def db_commands(name: str, dtype_in: str | None, dtype_out: str | None, doc: str):
    """Register fn(store, argin, cmd) as command `name`, cmd being that name: one body
    serves the commands that differ only by table and name (device, class, object)."""

    def deco(fn: Callable) -> Callable:
        def handler(store, argin):
            return fn(store, argin, name)

        handler.__name__ = handler.__qualname__ = name
        handler.__doc__ = doc
        return register(name, dtype_in, dtype_out, handler)

    return deco


def command_table() -> dict[str, DbCommand]:
    """Every Db* command: the handler modules register theirs when first imported."""
    from . import cmds_devices, cmds_misc, cmds_props, server_cache  # noqa: F401

    return COMMANDS


# -- argument helpers shared by the handler modules ---------------------------------
def need(argin, n: int, cmd: str, what: str) -> None:
    if len(argin) < n:
        raise bad_args(cmd, f"needs at least {n} arguments ({what}), got {len(argin)}: {_show(argin)}")


def _show(argin) -> str:
    text = repr(list(argin))
    return text if len(text) <= 200 else text[:200] + "...]"


def device_name(name: str, cmd: str) -> str:
    """[tango:][//host:port/]domain/family/member -> domain/family/member, lower case."""
    raw = name
    if name.startswith("tango:"):
        name = name[6:]
    if name.startswith("//"):
        parts = name[2:].split("/", 1)
        name = parts[1] if len(parts) == 2 else ""
    fields = name.split("/")
    if "*" in name or len(fields) != 3 or not all(fields) or len(name) > 255:
        raise DbError(DB_IncorrectDeviceName,
                      f"{cmd}: device name {raw[:120]!r} syntax error "
                      "(should be [tango:][//host:port/]domain/family/member)",
                      f"DataBase::{cmd}()")
    return name


def count(value: str, cmd: str, what: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise bad_args(cmd, f"{what} must be an integer, got {value[:80]!r}") from None
    if n < 0:
        raise bad_args(cmd, f"{what} must not be negative, got {n}")
    return n


def parse_props(argin, start: int, nb: int, cmd: str) -> list[tuple[str, list[str]]]:
    """[name, count, value * count] * nb starting at argin[start]."""
    out, i = [], start
    for _ in range(nb):
        if i + 1 >= len(argin):
            raise bad_args(cmd, f"property list ends early at item {i}: {_show(argin)}")
        name = argin[i]
        n = count(argin[i + 1], cmd, f"value count of property {name!r}")
        values = list(argin[i + 2 : i + 2 + n])
        if len(values) != n:
            raise bad_args(cmd, f"property {name!r} announces {n} values, {len(values)} given")
        out.append((name, values))
        i += 2 + n
    return out


def parse_attr_props(argin, nb_attrs: int, cmd: str, multi: bool):
    """[attr, nprops, (name, value) or (name, n, values...)] * nb_attrs from argin[2]."""
    out, i = [], 2
    for _ in range(nb_attrs):
        if i + 1 >= len(argin):
            raise bad_args(cmd, f"attribute list ends early at item {i}: {_show(argin)}")
        attr = argin[i]
        nprops = count(argin[i + 1], cmd, f"property count of attribute {attr!r}")
        i += 2
        if multi:
            props = parse_props(argin, i, nprops, cmd)
            i += sum(2 + len(v) for _, v in props)
        else:
            if i + 2 * nprops > len(argin):
                raise bad_args(cmd, f"attribute {attr!r} announces {nprops} properties, list too short")
            props = [(argin[i + 2 * k], [argin[i + 2 * k + 1]]) for k in range(nprops)]
            i += 2 * nprops
        out.append((attr, props))
    return out
