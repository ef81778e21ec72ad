"""Turn Python errors into DevFailed that a person understands, the device staying up."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import tango


def throw(exc: BaseException, origin: str) -> None:
    tango.Except.throw_exception(type(exc).__name__, str(exc), origin)


def devfailed(fn: Callable) -> Callable:
    """Decorator: any exception but DevFailed becomes DevFailed(reason=class, desc=message)."""

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(self, "axis", True) is None:  # init failed: say why, every time
            tango.Except.throw_exception("AxisInitError", self.init_error, fn.__name__)
        try:
            return fn(self, *args, **kwargs)
        except tango.DevFailed:
            raise
        except Exception as exc:
            throw(exc, f"{type(self).__name__}.{fn.__name__}")

    return wrapper
