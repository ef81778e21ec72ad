"""One place to make a process gevent-cooperative, as BLISS processes are.

Threads stay real threads (PyTango and omniORB need them); sockets, ssl, time,
select and subprocess become cooperative so blocking redis-py calls and
subprocess waits let other greenlets run.
"""

import os

import gevent
import gevent.monkey


def patch() -> None:
    """Monkey-patch the standard library for gevent, once, threads excluded; hubs made
    from here on wait with libev's select backend.

    libev's default epoll backend rounds every wait up to a whole millisecond: a
    timescan's 0.2 ms count time took 1 ms (the scan stopped near 850 points/s), a ct's
    count time ended up to 1 ms late, a PID sample came half a millisecond late on
    average. select waits to the microsecond; our processes watch a few dozen sockets,
    well within its reach (libev's select grows past FD_SETSIZE on Linux). $GEVENT_BACKEND
    still wins."""
    if "GEVENT_BACKEND" not in os.environ:
        gevent.config.libev_backend = "select"
    if not gevent.monkey.is_module_patched("socket"):
        gevent.monkey.patch_all(thread=False)


def in_hub(fn):
    """fn, callable from any thread, run in the gevent hub of the thread that wraps it.

    For Tango event callbacks: subscribe on a synchronous DeviceProxy with in_hub(callback).
    A gevent-mode proxy's subscribe_event runs in a worker thread that holds Tango's event
    lock while it waits for the hub to take the first callback; a DeviceProxy collected in
    the hub at that moment waits for the same lock (PyTango 10: the process hangs)."""
    loop = gevent.get_hub().loop

    def call(*args) -> None:
        loop.run_callback_threadsafe(fn, *args)
    return call
