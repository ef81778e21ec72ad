"""Locks between real processes: refusal, re-entrancy, all-or-none, death of a holder."""

import time
import uuid

import pytest
from helpers.beacon_child import BeaconChild, ChildError

from blisstango.core.beacon import connection
from blisstango.core.beacon.locks import Lock, LockError, lock, who_locked


def _names(n=1):
    tag = uuid.uuid4().hex[:6]
    return [f"m{i}_{tag}" for i in range(n)]


def test_second_owner_is_refused_with_the_holders_description(redis_servers):
    (m0,) = _names()
    holder = BeaconChild()
    try:
        holder.call("lock", names=[m0], owner="ScanServer demo: scan 12")
        with pytest.raises(LockError) as err:
            lock(m0, owner="session eh").acquire()
        assert err.value.holder == "ScanServer demo: scan 12"
        assert str(err.value).startswith(
            f"{m0} is locked by 'ScanServer demo: scan 12' (pid {holder.pid} on ")
        assert who_locked([m0, "nobody_" + m0]) == {m0: "ScanServer demo: scan 12"}
        # same description, other process: still another owner
        with pytest.raises(LockError):
            Lock(m0, owner="ScanServer demo: scan 12").acquire()
        other = BeaconChild()
        try:
            with pytest.raises(ChildError, match=f"LockError: {m0} is locked by 'ScanServer"):
                other.call("lock", names=[m0], owner="other")
        finally:
            other.exit()
    finally:
        holder.exit()


def test_reentrant_for_the_same_owner(redis_servers):
    (m0,) = _names()
    other = BeaconChild()
    try:
        with lock(m0, owner="scan 1"):
            with lock(m0, owner="scan 1") as inner:
                assert connection.get_redis("settings").hget(f"lock:{m0}", "count") == b"2"
                assert inner.held
            assert who_locked([m0]) == {m0: "scan 1"}
            with pytest.raises(ChildError, match="scan 1"):
                other.call("lock", names=[m0], owner="other")
        assert who_locked([m0]) == {}
        other.call("lock", names=[m0], owner="other")
    finally:
        other.exit()


def test_several_objects_all_or_none(redis_servers):
    m0, m1, m2 = _names(3)
    holder = BeaconChild()
    try:
        holder.call("lock", names=[m1], owner="holder")
        with pytest.raises(LockError, match=f"{m1} is locked by 'holder'"):
            lock(m0, m1, m2, owner="me").acquire()
        assert who_locked([m0, m1, m2]) == {m1: "holder"}  # m0, m2 not taken
        with lock(m0, m2, owner="me"):
            assert who_locked([m0, m1, m2]) == {m0: "me", m1: "holder", m2: "me"}
            with pytest.raises(ChildError, match=f"{m2} is locked by 'me'"):
                holder.call("lock", names=[m2], owner="holder")
    finally:
        holder.exit()


def test_lock_of_a_killed_holder_is_released_within_5_s(redis_servers):
    m0, m1 = _names(2)
    holder = BeaconChild()
    holder.call("lock", names=[m0, m1], owner="doomed")
    with pytest.raises(LockError):
        lock(m0, owner="me").acquire()
    time.sleep(1.5)  # held past a refresh: expiry really is refreshed
    assert who_locked([m0, m1]) == {m0: "doomed", m1: "doomed"}
    holder.kill()
    t0 = time.monotonic()
    with lock(m0, m1, owner="me", timeout=5):
        assert time.monotonic() - t0 < 5
        assert who_locked([m0, m1]) == {m0: "me", m1: "me"}


def test_clean_exit_releases_at_once(redis_servers):
    (m0,) = _names()
    holder = BeaconChild()
    holder.call("lock", names=[m0], owner="leaving")
    assert holder.exit() == 0
    assert who_locked([m0]) == {}


def test_waiting_acquire_gets_the_lock_when_released(redis_servers):
    (m0,) = _names()
    holder = BeaconChild()
    try:
        lock_id = holder.call("lock", names=[m0], owner="first")
        import gevent

        gevent.spawn_later(0.5, holder.call, "release", id=lock_id)
        with lock(m0, owner="second", timeout=10):
            assert who_locked([m0]) == {m0: "second"}
    finally:
        holder.exit()


def test_higher_priority_steals_and_the_holder_is_told(redis_servers):
    m0, m1 = _names(2)
    holder = BeaconChild()
    try:
        holder.call("lock", names=[m0, m1], owner="low", priority=0)
        with pytest.raises(LockError):
            lock(m0, owner="same", priority=0).acquire()
        stolen = []
        with lock(m0, owner="high", priority=5, on_stolen=stolen.append):
            assert who_locked([m0, m1]) == {m0: "high", m1: "low"}
            assert holder.next_event(timeout=5) == {"event": "stolen", "name": m0}
            with pytest.raises(ChildError, match="is locked by 'high'"):
                holder.call("lock", names=[m0], owner="low again", priority=1)
        assert stolen == []
    finally:
        holder.exit()
