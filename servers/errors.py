"""The one mapping of Python errors to DevFailed, for every device of every server.

A client sees `DevFailed(reason, desc, origin)`: reason = the exception's class name
(`LimitError`, `MotionError`, `ScanArgumentError`, `ValueError`, ...), desc = the
sentence a person reads (`m0: 12.5 is above the high limit 10.0`), origin =
`<DeviceClass>.<method>`. An exception that carries its own Tango reason (a `reason`
string attribute, as core/tangodb's DbError with the C++ DataBaseds' reasons) keeps it.
A DevFailed passes unchanged. The device stays up. Python's bare words get a sentence:
a KeyError's own message without repr quotes, a NotImplementedError says "not supported by
this hardware", a RecursionError (a JSON argument nested too deeply) is `ArgumentTooDeep`.

    from blisstango.servers.errors import devfailed, throw, fail, as_devfailed

    @attribute(dtype=float)
    @devfailed                      # attribute reads and writes, commands
    def Position(self): ...

    with as_devfailed("LimaBridge.prepare"): ...   # a block instead of a method
    throw(exc, "origin")                            # an exception caught by hand
    fail("ScanServer_NotReady", status, "ScanServer")  # a refusal that is no exception

A device whose initialisation failed calls `init_failed(self, sentence, exc)`: it stays up
in FAULT with the sentence as Status and in `self.init_error`; every decorated request is
then refused with reason `init_error_reason` (a class attribute, default
`DeviceInitError`) and that sentence. A device whose core
errors do not name it (a Lima plugin device over the process's camera) defines
`error_context() -> str`: the sentence becomes `<context>: <sentence>`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import tango

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def reason_of(exc: BaseException) -> str:
    """The DevFailed reason of an exception: its own `reason` string, else its class name."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason
    return "ArgumentTooDeep" if isinstance(exc, RecursionError) else type(exc).__name__


def desc_of(exc: BaseException) -> str:
    """The sentence a person reads: the exception's `desc` string if it has one, else str(exc)."""
    desc = getattr(exc, "desc", None)
    if isinstance(desc, str) and desc:
        return desc
    if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        return exc.args[0]  # str(KeyError) is the repr of its sentence, quotes and all
    if isinstance(exc, RecursionError):  # json.loads of "[[[[..." from a client
        return f"the argument is nested too deeply to be read ({exc})"
    if isinstance(exc, NotImplementedError):
        return f"not supported by this hardware: {exc}" if str(exc) else "not supported by this hardware"
    return str(exc) or type(exc).__name__


def fail(reason: str, desc: str, origin: str) -> NoReturn:
    """Raise DevFailed(reason, desc, origin) for a refusal that is not an exception."""
    tango.Except.throw_exception(reason, desc, origin)
    raise AssertionError("unreachable")  # throw_exception always raises


def throw(exc: BaseException, origin: str, desc: str | None = None) -> NoReturn:
    """Raise the DevFailed for exc (a DevFailed is raised again as it is); desc replaces
    the exception's own sentence when the caller adds context."""
    if isinstance(exc, tango.DevFailed):
        raise exc
    origin = getattr(exc, "origin", None) or origin
    fail(reason_of(exc), desc_of(exc) if desc is None else desc, str(origin))


@contextmanager
def as_devfailed(origin: str) -> Iterator[None]:
    """Any exception raised in the block leaves it as DevFailed."""
    try:
        yield
    except tango.DevFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - every error reaches the client as DevFailed
        throw(exc, origin)


def init_failed(device: Any, sentence: str, exc: BaseException | None = None) -> None:
    """The device could not be initialised: it stays up in FAULT and says why (Status,
    the server's log with the traceback), and @devfailed refuses every request with it."""
    device.init_error = sentence
    device.set_state(tango.DevState.FAULT)
    device.set_status(sentence)
    log.error("%s: %s", device.get_name(), sentence, exc_info=exc)


def devfailed(fn: F) -> F:
    """Decorator for device methods (commands, attribute reads and writes): any exception
    becomes DevFailed (see the module doc); a device with `init_error` set refuses."""

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        origin = f"{type(self).__name__}.{fn.__name__}"
        problem = getattr(self, "init_error", "")
        if problem:
            fail(getattr(self, "init_error_reason", "DeviceInitError"), str(problem), origin)
        try:
            return fn(self, *args, **kwargs)
        except tango.DevFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - every error reaches the client as DevFailed
            context = getattr(self, "error_context", None)
            throw(exc, origin, desc=f"{context()}: {desc_of(exc)}" if callable(context) else None)

    return wrapper  # type: ignore[return-value]


__all__ = ["reason_of", "desc_of", "fail", "throw", "as_devfailed", "devfailed", "init_failed"]
