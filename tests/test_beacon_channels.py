"""Channels between real processes: live updates, late joiners, clearing."""

import uuid

import gevent
import gevent.event
from helpers.beacon_child import BeaconChild
from helpers.waiting import wait_until

from blisstango.core.beacon import channels, connection
from blisstango.core.beacon.channels import Channel


def _name():
    return f"ch{uuid.uuid4().hex[:8]}"


def test_update_reaches_callbacks_in_other_processes(redis_servers):
    name = _name()
    a, b = BeaconChild(), BeaconChild()
    received = []
    arrived = gevent.event.Event()

    def callback(value):
        received.append((value, gevent.getcurrent()))
        arrived.set()

    here = Channel(name, callback=callback)
    try:
        assert a.call("channel_open", name=name) is None
        assert b.call("channel_open", name=name) is None
        a.call("channel_set", name=name, value={"pos": 1.5, "state": "MOVING"})
        assert b.next_event() == {"event": "channel", "name": name,
                                  "value": {"pos": 1.5, "state": "MOVING"}}
        assert arrived.wait(10)
        value, greenlet = received[0]
        assert value == {"pos": 1.5, "state": "MOVING"}
        assert greenlet is not gevent.get_hub() and greenlet is not gevent.getcurrent()
        assert here.value == {"pos": 1.5, "state": "MOVING"}
        here.value = 7
        assert a.next_event()["value"] == 7 and b.next_event()["value"] == 7
        assert a.events.empty()  # the setter is not called back for its own value
    finally:
        here.close()
        a.exit()
        b.exit()


def test_late_joiner_gets_the_cached_value(redis_servers):
    name = _name()
    a = BeaconChild()
    try:
        a.call("channel_open", name=name, default=0)
        a.call("channel_set", name=name, value=[1, 2, 3])
        late = BeaconChild()
        try:
            assert late.call("channel_open", name=name, default=0) == [1, 2, 3]
            assert late.events.empty()
        finally:
            late.exit()
        with Channel(name, default=0) as here:
            assert here.value == [1, 2, 3]
    finally:
        a.exit()


def test_value_is_cleared_when_the_last_user_leaves(redis_servers):
    name = _name()
    redis = connection.get_redis("settings")
    a, b = BeaconChild(), BeaconChild()
    try:
        a.call("channel_open", name=name, default="idle")
        b.call("channel_open", name=name, default="idle")
        a.call("channel_set", name=name, value="busy")
        a.call("channel_close", name=name)
        assert b.call("channel_open", name=name + "-other") is None  # b still a user
        with Channel(name, default="idle") as here:
            assert here.value == "busy"
        b.call("channel_close", name=name)
        assert not redis.exists(f"channel:{name}", f"channel:{name}:users")
        with Channel(name, default="idle") as here:
            assert here.value == "idle"
    finally:
        a.exit()
        b.exit()


def test_users_leaving_by_exit_clear_the_value(redis_servers):
    name = _name()
    a = BeaconChild()
    a.call("channel_open", name=name)
    a.call("channel_set", name=name, value=3)
    assert a.exit() == 0  # atexit leaves the channel
    assert not connection.get_redis("settings").exists(f"channel:{name}")


def test_a_killed_user_does_not_keep_the_value(redis_servers):
    name = _name()
    redis = connection.get_redis("settings")
    a = BeaconChild()
    a.call("channel_open", name=name, default=None)
    a.call("channel_set", name=name, value="stale")
    a.kill()
    assert redis.exists(f"channel:{name}")
    wait_until(lambda: not redis.exists(f"channel:{name}"), channels.USER_EXPIRY + 5,
               "value of a channel whose only user was killed expiring")
    with Channel(name, default="fresh") as here:
        assert here.value == "fresh"


def test_a_killed_user_is_dropped_while_others_keep_the_value(redis_servers):
    name = _name()
    redis = connection.get_redis("settings")
    a = BeaconChild()
    with Channel(name) as here:
        a.call("channel_open", name=name)
        a.call("channel_set", name=name, value=1)
        a.kill()
        assert redis.zcard(f"channel:{name}:users") == 2
        # the survivor's refreshes keep the value while the dead member expires
        wait_until(lambda: redis.zcard(f"channel:{name}:users") == 1, channels.USER_EXPIRY + 5,
                   "killed user dropped")
        assert here.value == 1
        with Channel(name) as other:
            assert other.value == 1


def test_a_foreign_publish_does_not_break_the_channel(redis_servers):
    name = _name()
    got = gevent.event.AsyncResult()
    a = BeaconChild()
    with Channel(name, callback=got.set):
        a.call("channel_open", name=name)
        connection.get_redis("settings").publish(f"channel:{name}", "not a channel message")
        a.call("channel_set", name=name, value="still fine")
        assert got.get(timeout=10) == "still fine"
    a.exit()
