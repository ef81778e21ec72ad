"""How an object tells its listeners that one of its values changed (BLISS's event.send).

    from blisstango.core.objects.announce import announce

    class Shutter:
        @property
        def state(self) -> str: ...
        def _on_hardware(self, new):
            announce(self, "state", new)     # the ObjectServer pushes a change event of `state`

The ObjectServer connects to the object it serves (`connect(obj, fn)`); fn(name, value)
is called for each announcement, in the announcing thread. Nothing is kept for objects
nobody listens to.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
Listener = Callable[[str, Any], None]

_listeners: weakref.WeakKeyDictionary[Any, list[Listener]] = weakref.WeakKeyDictionary()
_ids: dict[int, list[Listener]] = {}   # objects that cannot be weakly referenced
_lock = threading.Lock()


def _table(obj: Any, create: bool) -> list[Listener] | None:
    try:
        found = _listeners.get(obj)
        if found is None and create:
            found = _listeners[obj] = []
        return found
    except TypeError:   # not weakly referenceable (a dict, a slotted object)
        found = _ids.get(id(obj))
        if found is None and create:
            found = _ids[id(obj)] = []
        return found


def connect(obj: Any, listener: Listener) -> None:
    with _lock:
        table = _table(obj, True)
        if listener not in table:
            table.append(listener)


def disconnect(obj: Any, listener: Listener) -> None:
    with _lock:
        table = _table(obj, False)
        if table and listener in table:
            table.remove(listener)


def announce(obj: Any, name: str, value: Any) -> None:
    """`obj.<name>` is now `value`: every listener of obj is told."""
    with _lock:
        table = list(_table(obj, False) or ())
    for listener in table:
        try:
            listener(name, value)
        except Exception:  # noqa: BLE001 - a listener's error is not the announcer's
            log.exception("listener of %r failed on %s", obj, name)


__all__ = ["announce", "connect", "disconnect"]
