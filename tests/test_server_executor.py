"""servers/executor.QueueExecutor: what a device method ends with reaches the Tango client.
A request whose greenlet is killed or times out (BaseException, not Exception) used to come
back as None: an attribute read then failed with cppTango's bare "Read value for attribute
Position has not been updated", naming no cause (issue 19's soak)."""

from __future__ import annotations

import threading

import gevent
import pytest

from blisstango.servers.executor import QueueExecutor


def from_request_thread(executor: QueueExecutor, fn):
    """executor.execute(fn) from an OS thread, as omniORB's request threads call it, while
    this (the hub's) thread runs the hub; returns ('value', v) or ('error', exc)."""
    out: list = []

    def request():
        try:
            out.append(("value", executor.execute(fn)))
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            out.append(("error", exc))

    t = threading.Thread(target=request, daemon=True)  # an OS thread: core.green.patch leaves threading alone
    t.start()
    while not out:
        gevent.sleep(0.005)
    t.join(5)
    return out[0]


@pytest.fixture(scope="module")
def executor():
    return QueueExecutor()


def Position():  # noqa: N802 - named as the device method it stands for
    return 1.5


def test_a_value_reaches_the_caller(executor):
    assert from_request_thread(executor, Position) == ("value", 1.5)


def test_an_error_reaches_the_caller(executor):
    def Velocity():  # noqa: N802
        raise ValueError("m0: velocity must be positive, got -1")
    kind, exc = from_request_thread(executor, Velocity)
    assert kind == "error" and isinstance(exc, ValueError)


@pytest.mark.parametrize("interruption", [gevent.GreenletExit(), gevent.Timeout(0.1)],
                         ids=["GreenletExit", "Timeout"])
def test_an_interrupted_request_is_an_error_naming_the_method_never_none(executor, interruption):
    def Position():  # noqa: N802
        raise interruption
    kind, exc = from_request_thread(executor, Position)
    assert kind == "error", f"an interrupted read came back as {exc!r}"
    assert "Position" in str(exc) and type(interruption).__name__ in str(exc)


def test_a_request_killed_while_it_waits_is_an_error(executor):
    started = []

    def Position():  # noqa: N802 - blocks in the hub until killed
        started.append(gevent.getcurrent())
        gevent.sleep(30)
        return 0.0

    def killer():
        while not started:
            gevent.sleep(0.005)
        started[0].kill(block=False)

    gevent.spawn(killer)
    kind, exc = from_request_thread(executor, Position)
    assert kind == "error" and "GreenletExit" in str(exc)
