"""Serial lines: pyserial opens and configures the port; the waits are gevent-friendly.

pyserial does what it is good at (opening the device, termios: baud rate, byte size,
parity, stop bits, flow control) and leaves the file descriptor non-blocking; reads and
writes wait for it through core.comm.waiting: in a gevent process a request waiting for
its reply lets the other greenlets run.
A port that goes away (a USB adapter unplugged, a simulator's pseudo-terminal closed) is
a lost link like a closed socket: the back-off applies and the port is opened again.
"""

from __future__ import annotations

import errno
import os

from . import waiting
from .link import PeerClosed
from .stream import Deadline, StreamLink

PARITIES = {"N": "none", "E": "even", "O": "odd", "M": "mark", "S": "space"}
BYTESIZES = (5, 6, 7, 8)
STOPBITS = (1, 1.5, 2)


def check_serial_settings(name: str, port: str, baudrate: object, bytesize: object, parity: object,
                          stopbits: object) -> tuple[int, int, str, float]:
    """The settings as pyserial takes them, or ValueError naming the value and what is allowed."""
    where = f"{name}: serial {port}"
    try:
        baud = int(baudrate)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{where}: baudrate {baudrate!r} is not a number") from None
    if baud <= 0 or baud != float(baudrate):  # type: ignore[arg-type]
        raise ValueError(f"{where}: baudrate {baudrate!r} must be a positive whole number")
    if bytesize not in BYTESIZES:
        raise ValueError(f"{where}: bytesize {bytesize!r} is not one of {', '.join(map(str, BYTESIZES))}")
    par = str(parity).upper()[:1]
    if par not in PARITIES:
        raise ValueError(f"{where}: parity {parity!r} is not one of {', '.join(PARITIES.values())}")
    try:
        stop = float(stopbits)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        stop = -1.0
    if stop not in STOPBITS:
        raise ValueError(f"{where}: stopbits {stopbits!r} is not one of 1, 1.5, 2")
    return baud, int(bytesize), par, stop  # type: ignore[arg-type]


class Serial(StreamLink):
    """Serial("/dev/ttyS0", baudrate=9600, eol=b"\\r\\n", timeout=1.0, name="cryo1")."""

    kind = "serial"

    def __init__(self, port: str, *, baudrate: int = 9600, bytesize: int = 8, parity: str = "N",
                 stopbits: float = 1, xonxoff: bool = False, rtscts: bool = False, **kwargs) -> None:
        super().__init__(str(port), **kwargs)
        self.port = str(port)
        self.baudrate, self.bytesize, self.parity, self.stopbits = check_serial_settings(
            self.name, self.port, baudrate, bytesize, parity, stopbits)
        self.xonxoff, self.rtscts = bool(xonxoff), bool(rtscts)
        self._serial = None
        self._fd: int | None = None

    @property
    def connected(self) -> bool:
        return self._fd is not None

    def _open(self) -> None:
        import serial  # pyserial

        stopbits = {1.0: serial.STOPBITS_ONE, 1.5: serial.STOPBITS_ONE_POINT_FIVE,
                    2.0: serial.STOPBITS_TWO}[self.stopbits]
        try:
            port = serial.Serial(self.port, baudrate=self.baudrate, bytesize=self.bytesize,
                                 parity=self.parity, stopbits=stopbits, xonxoff=self.xonxoff,
                                 rtscts=self.rtscts, timeout=0, exclusive=True)
        except serial.SerialException as exc:
            code = exc.errno or errno.EIO
            text = str(exc.strerror or exc)
            if code == errno.ENOENT:
                text = "no such device"
            raise OSError(code, text) from None
        except ValueError as exc:  # pyserial refuses a setting the port does not support
            raise OSError(errno.EINVAL, str(exc)) from None
        self._serial, self._fd = port, port.fileno()
        self._buf.clear()
        port.reset_input_buffer()  # what arrived before we opened is nobody's reply

    def _close(self) -> None:
        port, self._serial, self._fd = self._serial, None, None
        self._buf.clear()
        self._sent_at = None
        if port is not None:
            try:
                port.close()
            except OSError:
                pass

    def _send(self, data: bytes, deadline: Deadline) -> None:
        view = memoryview(data)
        fd = self._fd
        while view:
            try:
                n = os.write(fd, view)
            except BlockingIOError:
                waiting.wait_writable(fd, deadline)
                continue
            view = view[n:]

    def _recv(self, deadline: Deadline) -> bytes:
        """Wait until readable, then read: a tty in raw mode with VMIN 0 (pyserial's
        setting) reads 0 bytes when it has none, so an empty read after the wait is a
        hang-up, never 'not yet'."""
        fd = self._fd
        while True:
            waiting.wait_readable(fd, deadline, self._wait_budget())
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                continue
            if not data:
                raise PeerClosed()
            self._arrived()
            return data
