"""A Modbus TCP client for gevent processes, over pymodbus's synchronous client.

pymodbus does the framing; this adds what a device controller needs around it:
one request at a time per connection (greenlets or threads take turns), a
connection made on first use and made again after a loss with back-off (calls during
the back-off fail at once instead of each waiting out a connect timeout), a hook run
on every new connection (to check the peer's identity), and errors that name the
address, the request and what went wrong. In a process patched by
:func:`blisstango.core.green.patch` the sockets are gevent's, so a request waiting for
its reply lets other greenlets run; in a threaded process it blocks its thread only.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

import gevent.lock
import gevent.monkey
from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException

from .backoff import Backoff

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


class ModbusLinkError(ConnectionError):
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


class ModbusTcp:
    """ModbusTcp("wcid10a", 502, timeout=1.0): read_*/write_* return plain lists.

    on_connect(self) runs after every new connection, under the lock; if it raises, the
    connection is dropped, the back-off applies, and its exception reaches the caller.
    """

    def __init__(self, host: str, port: int = DEFAULT_PORT, *, timeout: float = 1.0, device_id: int = 1,
                 backoff: Backoff | None = None, name: str | None = None,
                 on_connect: Callable[[ModbusTcp], Any] | None = None) -> None:
        self.host, self.port = host, int(port)
        self.timeout = float(timeout)
        self.device_id = int(device_id)
        self.name = name or self.address
        self.backoff = backoff or Backoff()
        self.on_connect = on_connect
        self.last_error: str | None = None
        self._hook_error: BaseException | None = None  # on_connect's, raised again during the back-off
        self._client = _Client(host, port=self.port, timeout=self.timeout, retries=0)
        self._lock = _lock()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> ModbusTcp:
        host, port = split_url(url)
        return cls(host, port, **kwargs)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        return self._client.connected

    def configure(self, host: str | None = None, port: int | None = None, timeout: float | None = None) -> None:
        """Another address or reply timeout (a device property overriding the YAML): the
        connection is made again on the next request."""
        with self._lock:
            self._client.close()
            self.host = host or self.host
            self.port = int(port or self.port)
            self.timeout = float(timeout or self.timeout)
            self._client = _Client(self.host, port=self.port, timeout=self.timeout, retries=0)

    def connect(self) -> None:
        """Connect now (and run on_connect) unless connected; raises as a request would."""
        with self._lock:
            self._ensure_connected("connect")

    def close(self) -> None:
        with self._lock:
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

    # ---- connection and errors --------------------------------------------------------
    def _call(self, what: str, address: int, n: int, request: Callable, *args: Any, **kwargs: Any):
        where = f"{what} {address:#06x} x{n}"
        with self._lock:
            self._ensure_connected(where)
            try:
                reply = request(address, *args, device_id=self.device_id, **kwargs)
            except (ModbusException, OSError) as exc:
                raise self._lost(where, _reason(exc, self.timeout)) from None
            if reply.isError():
                code = getattr(reply, "exception_code", None)
                text = EXCEPTION_CODES.get(code, "unknown exception")
                raise ModbusReplyError(f"{self.name}: {where}: the device refused it: {text} "
                                       f"(Modbus exception {code})")
            self.last_error = None
            return reply

    def _ensure_connected(self, where: str) -> None:
        if self._client.connected:
            return
        left = self.backoff.wait_left()
        if left > 0 and self._hook_error is not None:
            raise self._hook_error
        if left > 0:
            raise ModbusLinkError(f"{self.name}: {where}: {self.address} unreachable ({self.last_error}); "
                                  f"next attempt in {left:.1f} s")
        try:
            self._client.connect()
        except OSError as exc:
            raise self._lost(where, f"cannot connect to {self.address}: {_reason(exc, self.timeout)}") from None
        if self.on_connect is not None:
            try:
                self.on_connect(self)
            except ModbusLinkError:
                raise  # lost during the hook's own requests: already dropped, back-off applied
            except Exception as exc:
                self._client.close()
                self.last_error, self._hook_error = str(exc), exc
                self.backoff.failed()
                raise
        self._hook_error = None
        self.backoff.succeeded()

    def _lost(self, where: str, reason: str) -> ModbusLinkError:
        """Drop the connection (a late reply must not be taken for the next one's)."""
        self._client.close()
        self.last_error, self._hook_error = reason, None
        delay = self.backoff.failed()
        return ModbusLinkError(f"{self.name}: {where}: {reason}; next attempt in {delay:.1f} s")

    def __repr__(self) -> str:
        return f"<ModbusTcp {self.name} {self.address} {'connected' if self.connected else 'not connected'}>"


def _lock():
    """One request at a time: greenlets take turns in a gevent process (a thread lock
    would block its hub), threads in a threaded one."""
    return gevent.lock.RLock() if gevent.monkey.is_module_patched("socket") else threading.RLock()


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
