"""What a procedure prints, caught line by line while the rest of the process prints as usual.

A server runs many greenlets; only those a procedure spawned (its own, its scans'...)
print into its Output. `capture(sink)` routes the writes of the current greenlet and
of every greenlet it spawns (gevent keeps the spawning tree) to `sink`; every other
write goes where sys.stdout went before. The router is installed once per process.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import gevent

#: lines kept per run for late readers (older ones are dropped, counted in `dropped`)
KEEP_LINES = 10_000

_sinks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_install_lock = threading.Lock()


def _spawner(g: Any) -> Any:
    ref = getattr(g, "spawning_greenlet", None)
    return ref() if ref is not None else None


def sink_of(g: Any = None) -> OutputLines | None:
    """The sink capturing greenlet g (default: the current one), through its spawners."""
    g = gevent.getcurrent() if g is None else g
    while g is not None:
        sink = _sinks.get(g)
        if sink is not None:
            return sink
        g = _spawner(g)
    return None


def in_tree(root: Any, g: Any = None) -> bool:
    """Is g (default: the current greenlet) root or spawned, directly or not, from root?"""
    g = gevent.getcurrent() if g is None else g
    while g is not None:
        if g is root:
            return True
        g = _spawner(g)
    return False


class OutputLines:
    """Text written by one run, cut into lines; listeners get each batch of new lines."""

    def __init__(self, keep: int = KEEP_LINES) -> None:
        self.lines: deque[str] = deque(maxlen=keep)
        self.count = 0           # lines written so far (kept or not)
        self._partial = ""
        self.listeners: list[Callable[[list[str]], None]] = []

    @property
    def dropped(self) -> int:
        return self.count - len(self.lines)

    def write(self, text: str) -> int:
        if not text:
            return 0
        text = self._partial + text.replace("\r\n", "\n")
        *complete, self._partial = text.split("\n")
        if complete:
            self._add(complete)
        return len(text)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        """The last line, even without its newline."""
        if self._partial:
            partial, self._partial = self._partial, ""
            self._add([partial])

    def _add(self, lines: list[str]) -> None:
        lines = [ln.rsplit("\r", 1)[-1] for ln in lines]   # a progress line rewritten in place
        self.lines.extend(lines)
        self.count += len(lines)
        for listener in list(self.listeners):
            listener(lines)


class _Router:
    """sys.stdout / sys.stderr: a write goes to the sink of the writing greenlet, if any."""

    def __init__(self, original: Any) -> None:
        self._original = original

    def write(self, text: str) -> int:
        sink = sink_of()   # another thread's greenlet is in no procedure's tree
        if sink is not None:
            return sink.write(text)
        return self._original.write(text)

    def flush(self) -> None:
        self._original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


def install() -> None:
    """Route sys.stdout and sys.stderr through the sinks (once per process)."""
    with _install_lock:
        if not isinstance(sys.stdout, _Router):
            sys.stdout = _Router(sys.stdout)
        if not isinstance(sys.stderr, _Router):
            sys.stderr = _Router(sys.stderr)


@contextmanager
def capture(sink: OutputLines) -> Iterator[OutputLines]:
    """Within the block, the current greenlet and those it spawns print into sink."""
    install()
    g = gevent.getcurrent()
    previous = _sinks.get(g)
    _sinks[g] = sink
    try:
        yield sink
    finally:
        sink.close()
        if previous is None:
            _sinks.pop(g, None)
        else:
            _sinks[g] = previous


__all__ = ["KEEP_LINES", "OutputLines", "capture", "in_tree", "install", "sink_of"]
