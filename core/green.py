"""One place to make a process gevent-cooperative, as BLISS processes are.

Threads stay real threads (PyTango and omniORB need them); sockets, ssl, time,
select and subprocess become cooperative so blocking redis-py calls and
subprocess waits let other greenlets run.
"""

import gevent
import gevent.monkey


def patch() -> None:
    """Monkey-patch the standard library for gevent, once, threads excluded."""
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
