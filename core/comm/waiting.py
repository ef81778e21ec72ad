"""Waiting for a file descriptor (a socket, a serial port) without holding up the process.

In a gevent process the wait goes to the hub, so the other greenlets run meanwhile. A
hub round trip costs some tens of microseconds, as much as a whole request to an
instrument on the same host (a simulator answers `?FPOS` in ~30 us): so a link that has
proven to answer within FAST_REPLY first waits in the kernel for at most that long (the
process sleeps, as it would in the hub, but without the switches), and only then hands
the wait to the hub. A link whose replies take longer never does: its waits all go to
the hub. In a process not patched for gevent, the wait blocks its own thread. (A TCP
link waits its budget in a blocking recv with SO_RCVTIMEO instead: core.comm.tcp.)
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
    """Whether a link's instrument usually answers within FAST_REPLY, and so whether a
    reply is worth waiting for in the kernel: the share of recent replies that did (an
    exponential average), so that a load spike's few slow replies do not switch a fast
    link to the hub (an average of the times would, and the hub's own cost would then
    keep it there)."""

    __slots__ = ("fast",)

    def __init__(self) -> None:
        self.fast = 1.0  # a new link is given the benefit of the doubt

    def budget(self) -> float:
        """FAST_REPLY while most replies come within it, else nothing (one fixed budget:
        a TCP link sets it on its socket once, not per request)."""
        return FAST_REPLY if self.fast >= 0.5 else 0.0

    def observe(self, seconds: float) -> None:
        self.fast = 0.9 * self.fast + (0.1 if seconds < FAST_REPLY else 0.0)


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
