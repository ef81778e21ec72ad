"""Waiting for a file descriptor (a socket, a serial port) without holding up the process.

In a gevent process the wait goes to the hub, so the other greenlets run meanwhile. A
hub round trip costs some tens of microseconds, as much as a whole request to an
instrument on the same host (a simulator answers `?FPOS` in ~30 us): so a link that has
proven to answer within FAST_REPLY first waits in the kernel for at most that long (the
process sleeps, as it would in the hub, but without the switches), and only then hands
the wait to the hub. A link whose replies take longer never does: its waits all go to
the hub. In a process not patched for gevent, the wait blocks its own thread.
"""

from __future__ import annotations

import errno
import os
import select as _select_mod
import socket
import time

import gevent.monkey
import gevent.socket


class Deadline:
    """The end of one call: what is left of its timeout, and the error when none is."""

    __slots__ = ("timeout", "end")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.end = time.monotonic() + timeout

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise self.expired()
        return left

    def expired(self) -> TimeoutError:
        return TimeoutError(f"no answer within {self.timeout:g} s")


_select = gevent.monkey.get_original("select", "select")

#: longest kernel wait before the hub takes over (s), for links that answer faster
FAST_REPLY = 0.0002


def green() -> bool:
    return gevent.monkey.is_module_patched("socket")


class ReplyClock:
    """How fast a link's instrument answers (a moving average), and so how long a reply
    is worth waiting for in the kernel."""

    __slots__ = ("typical",)

    def __init__(self) -> None:
        self.typical: float | None = None

    def budget(self) -> float:
        t = self.typical
        if t is None:
            return FAST_REPLY
        return min(FAST_REPLY, 3.0 * t) if t < FAST_REPLY else 0.0

    def observe(self, seconds: float) -> None:
        self.typical = seconds if self.typical is None else 0.8 * self.typical + 0.2 * seconds


def wait_readable(fd: int, deadline: Deadline, budget: float = 0.0) -> None:
    """Until fd has something to read; the deadline's TimeoutError otherwise."""
    if budget > 0.0 and fd < 1024 and _select([fd], [], [], min(budget, deadline.left()))[0]:
        return  # (select, for its microseconds: poll and epoll count in milliseconds)
    if green():
        gevent.socket.wait_read(fd, timeout=deadline.left(), timeout_exc=deadline.expired())
    elif not _poll_one(fd, _select_mod.POLLIN, deadline.left()):
        raise deadline.expired()


def wait_writable(fd: int, deadline: Deadline) -> None:
    timeout = TimeoutError(f"could not send within {deadline.timeout:g} s")
    if green():
        gevent.socket.wait_write(fd, timeout=deadline.left(), timeout_exc=timeout)
    elif not _poll_one(fd, _select_mod.POLLOUT, deadline.left()):
        raise timeout


def _poll_one(fd: int, events: int, seconds: float) -> bool:
    """The thread's own wait (a process not patched for gevent), any fd number."""
    poller = gevent.monkey.get_original("select", "poll")()
    poller.register(fd, events)
    return bool(poller.poll(seconds * 1000.0))


def connect(address: tuple, deadline: Deadline, family: int = socket.AF_INET,
            kind: int = socket.SOCK_STREAM) -> socket.socket:
    """A non-blocking standard-library socket connected to address (gevent-friendly wait)."""
    sock = gevent.monkey.get_original("socket", "socket")(family, kind)
    sock.setblocking(False)
    try:
        code = sock.connect_ex(address)
        if code in (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
            try:
                wait_writable(sock.fileno(), deadline)
            except TimeoutError:
                raise TimeoutError(f"no connection within {deadline.timeout:g} s") from None
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            raise OSError(code, os.strerror(code))
    except BaseException:
        sock.close()
        raise
    return sock
