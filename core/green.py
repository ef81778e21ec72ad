"""One place to make a process gevent-cooperative, as BLISS processes are.

Threads stay real threads (PyTango and omniORB need them); sockets, ssl, time,
select and subprocess become cooperative so blocking redis-py calls and
subprocess waits let other greenlets run.
"""

import gevent.monkey


def patch() -> None:
    """Monkey-patch the standard library for gevent, once, threads excluded."""
    if not gevent.monkey.is_module_patched("socket"):
        gevent.monkey.patch_all(thread=False)
