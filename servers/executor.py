"""A leaner gevent executor for the device server's requests.

PyTango's GeventExecutor hands each request from the omniORB thread to the hub with a
new async watcher and waits for the greenlet to *start* before waiting for its result:
two thread handoffs per call, and the omniORB thread then fights the hub for the GIL
while the request runs. Here one long-lived watcher drains a queue of requests and the
omniORB thread only waits for the result: one handoff, no new watcher per call. That is
most of the difference between a Position read here and one on a C++ device.

In a server run BY_DEVICE (servers.pusher says why), a request thread waiting for the
hub to run a *command* lets go of its device's monitor meanwhile: a long command
(WaitMove) would otherwise hold reads and events of its device for its whole length.
An attribute read or write keeps it: it is short, and cppTango takes the attribute's own
mutex inside the monitor, so letting go of the monitor there and taking it back would
take the two locks in the other order (two concurrent reads deadlocked so, measured).
Under NO_SYNC there is no monitor and nothing is let go of.
"""

from __future__ import annotations

import collections
import logging
import sys
from typing import Any

import gevent
import tango
from tango.gevent_executor import GeventExecutor, ThreadSafeEvent

_log = logging.getLogger(__name__)


def _name(fn: Any) -> str:
    """`Class.method` of a device method (what a person finds in the code)."""
    return getattr(fn, "__qualname__", None) or repr(fn)


class _Request:
    __slots__ = ("fn", "args", "kwargs", "value", "exc", "done")

    def __init__(self, fn, args, kwargs) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.value: Any = None
        self.exc: BaseException | None = None
        self.done = ThreadSafeEvent()

    def run(self) -> None:
        try:
            self.value = self.fn(*self.args, **self.kwargs)
        except Exception:
            self.exc = sys.exc_info()[1]
        except BaseException as exc:
            # GreenletExit (the request's greenlet killed), gevent.Timeout, SystemExit:
            # caught as Exception only, the request "succeeded" with None and the client
            # of an attribute read got cppTango's bare "Read value for attribute ... has
            # not been updated" (seen once in 84 000 reads of a 30-min soak)
            _log.warning("%s interrupted by %r", _name(self.fn), exc, exc_info=True)
            self.exc = RuntimeError(f"{_name(self.fn)} was interrupted in the server ({type(exc).__name__}"
                                    f"{': ' + str(exc) if str(exc) else ''}): try again")
            if not isinstance(exc, gevent.GreenletExit | gevent.Timeout):
                raise
        finally:
            self.done.set()

    def result(self, device: tango.DeviceImpl | None = None) -> Any:
        """Wait for the hub to run the request; `device`: the device of the command this
        (omniORB) thread serves, whose monitor it lets go of meanwhile."""
        if device is None:
            self.done.wait()
        else:
            with tango.AutoTangoAllowThreads(device):
                self.done.wait()
        if self.exc is not None:
            raise self.exc
        return self.value


class QueueExecutor(GeventExecutor):
    """GeventExecutor with one persistent watcher; build it in the hub's thread."""

    def __init__(self, lets_go_of_monitor: bool = False) -> None:
        super().__init__()
        self.lets_go_of_monitor = lets_go_of_monitor  # BY_DEVICE servers: see the module docstring
        self._queue: collections.deque[_Request] = collections.deque()
        self._watcher = self.create_watcher()
        self._watcher.start(self._drain)

    def _drain(self) -> None:
        queue = self._queue
        while queue:
            gevent.spawn(queue.popleft().run)

    def submit(self, fn, *args, **kwargs) -> _Request:
        req = _Request(fn, args, kwargs)
        self._queue.append(req)
        self._watcher.send()
        return req

    def execute(self, fn, *args, **kwargs) -> Any:
        if self.in_executor_context():
            return fn(*args, **kwargs)
        req = self.submit(fn, *args, **kwargs)
        return req.result(args[0] if self.lets_go_of_monitor and _from_command(args) else None)


#: the name of the function PyTango wraps every green command in (tango.server)
_COMMAND_WRAPPER = "wrapped_command_method"


def _from_command(args: tuple) -> bool:
    """True when PyTango's command wrapper called execute (the device comes first)."""
    return (bool(args) and isinstance(args[0], tango.DeviceImpl)
            and sys._getframe(2).f_code.co_name == _COMMAND_WRAPPER)  # noqa: SLF001 - no other way to know


def install(lets_go_of_monitor: bool = False) -> None:
    """Serve this process' requests through a QueueExecutor (call in the hub's thread);
    lets_go_of_monitor for a server run BY_DEVICE (servers.serve does it)."""
    from tango.device_server import set_worker

    set_worker(QueueExecutor(lets_go_of_monitor))
