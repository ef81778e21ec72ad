"""servers/request_thread.pin: a foreign thread's Python state lives as long as the thread
(the per-request state churn cost BeaconDB a third of its CPU), Python's own threads are
left alone, and the states of ended foreign threads are freed, not leaked."""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

import pytest
import tango
from helpers.procs import NoDbServer

from blisstango.servers import request_thread

HERE = Path(__file__).parent
_libc = ctypes.CDLL(None)
_START = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)


def run_foreign_thread(fn) -> None:
    """Run fn on a thread started by C (pthread_create), as omniORB's threads are."""
    errors = []

    def body(_arg):
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        return None

    start_routine = _START(body)
    handle = ctypes.c_ulong()
    assert _libc.pthread_create(ctypes.byref(handle), None, start_routine, None) == 0
    assert _libc.pthread_join(handle, None) == 0  # ctypes releases the GIL meanwhile
    if errors:
        raise errors[0]


def test_ended_foreign_threads_do_not_accumulate_kept_states():
    seen = []

    def visit():
        request_thread.pin()
        seen.append((threading.get_native_id(), threading.get_native_id() in request_thread._PINNED))

    for _ in range(30):
        run_foreign_thread(visit)
    assert all(kept for _tid, kept in seen), "pin() did not keep a foreign thread's state"
    assert len({tid for tid, _ in seen}) > 1
    # each new foreign thread freed the state of the ones that had ended before it
    assert len(request_thread._PINNED) <= 1


def test_threads_python_started_are_left_alone():
    result = []

    def body():
        request_thread.pin()
        result.append(threading.get_native_id() in request_thread._PINNED)

    t = threading.Thread(target=body)
    t.start()
    t.join()
    assert result == [False]


@pytest.fixture
def probe(tmp_path):
    srv = NoDbServer(HERE / "helpers" / "thread_state_server.py", "test/pin/1", tmp_path / "probe.log")
    try:
        dev = tango.DeviceProxy(srv.name)
        dev.ping()
        yield dev
    finally:
        srv.stop()


@pytest.mark.e2e
def test_request_thread_keeps_its_python_state_between_requests(probe):
    visits = [list(probe.command_inout("Visit")) for _ in range(20)]
    by_thread: dict[int, list[int]] = {}
    for tid, calls, _kept in visits:
        by_thread.setdefault(tid, []).append(calls)
    # the thread-local call count of each request thread grows: its state was kept
    for tid, counts in by_thread.items():
        assert counts == list(range(counts[0], counts[0] + len(counts))), (tid, counts)
    assert max(calls for _tid, calls, _kept in visits) >= 10
    assert visits[-1][2] >= 1
