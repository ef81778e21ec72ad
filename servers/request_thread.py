"""What runs in omniORB's request thread, and keeping that thread's Python state alive.

PyTango takes the GIL on omniORB's threads with ``PyGILState_Ensure`` and gives it back
with ``PyGILState_Release``. A thread CPython did not create has no thread state of its
own, so each entry into Python builds one and tears it down again, and with it the frame
stack: an mmap/munmap pair and a TLB flush on every core, several times per request.
On BeaconDB that was a third of the server's CPU per request (153 -> 97 µs for
DbImportDevice). :func:`pin` takes one extra ``PyGILState_Ensure`` the first time Python
runs on such a thread, so the count never falls to zero: the thread state lives as long
as the thread and the GIL is still released after every request.

PyTango also hands the hooks it calls before every request (``always_executed_hook``,
``read_attr_hardware``) to the green-mode executor: two thread handoffs each, for
methods that do nothing. :func:`in_request_thread` marks a method to run where it is
called; :func:`request_hook` is the hook every blisstango device uses.
"""

from __future__ import annotations

import _thread
import ctypes
import os
import threading

_api = ctypes.pythonapi
_api.PyGILState_Ensure.restype = ctypes.c_int
_api.PyGILState_Ensure.argtypes = []
_api.PyThreadState_Get.restype = ctypes.c_void_p
_api.PyThreadState_Get.argtypes = []
_api.PyThreadState_Clear.argtypes = [ctypes.c_void_p]
_api.PyThreadState_Delete.argtypes = [ctypes.c_void_p]

#: native thread id -> the PyThreadState* kept alive for that foreign thread
_PINNED: dict[int, int] = {}
# A forked child keeps only the forking thread; CPython has freed the others' states.
os.register_at_fork(after_in_child=_PINNED.clear)


def _foreign() -> bool:
    """True on a thread CPython did not start (omniORB, ZMQ, a C library's thread)."""
    known = threading._active.get(_thread.get_ident())  # noqa: SLF001 (no public lookup)
    return known is None or isinstance(known, threading._DummyThread)  # noqa: SLF001


def _release_dead() -> None:
    """Free the kept states of foreign threads that have ended (omniORB retires idle
    workers and starts new ones: without this each retired worker would leak ~20 kB)."""
    try:
        alive = {int(tid) for tid in os.listdir("/proc/self/task")}
    except OSError:
        return
    for tid in [tid for tid in _PINNED if tid not in alive]:
        state = _PINNED.pop(tid)
        _api.PyThreadState_Clear(state)
        _api.PyThreadState_Delete(state)


def pin() -> None:
    """Keep the calling foreign thread's Python state for the life of the thread.

    Cheap after the first call on a thread (one dict lookup). A thread Python started
    owns its state already and is left alone: CPython frees that state itself when the
    thread ends, and freeing it again here would be a double free.
    """
    tid = _thread.get_native_id()
    if tid in _PINNED or not _foreign():
        return
    _release_dead()
    _api.PyGILState_Ensure()
    _PINNED[tid] = _api.PyThreadState_Get()


def in_request_thread(fn):
    """Mark a device method PyTango must not hand to the executor: it runs in the omniORB
    thread that serves the request. Only for methods that touch no gevent object."""
    fn.__access_wrapped__ = True
    return fn


@in_request_thread
def request_hook(self) -> None:
    """always_executed_hook: keep this request thread's Python state; nothing else."""
    pin()


@in_request_thread
def no_hardware_read(self, attr_list) -> None:
    """read_attr_hardware: every attribute reads its own value."""
