"""Poll a condition with a deadline: the one way tests wait for another process."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], object], timeout: float = 30.0, what: str = "condition",
               period: float = 0.05) -> object:
    """predicate()'s first true value; TimeoutError naming `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {timeout} s")
        time.sleep(period)
    return value


def device_answers(name: str) -> bool:
    """True once the Tango device `name` answers a ping (a server's port opens before its
    devices are exported)."""
    import tango

    try:
        tango.DeviceProxy(name).ping()
        return True
    except tango.DevFailed:
        return False
