"""TCP under the stream layer (line and binary protocols).

A non-blocking socket whose waits core.comm.waiting makes gevent-friendly (a request
waiting for its reply lets the other greenlets run). Nagle's algorithm is off: one
small request at a time, a delayed ACK would cost tens of milliseconds.
"""

from __future__ import annotations

import socket

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
        self._sock: socket.socket | None = None  # the standard library's, non-blocking

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
                view = view[sock.send(view):]
            except BlockingIOError:
                waiting.wait_writable(sock.fileno(), deadline)

    def _recv(self, deadline: Deadline) -> bytes:
        sock = self._sock
        while True:
            try:
                data = sock.recv(65536)
                break
            except BlockingIOError:
                waiting.wait_readable(sock.fileno(), deadline, self._wait_budget())
        if not data:
            raise PeerClosed()
        self._arrived()
        return data
