"""The one reconnect rule every transport follows (TCP, UDP, serial, Modbus TCP).

- One request at a time per link: a request and its reply are never interleaved with
  another greenlet's (or thread's, in a process not patched for gevent); `with
  link.locked():` holds the lock over several requests.
- I/O goes through the standard library (socket, select), which core.green.patch()
  makes cooperative: in a gevent process a request waiting for its reply lets the other
  greenlets run; in a threaded one it blocks its own thread only.
- The connection is made on first use, never when the object is built.
- A failure (refused, closed by the peer, no answer in time) drops the connection: a late
  reply must never be taken for the next request's. The back-off (core.comm.backoff)
  then applies: calls before the next attempt is due fail at once with the last reason,
  instead of each waiting out a connect timeout; the first call after it connects again.
- A greenlet killed in the middle of a request also drops the connection (no back-off:
  the peer did nothing wrong), for the same reason.
- `on_connect(link)` runs after every new connection, under the lock (an identity check);
  if it raises, the connection is dropped, the back-off applies, and its exception is
  what callers get until the next attempt.
- Errors name the device, its address and what was being sent.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import gevent.lock
import gevent.monkey

from .backoff import Backoff
from .errors import CommunicationError, CommunicationTimeout, LinkDown


class Link:
    """Base of every transport: subclasses implement _open, _close and connected."""

    kind = "link"
    #: the exception classes raised for a lost link, a timeout, a call during the back-off
    lost_error: type[CommunicationError] = CommunicationError
    timeout_error: type[CommunicationError] = CommunicationTimeout
    down_error: type[CommunicationError] = LinkDown

    def __init__(self, address: str, *, name: str | None = None, timeout: float = 1.0,
                 backoff: Backoff | None = None, on_connect: Callable[[Any], Any] | None = None) -> None:
        self.address = address
        self.name = name or address
        self.timeout = float(timeout)
        self.backoff = backoff or Backoff()
        self.on_connect = on_connect
        self.last_error: str | None = None
        self.connections = 0  # connections made so far (a reconnection counts)
        self._hook_error: BaseException | None = None
        self._lock = _lock()

    # -- to implement ------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        raise NotImplementedError

    def _open(self) -> None:
        """Make the connection; raise OSError (with the reason) when it cannot be made."""
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    # -- public --------------------------------------------------------------------------
    def locked(self) -> Any:
        """`with link.locked():` several requests that must not be interleaved."""
        return self._lock

    def connect(self) -> None:
        """Connect now (and run on_connect) unless connected; raises as a request would."""
        with self._lock:
            self._ensure_open("connecting")

    def close(self) -> None:
        with self._lock:
            self._close()

    @contextlib.contextmanager
    def request(self, what: str | bytes) -> Iterator[None]:
        """The frame of one request: lock, connect if needed, then the body's I/O; an I/O
        failure in the body drops the link and becomes this link's error naming `what`
        (words, or the bytes being sent: only put in words when an error needs them)."""
        with self._lock:
            self._ensure_open(what)
            try:
                yield
            except CommunicationError:
                raise
            except (OSError, EOFError) as exc:
                raise self._lost(what, exc) from None
            except BaseException:
                self._close()  # killed mid-request: its reply must not be the next one's
                raise
            self.last_error = None

    def describe(self, what: str | bytes) -> str:
        if isinstance(what, bytes):
            what = f"sending {shown(what)}"
        where = "" if self.name == self.address else f" to {self.kind} {self.address}"
        return f"{self.name}: {what}{where}"

    # -- the rule -------------------------------------------------------------------------
    def _ensure_open(self, what: str | bytes) -> None:
        if self.connected:
            return
        left = self.backoff.wait_left()
        if left > 0 and self._hook_error is not None:
            raise self._hook_error
        if left > 0:
            raise self.down_error(f"{self.describe(what)}: unreachable ({self.last_error}); "
                                  f"next attempt in {left:.1f} s")
        try:
            self._open()
        except OSError as exc:
            self._close()
            raise self._lost(what, exc, prefix="" if what == "connecting" else "cannot connect: ") from None
        self.connections += 1
        if self.on_connect is not None:
            try:
                self.on_connect(self)
            except CommunicationError:
                raise  # lost during the hook's own requests: already dropped, back-off applied
            except Exception as exc:
                self._close()
                self.last_error, self._hook_error = str(exc), exc
                self.backoff.failed()
                raise
        self._hook_error = None
        self.backoff.succeeded()

    def _lost(self, what: str | bytes, exc: BaseException, prefix: str = "") -> CommunicationError:
        """Drop the connection, start (or lengthen) the back-off, build the error."""
        self._close()
        reason = prefix + reason_of(exc)
        self.last_error, self._hook_error = reason, None
        delay = self.backoff.failed()
        cls = self.timeout_error if isinstance(exc, TimeoutError) else self.lost_error
        return cls(f"{self.describe(what)}: {reason}; next attempt in {delay:.1f} s")

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.name} {self.kind} {self.address} "
                f"{'connected' if self.connected else 'not connected'}>")


def shown(data: bytes, limit: int = 60) -> str:
    """What was sent, as a person reads it in an error message."""
    text = data.decode("latin-1").strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _lock() -> Any:
    """One request at a time: greenlets take turns in a gevent process (a thread lock
    would block its hub), threads in a threaded one."""
    return gevent.lock.RLock() if gevent.monkey.is_module_patched("socket") else threading.RLock()


class PeerClosed(EOFError):
    """The peer closed the connection (a read returned nothing)."""

    def __init__(self) -> None:
        super().__init__("the device closed the connection")


def reason_of(exc: BaseException) -> str:
    """The part of an I/O error a person acts on, in words."""
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror or exc})"
    if isinstance(exc, TimeoutError):
        text = str(exc).strip()
        return text if text and text != "timed out" else "no answer in time"
    if isinstance(exc, EOFError):
        return str(exc) or "the device closed the connection"
    if isinstance(exc, OSError) and exc.strerror:
        text = str(exc.strerror)
        return text[:1].lower() + text[1:]
    return str(exc).strip() or type(exc).__name__
