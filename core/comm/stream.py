"""Request and reply over a byte stream (TCP, serial): lines and binary blocks.

Bytes in, bytes out (`write`, `read`, `readline`, `write_readline`, `write_readlines`,
`write_read`), plus a text layer (`query`, `send`) that appends `write_eol`, decodes and
strips. Every call takes its own timeout (the link's by default) for the whole call, not
per chunk. A request that expects a reply first drops whatever was left unread: a late
or unsolicited line is never taken for this request's reply.
"""

from __future__ import annotations

import time

from .link import Link, PeerClosed, shown
from .waiting import Deadline, ReplyClock


def as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("latin-1")


class StreamLink(Link):
    """A Link over a byte stream; subclasses give _send and _recv (and the Link's three)."""

    def __init__(self, address: str, *, eol: bytes | str = b"\n", write_eol: bytes | str | None = None,
                 encoding: str = "latin-1", **kwargs) -> None:
        super().__init__(address, **kwargs)
        self.eol = as_bytes(eol)
        self.write_eol = self.eol if write_eol is None else as_bytes(write_eol)
        self.encoding = encoding
        self._buf = bytearray()
        self.clock = ReplyClock()
        self._sent_at: float | None = None  # a request waits for its reply (ReplyClock)

    # -- transport primitives (subclasses) -------------------------------------------------
    def _send(self, data: bytes, deadline: Deadline) -> None:
        raise NotImplementedError

    def _recv(self, deadline: Deadline) -> bytes:
        """Some bytes (at least one) before the deadline; PeerClosed at end of stream."""
        raise NotImplementedError

    # -- building blocks, called with the lock held -------------------------------------------
    def _deadline(self, timeout: float | None) -> Deadline:
        return Deadline(self.timeout if timeout is None else float(timeout))

    def _readline(self, eol: bytes, deadline: Deadline) -> bytes:
        buf = self._buf
        start = 0
        while True:
            i = buf.find(eol, start)
            if i >= 0:
                line = bytes(buf[:i])
                del buf[:i + len(eol)]
                return line
            start = max(0, len(buf) - len(eol) + 1)
            buf += self._recv(deadline)

    def _read(self, size: int, deadline: Deadline) -> bytes:
        buf = self._buf
        while len(buf) < size:
            buf += self._recv(deadline)
        data = bytes(buf[:size])
        del buf[:size]
        return data

    def _request(self, data: bytes, deadline: Deadline) -> None:
        self._buf.clear()
        self._send(data, deadline)
        self._sent_at = time.perf_counter()

    def _wait_budget(self) -> float:
        """How long to wait for bytes in the kernel first (see core.comm.waiting)."""
        return self.clock.budget() if self._sent_at is not None else 0.0

    def _arrived(self) -> None:
        if self._sent_at is not None:
            self.clock.observe(time.perf_counter() - self._sent_at)
            self._sent_at = None

    # -- bytes -------------------------------------------------------------------------------
    def write(self, data: bytes, timeout: float | None = None) -> None:
        with self.request(data):
            self._send(data, self._deadline(timeout))

    def read(self, size: int, timeout: float | None = None) -> bytes:
        with self.request(f"reading {size} bytes"):
            return self._read(size, self._deadline(timeout))

    def readline(self, eol: bytes | None = None, timeout: float | None = None) -> bytes:
        with self.request("reading a line"):
            return self._readline(self.eol if eol is None else eol, self._deadline(timeout))

    def write_readline(self, data: bytes, eol: bytes | None = None, timeout: float | None = None) -> bytes:
        with self.request(data):
            deadline = self._deadline(timeout)
            self._request(data, deadline)
            return self._readline(self.eol if eol is None else eol, deadline)

    def write_readlines(self, data: bytes, n: int, eol: bytes | None = None,
                        timeout: float | None = None) -> list[bytes]:
        with self.request(data):
            deadline = self._deadline(timeout)
            self._request(data, deadline)
            eol = self.eol if eol is None else eol
            return [self._readline(eol, deadline) for _ in range(n)]

    def write_read(self, data: bytes, size: int, timeout: float | None = None) -> bytes:
        with self.request(data):
            deadline = self._deadline(timeout)
            self._request(data, deadline)
            return self._read(size, deadline)

    # -- text ---------------------------------------------------------------------------------
    def query(self, cmd: str, timeout: float | None = None) -> str:
        """cmd + write_eol; the reply line, decoded and stripped."""
        reply = self.write_readline(cmd.encode(self.encoding) + self.write_eol, timeout=timeout)
        return reply.decode(self.encoding).strip()

    def query_lines(self, cmd: str, n: int, timeout: float | None = None) -> list[str]:
        lines = self.write_readlines(cmd.encode(self.encoding) + self.write_eol, n, timeout=timeout)
        return [line.decode(self.encoding).strip() for line in lines]

    def send(self, cmd: str, timeout: float | None = None) -> None:
        """cmd + write_eol, no reply expected."""
        self.write(cmd.encode(self.encoding) + self.write_eol, timeout=timeout)


__all__ = ["Deadline", "PeerClosed", "StreamLink", "as_bytes", "shown"]
