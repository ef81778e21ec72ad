"""Ending a process's use of its configuration objects (a session closed, a server stopped).

BLISS's rule, kept: an object that holds something to let go (subscriptions, sockets,
threads) does it in `__close__()`. A plain `close()` is never called for that: on a
valve or a shutter it is what the object does to the beamline (its `close()` closes it;
a ScanServer that stopped, or a shell that ended, closed valve1 and the shutter that way).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)


class ReleasedByClose:
    """For a class whose close() only lets go of what the process holds (subscriptions,
    sockets, a watching task): its process releases it with that close()."""

    def __close__(self) -> None:
        self.close()


def release(obj: Any) -> None:
    """obj.__close__() when it has one; nothing otherwise."""
    fn = getattr(type(obj), "__close__", None)
    if callable(fn):
        fn(obj)


def release_all(objects: Iterable[Any], what: str = "object") -> None:
    """release() each; an error is logged and the others are still released."""
    for obj in objects:
        try:
            release(obj)
        except Exception:  # noqa: BLE001 - releasing goes on for the others
            log.exception("releasing the %s %s", what, getattr(obj, "name", obj))
