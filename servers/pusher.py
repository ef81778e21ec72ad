"""Change events of a gevent server pushed under the device's Tango monitor.

PyTango's push_change_event sets the attribute's value and sends it. cppTango, in the
request thread of a client's read of that same attribute, copies the read value into its
reply: without one lock around both, a push frees the buffer under the copy. PyTango
runs green servers NO_SYNC (no monitor), and pushing from the hub under the monitor
would deadlock with a read that holds it while it waits for the hub. So a server run
BY_DEVICE (servers.serve, `serial_model`) pushes from ONE real thread of the process:
the hub hands it the push (push_change_event on a device with PushedUnderMonitor does
that by itself), the thread takes the device's monitor (PyTango's push does) once the
read in progress is over. Measured on tests/helpers/push_race_server.py: pushed from the
hub while 4 clients read, the server died of heap corruption within ~2000 pushes;
through this thread, 20 000 pushes and no failure.

Anything else the hub changes in a device's attributes (a write value shown to clients)
goes the same way: `run_under_monitor(device, fn)`.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import tango
from tango.device_server import get_worker

log = logging.getLogger(__name__)


class MonitoredPusher:
    """One OS thread running, in order, what the hub hands it, each under its device's
    monitor (threading stays unpatched in every blisstango process: core.green.patch)."""

    def __init__(self) -> None:
        self._jobs: collections.deque[tuple[Any, Callable[[], None]]] = collections.deque()
        self._cond = threading.Condition()
        self._wake_due = False   # a wake-up of the thread is scheduled in the hub
        self._thread = threading.Thread(target=self._loop, name="monitored-pusher", daemon=True)
        self._thread.start()

    def run(self, device: tango.DeviceImpl, fn: Callable[[], None]) -> None:
        """fn() later, in the pusher thread, under device's monitor. From the hub, the
        thread is woken once the running greenlet yields: the pushes of one step of work
        (a scan's start: a dozen) cost one wake-up, not one each (each wake-up makes the
        thread fight the hub for the GIL: ~1.5 ms of ScanServer CPU per `ct` measured)."""
        self._jobs.append((device, fn))   # (called from the hub only: run_under_monitor)
        if not self._wake_due:
            self._wake_due = True
            gevent.get_hub().loop.run_callback(self._wake)   # (this is the hub's thread)

    def _wake(self) -> None:
        self._wake_due = False
        with self._cond:
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._jobs:
                    self._cond.wait()
            while self._jobs:
                device, fn = self._jobs.popleft()
                if device is None:   # a job of no device (pushes_sent's mark)
                    fn()
                    continue
                try:   # the jobs of one device that follow go under the same hold of its monitor
                    with tango.AutoTangoMonitor(device):
                        fn()
                        while self._jobs and self._jobs[0][0] is device:
                            fn = self._jobs.popleft()[1]
                            fn()
                except Exception as exc:  # noqa: BLE001 - one failed push must not stop the others
                    log.debug("push for %s failed: %s", _name(device), exc)


def _name(device: Any) -> str:
    try:
        return device.get_name()
    except Exception:  # noqa: BLE001 - a device being deleted
        return repr(device)


_PUSHER: MonitoredPusher | None = None


def pusher() -> MonitoredPusher:
    global _PUSHER
    if _PUSHER is None:
        _PUSHER = MonitoredPusher()
    return _PUSHER


def in_hub() -> bool:
    """True in the thread where the server's executor runs device code (the gevent hub's):
    asked of the executor, since gevent.get_hub() would make a hub in any other thread."""
    return get_worker().in_executor_context()


def listened(device: tango.DeviceImpl, attr: str) -> bool:
    """True while a client subscribes to attr's change events. A push nobody listens to
    costs as much as a heard one (~40 us), and a later subscriber reads the current value
    when it subscribes, so servers push only what is listened to. False for a device
    being deleted."""
    try:
        return device.is_there_subscriber(attr, tango.EventType.CHANGE_EVENT)
    except tango.DevFailed:
        return False


def run_under_monitor(device: tango.DeviceImpl, fn: Callable[[], None]) -> None:
    """fn() under device's monitor: now outside the hub (a request thread holds it
    already), through the pusher thread from the hub."""
    if in_hub():
        pusher().run(device, fn)
    else:
        fn()


def call_under_monitor(device: tango.DeviceImpl | None, fn: Callable[[], Any]) -> Any:
    """fn() under device's monitor (device None: under none), its value or its exception;
    from the hub the calling greenlet waits for it (cooperatively: the hub goes on serving
    the read that may hold the monitor meanwhile), in order after the pushes handed over
    before. For what changes a device's attribute set (add_attribute, remove_attribute)
    while it serves."""
    if not in_hub():
        return fn()
    done = gevent.event.Event()
    loop = gevent.get_hub().loop
    outcome: list = []

    def job() -> None:
        try:
            outcome.append((True, fn()))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome.append((False, exc))
        finally:
            loop.run_callback_threadsafe(done.set)

    pusher().run(device, job)
    done.wait()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def pushes_sent() -> None:
    """From the hub: returns (cooperatively) once the pusher thread has sent what was
    handed to it before. For work that holds the GIL long (a full garbage collection):
    done first, it would hold back the events just pushed (a scan's State ON: ~0.4 ms)."""
    call_under_monitor(None, lambda: None)


class PushedUnderMonitor:
    """Mixin for a device of a BY_DEVICE gevent server: push_change_event from the hub
    goes through the pusher thread (see the module docstring); elsewhere it pushes at
    once. Values handed over must not be changed in place afterwards."""

    def push_change_event(self, name: str, *value: Any) -> None:
        if in_hub():
            push = super().push_change_event
            pusher().run(self, lambda: push(name, *value))
        else:
            super().push_change_event(name, *value)

    def store_state(self, state: tango.DevState, status: str) -> None:
        """set_state and set_status where the State/Status pushes read them (cppTango's
        events of those two send the stored values, not the ones given), in push order."""
        def store() -> None:
            self.set_state(state)
            self.set_status(status)

        run_under_monitor(self, store)


class ShownAndListened(PushedUnderMonitor):
    """PushedUnderMonitor for a device that pushes only what somebody listens to and
    whose State/Status are read from what it says now (`show_state`): a client reads
    RUNNING right after the command that started a run returns, while the stored value
    that cppTango's State/Status events send lands a little later, in the pusher thread."""

    _shown: tuple[tango.DevState, str] = (tango.DevState.INIT, "")

    def push_change_event(self, name: str, *value: Any) -> None:
        if listened(self, name):
            self.push_heard(name, *value)

    def push_heard(self, name: str, *value: Any) -> None:
        """push_change_event of an attribute the caller has just found listened to."""
        PushedUnderMonitor.push_change_event(self, name, *value)

    def push_made(self, name: str, make: Callable[[], Any]) -> None:
        """push_change_event(name, make()), make() called only when somebody listens."""
        if listened(self, name):
            self.push_heard(name, make())

    def show_state(self, state: tango.DevState, status: str) -> None:
        self._shown = (state, status)
        self.store_state(state, status)

    def dev_state(self) -> tango.DevState:
        return self._shown[0]

    def dev_status(self) -> str:
        return self._shown[1]
