"""TCP under the stream layer (line and binary protocols).

Waits are gevent-friendly (core.comm.waiting: a request waiting for its reply lets the
other greenlets run). Nagle's algorithm is off: one small request at a time, a delayed
ACK would cost tens of milliseconds.

The socket is left in blocking mode with a receive timeout (SO_RCVTIMEO) of the kernel
wait a fast link is worth (waiting.ReplyClock): the reply of an instrument that answers
within it is taken by one blocking recv, as a bare socket would, where a non-blocking
recv, a select and a second recv cost as much again as the whole exchange; past that
budget (EAGAIN) the wait goes to the hub. Every other call passes MSG_DONTWAIT, so no
send and no later recv ever blocks the process.
"""

from __future__ import annotations

import socket
import struct

from . import waiting
from .link import PeerClosed
from .stream import Deadline, StreamLink


def split_url(url: str, default_port: int | None = None, what: str = "TCP") -> tuple[str, int]:
    """"host:port", "tcp://host:port" or "host" (with a default port) -> (host, port)."""
    text = str(url).strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    host, sep, port = text.rpartition(":")
    if not sep:
        if default_port is None:
            raise ValueError(f"{what} address {url!r} has no port (host:port)")
        return text, int(default_port)
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"{what} address {url!r}: port {port!r} is not a number") from None
    if not 0 < number < 65536:
        raise ValueError(f"{what} address {url!r}: port {number} is outside 1..65535")
    return host or "127.0.0.1", number


class Tcp(StreamLink):
    """Tcp("iceid311", 5000, eol=b"\\n", timeout=1.0, name="ice1")."""

    kind = "tcp"

    def __init__(self, host: str, port: int, *, connect_timeout: float | None = None, **kwargs) -> None:
        super().__init__(f"{host}:{int(port)}", **kwargs)
        self.host, self.port = host, int(port)
        self.connect_timeout = connect_timeout
        self._sock: socket.socket | None = None  # the standard library's, blocking, SO_RCVTIMEO
        self._rcvtimeo_us = 0  # the receive timeout set on it (microseconds; 0: none set)

    @classmethod
    def from_url(cls, url: str, default_port: int | None = None, **kwargs) -> Tcp:
        host, port = split_url(url, default_port)
        return cls(host, port, **kwargs)

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def _open(self) -> None:
        deadline = Deadline(self.timeout if self.connect_timeout is None else self.connect_timeout)
        family, kind, _proto, _name, address = socket.getaddrinfo(self.host, self.port, 0, socket.SOCK_STREAM)[0]
        sock = waiting.connect(address, deadline, family, kind)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(True)  # only the budgeted recv blocks (see the module's docstring)
        self._rcvtimeo_us = 0
        self._sock = sock
        self._buf.clear()

    def _close(self) -> None:
        sock, self._sock = self._sock, None
        self._buf.clear()
        self._sent_at = None
        if sock is not None:
            sock.close()

    def _send(self, data: bytes, deadline: Deadline) -> None:
        sock = self._sock
        view = memoryview(data)
        while view:
            try:
                view = view[sock.send(view, socket.MSG_DONTWAIT):]
            except BlockingIOError:
                waiting.wait_writable(sock.fileno(), deadline)

    def _recv(self, deadline: Deadline) -> bytes:
        sock = self._sock
        budget = self._wait_budget()
        data = None
        if budget > 0.0 and budget < deadline.left():
            self._set_rcvtimeo(budget)
            try:
                data = sock.recv(65536)  # in the kernel, for at most the budget
            except BlockingIOError:
                pass
        while data is None:
            try:
                data = sock.recv(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                waiting.wait_readable(sock.fileno(), deadline)
        if not data:
            raise PeerClosed()
        self._arrived()
        return data

    def _set_rcvtimeo(self, seconds: float) -> None:
        """SO_RCVTIMEO to seconds rounded up to a step of RCVTIMEO_STEP_US (set only when
        the step changes; never 0, which would mean no timeout at all)."""
        us = -(-int(seconds * 1e6) // RCVTIMEO_STEP_US) * RCVTIMEO_STEP_US or RCVTIMEO_STEP_US
        if us != self._rcvtimeo_us:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, us))
            self._rcvtimeo_us = us


#: resolution of the kernel wait's budget (one setsockopt whenever the step changes)
RCVTIMEO_STEP_US = 50
