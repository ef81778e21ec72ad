"""A Modbus TCP client for gevent processes, over pymodbus's synchronous client.

pymodbus does the framing; this adds what a device controller needs around it, by
core.comm.link's rule as every link: one request at a time per connection (greenlets
or threads take turns), a connection made on first use and made again after a loss
with back-off (calls during the back-off fail at once instead of each waiting out a
connect timeout), a hook run on every new connection (to check the peer's identity),
and errors that name the address, the request and what went wrong. In a process patched by
:func:`blisstango.core.green.patch` the sockets are gevent's, so a request waiting for
its reply lets other greenlets run; in a threaded process it blocks its thread only.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from typing import Any

import gevent.monkey
from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException

from .backoff import Backoff
from .errors import CommunicationError
from .link import Link

DEFAULT_PORT = 502

#: Modbus exception codes (the reply's exception_code) in words
EXCEPTION_CODES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}


class ModbusLinkError(CommunicationError, ConnectionError):
    """The Modbus device cannot be reached or did not answer in time."""


class ModbusReplyError(IOError):
    """The Modbus device answered a request with a Modbus exception."""


def split_url(url: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """"host", "host:port" or "tcp://host:port" -> (host, port)."""
    text = str(url).strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, default_port
    try:
        return host, int(port)
    except ValueError:
        raise ValueError(f"Modbus TCP address {url!r}: port {port!r} is not a number") from None


class _Client(ModbusTcpClient):
    """pymodbus's client, connecting so that the reason of a failure is kept (the base
    class logs it and returns False), with Nagle's algorithm off (one small request at a
    time), and receiving with a plain blocking recv under the socket's timeout: under
    gevent that waits on the hub's own watcher, where the base class's select() builds
    watchers and a timer per call (twice the time of the whole request on a loaded host)."""

    def connect(self) -> bool:
        if self.socket:
            return True
        params = self.comm_params
        sock = socket.create_connection((params.host, params.port), timeout=params.timeout_connect,
                                        source_address=params.source_address)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if gevent.monkey.is_module_patched("socket"):
            sock.settimeout(params.timeout_connect)  # gevent waits on the hub
        else:  # a blocking socket whose kernel times the wait out: one system call a reply
            seconds = max(params.timeout_connect, 0.001)
            sock.settimeout(None)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                            struct.pack("ll", int(seconds), int(seconds % 1 * 1e6)))
        self.socket = sock
        return True

    def recv(self, size: int | None) -> bytes:
        """What has arrived, waiting up to the timeout for the first byte (b"" = no answer:
        pymodbus then reports a timeout); ConnectionException if the peer closed."""
        if not self.socket:
            raise ConnectionException(str(self))
        try:
            data = self.socket.recv(size or 4096)
        except (TimeoutError, BlockingIOError):  # (BlockingIOError: SO_RCVTIMEO ran out)
            return b""
        except OSError:
            self.close()
            raise ConnectionException(f"{self}: connection lost") from None
        if not data:
            self.close()
            raise ConnectionException(f"{self}: Connection unexpectedly closed")
        return data


class ModbusTcp(Link):
    """ModbusTcp("wcid10a", 502, timeout=1.0): read_*/write_* return plain lists.

    The connection, the lock, the back-off and on_connect(self) follow core.comm.link's
    rule, as every other link does.
    """

    kind = "tcp"
    lost_error = timeout_error = down_error = ModbusLinkError

    def __init__(self, host: str, port: int = DEFAULT_PORT, *, timeout: float = 1.0, device_id: int = 1,
                 backoff: Backoff | None = None, name: str | None = None,
                 on_connect: Callable[[ModbusTcp], Any] | None = None) -> None:
        super().__init__(f"{host}:{int(port)}", name=name, timeout=timeout, backoff=backoff,
                         on_connect=on_connect)
        self.host, self.port = host, int(port)
        self.device_id = int(device_id)
        self._client = _Client(host, port=self.port, timeout=self.timeout, retries=0)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> ModbusTcp:
        host, port = split_url(url)
        return cls(host, port, **kwargs)

    def configure(self, host: str | None = None, port: int | None = None, timeout: float | None = None) -> None:
        """Another address or reply timeout (a device property overriding the YAML): the
        connection is made again on the next request."""
        with self.locked():
            self._client.close()
            renamed = self.name == self.address
            self.host = host or self.host
            self.port = int(port or self.port)
            self.timeout = float(timeout or self.timeout)
            self.address = f"{self.host}:{self.port}"
            if renamed:
                self.name = self.address
            self._client = _Client(self.host, port=self.port, timeout=self.timeout, retries=0)

    @property
    def connected(self) -> bool:
        return self._client.connected

    def _open(self) -> None:
        self._client.connect()

    def _close(self) -> None:
        self._client.close()

    # ---- requests -------------------------------------------------------------------
    def read_coils(self, address: int, count: int = 1) -> list[bool]:
        return self._call("read coils", address, count, self._client.read_coils, count=count).bits[:count]

    def read_discrete_inputs(self, address: int, count: int = 1) -> list[bool]:
        reply = self._call("read discrete inputs", address, count, self._client.read_discrete_inputs, count=count)
        return reply.bits[:count]

    def read_holding_registers(self, address: int, count: int = 1) -> list[int]:
        reply = self._call("read holding registers", address, count, self._client.read_holding_registers,
                           count=count)
        return list(reply.registers)

    def read_input_registers(self, address: int, count: int = 1) -> list[int]:
        reply = self._call("read input registers", address, count, self._client.read_input_registers,
                           count=count)
        return list(reply.registers)

    def write_coil(self, address: int, value: bool) -> None:
        self._call("write coil", address, 1, self._client.write_coil, bool(value))

    def write_coils(self, address: int, values: list[bool]) -> None:
        self._call("write coils", address, len(values), self._client.write_coils, [bool(v) for v in values])

    def write_registers(self, address: int, values: list[int]) -> None:
        self._call("write registers", address, len(values), self._client.write_registers,
                   [int(v) & 0xFFFF for v in values])

    def _call(self, what: str, address: int, n: int, request: Callable, *args: Any, **kwargs: Any):
        where = f"{what} {address:#06x} x{n}"
        with self.request(where):
            try:
                reply = request(address, *args, device_id=self.device_id, **kwargs)
            except ModbusException as exc:
                reason = _reason(exc, self.timeout)
                raise (TimeoutError if reason.startswith("no answer") else ConnectionError)(reason) from None
        if reply.isError():
            code = getattr(reply, "exception_code", None)
            text = EXCEPTION_CODES.get(code, "unknown exception")
            raise ModbusReplyError(f"{self.name}: {where}: the device refused it: {text} "
                                   f"(Modbus exception {code})")
        return reply


def _reason(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"no answer within {timeout:g} s"
    text = str(exc).strip()
    if "No response received" in text:
        return f"no answer within {timeout:g} s"
    if "Connection unexpectedly closed" in text or "CLOSING CONNECTION" in text or "connection lost" in text:
        return "the device closed the connection"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return text or type(exc).__name__
