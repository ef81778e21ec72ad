"""UDP: one datagram out, one datagram back (waits through core.comm.waiting).

A datagram link has no connection to lose, but the rule is the same as for the others:
no answer in time, or a refusal from the host (ICMP port unreachable), drops the socket
and starts the back-off.
"""

from __future__ import annotations

import socket
import time

from . import waiting
from .link import Link
from .stream import Deadline, as_bytes
from .tcp import split_url


class Udp(Link):
    """Udp("host", port, eol=b"\\n"): write_read(data) -> the reply datagram."""

    kind = "udp"

    def __init__(self, host: str, port: int, *, eol: bytes | str = b"\n", write_eol: bytes | str | None = None,
                 encoding: str = "latin-1", max_size: int = 65507, **kwargs) -> None:
        super().__init__(f"{host}:{int(port)}", **kwargs)
        self.host, self.port = host, int(port)
        self.eol = as_bytes(eol)
        self.write_eol = self.eol if write_eol is None else as_bytes(write_eol)
        self.encoding = encoding
        self.max_size = max_size
        self._sock: socket.socket | None = None
        self.clock = waiting.ReplyClock()

    @classmethod
    def from_url(cls, url: str, default_port: int | None = None, **kwargs) -> Udp:
        host, port = split_url(url, default_port, what="UDP")
        return cls(host, port, **kwargs)

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def _open(self) -> None:
        family, kind, _proto, _name, address = socket.getaddrinfo(self.host, self.port, 0, socket.SOCK_DGRAM)[0]
        self._sock = waiting.connect(address, Deadline(self.timeout), family, kind)

    def _close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def _recv(self, deadline: Deadline, budget: float = 0.0) -> bytes:
        sock = self._sock
        while True:
            try:
                return sock.recv(self.max_size)
            except BlockingIOError:
                waiting.wait_readable(sock.fileno(), deadline, budget)

    def write(self, data: bytes) -> None:
        with self.request(data):
            self._sock.send(data)  # a datagram is sent whole or refused, never waits

    def read(self, timeout: float | None = None) -> bytes:
        """The next datagram."""
        with self.request("reading a datagram"):
            return self._recv(Deadline(self.timeout if timeout is None else timeout))

    def write_read(self, data: bytes, timeout: float | None = None) -> bytes:
        with self.request(data):
            deadline = Deadline(self.timeout if timeout is None else timeout)
            self._drain()
            self._sock.send(data)
            sent = time.perf_counter()
            reply = self._recv(deadline, self.clock.budget())
            self.clock.observe(time.perf_counter() - sent)
            return reply

    def _drain(self) -> None:
        """Forget late replies to earlier requests."""
        try:
            while True:
                self._sock.recv(self.max_size)
        except (BlockingIOError, InterruptedError):
            pass

    def query(self, cmd: str, timeout: float | None = None) -> str:
        reply = self.write_read(cmd.encode(self.encoding) + self.write_eol, timeout=timeout)
        return reply.decode(self.encoding).strip()

    def send(self, cmd: str) -> None:
        self.write(cmd.encode(self.encoding) + self.write_eol)
