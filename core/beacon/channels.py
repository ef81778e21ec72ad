"""Values shared live between processes (BLISS channels), over the settings Redis.

`channel:<name>` is a hash {value, seq} holding the last value (a late joiner reads it)
and the pub/sub channel on which every change is announced. `channel:<name>:users` is
a sorted set of the processes using the channel, scored by an expiry each user
refreshes every few seconds: when the last user leaves — or stops refreshing because
it was killed — the value is cleared, so a stale value never outlives its users.

One hub per process holds a single pub/sub connection and three greenlets: a listener,
a dispatcher running the callbacks in order (a slow callback never blocks reception),
and a refresher that keeps this process's memberships alive and catches up on
changes missed while Redis was restarting.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import uuid
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import gevent.queue
import redis

from blisstango.core.beacon import codec, connection

__all__ = ["Channel", "USER_EXPIRY", "REFRESH_INTERVAL"]

log = logging.getLogger(__name__)

#: A user that has not refreshed its membership for this long is considered gone.
USER_EXPIRY = 6.0
#: How often each process refreshes its memberships (and re-reads values).
REFRESH_INTERVAL = 2.0

# Membership scripts use the server clock (TIME), so hosts' clocks may differ.
_NOW = "local t = redis.call('TIME'); local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"

# KEYS: value, users   ARGV: member, expiry_ms  -> {value, seq}
_JOIN = _NOW + """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) == 0 then redis.call('DEL', KEYS[1]) end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('HMGET', KEYS[1], 'value', 'seq')
"""

# KEYS: value, users   ARGV: member
_LEAVE = _NOW + """
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
return 0
"""

# KEYS: value, users   ARGV: json, sender, expiry_ms  -> seq
_SET = """
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[1], 'value', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', KEYS[1], seq .. ' ' .. ARGV[2] .. ' ' .. ARGV[1])
return seq
"""


def _client() -> redis.Redis:
    return connection.get_redis("settings", decode_responses=True)


class _Hub:
    """Per-process pub/sub connection, callback dispatcher and membership refresher."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.member_prefix = f"{socket.gethostname()}:{self.pid}:{uuid.uuid4().hex[:8]}"
        self.channels: dict[str, set[Channel]] = {}
        self.client = _client()
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.queue: gevent.queue.Queue = gevent.queue.Queue()
        self.in_use = gevent.event.Event()  # the listener sleeps while no channel is open
        self.scripts = {name: self.client.register_script(src)
                        for name, src in (("join", _JOIN), ("leave", _LEAVE), ("set", _SET))}
        self.greenlets = [gevent.spawn(self._listen), gevent.spawn(self._dispatch),
                          gevent.spawn(self._refresh)]

    def add(self, channel: Channel) -> None:
        users = self.channels.setdefault(channel.key, set())
        if not users:
            self.pubsub.subscribe(channel.key)
        users.add(channel)
        self.in_use.set()

    def remove(self, channel: Channel) -> None:
        users = self.channels.get(channel.key)
        if users is None:
            return
        users.discard(channel)
        if not users:
            del self.channels[channel.key]
            if not self.channels:
                self.in_use.clear()
            try:
                self.pubsub.unsubscribe(channel.key)
            except redis.RedisError as exc:
                log.debug("unsubscribe %s: %s", channel.key, exc)

    def _listen(self) -> None:
        while True:
            self.in_use.wait()
            if not self.pubsub.subscribed:
                gevent.sleep(0.05)  # get_message would wait on a *thread* Event
                continue
            try:
                message = self.pubsub.get_message(timeout=1.0)
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                log.warning("channels: pub/sub connection lost (%s); retrying", exc)
                gevent.sleep(0.5)
                continue
            except Exception:  # never let one bad reply end this process's channels
                log.exception("channels: pub/sub read failed; retrying")
                gevent.sleep(0.5)
                continue
            if message and message.get("type") == "message":
                self._deliver(message["channel"], message["data"])

    def _deliver(self, key: str, data: str) -> None:
        try:
            seq_text, sender, raw = data.split(" ", 2)
            seq = int(seq_text)
        except ValueError:
            log.warning("channel %s: ignored a message not sent by a Channel: %.80r",
                        key, data)
            return
        value = codec.decode(raw)
        for channel in list(self.channels.get(key, ())):
            channel._receive(seq, sender, value)

    def _dispatch(self) -> None:
        for callback, value, name in self.queue:
            try:
                callback(value)
            except Exception:
                log.exception("channel %s: callback %r failed for value %r",
                              name, callback, value)

    def _refresh(self) -> None:
        while True:
            gevent.sleep(REFRESH_INTERVAL)
            for channels in list(self.channels.values()):
                for channel in list(channels):
                    try:
                        channel._join()
                    except redis.RedisError as exc:
                        log.warning("channel %s: refresh failed: %s", channel.name, exc)

    def close(self) -> None:
        gevent.killall(self.greenlets)
        try:
            self.pubsub.close()
        except redis.RedisError:
            pass


_hub: _Hub | None = None


def _get_hub() -> _Hub:
    global _hub
    if _hub is None or _hub.pid != os.getpid() or _hub.client is not _client():
        if _hub is not None and _hub.pid == os.getpid():
            _hub.close()  # connection.configure() moved us to another Redis
        _hub = _Hub()
    return _hub


# Open channels stay alive (and members) until close() or exit, like BLISS's cache.
_open_channels: set[Channel] = set()


class Channel:
    """A named value shared by every process that opens the channel.

    `callback(value)` runs in a greenlet of this process whenever another Channel
    object (in any process, this one included) sets a new value; the object that
    sets a value is not called back for it. `value` is this process's last known
    value (the cached one at opening), else `default`. A channel stays open — its
    process a user — until close() or the process exits.
    """

    def __init__(self, name: str, default: Any = None,
                 callback: Callable[[Any], None] | None = None) -> None:
        if not name:
            raise ValueError("a channel needs a non-empty name")
        self.name = name
        self.key = f"channel:{name}"
        self.users_key = f"{self.key}:users"
        self.default = default
        self._callbacks: list[Callable[[Any], None]] = [callback] if callback else []
        self._value: Any = default
        self._seq = 0
        self._closed = False
        self._joined = False
        hub = _get_hub()
        self._hub = hub
        self.member = f"{hub.member_prefix}:{uuid.uuid4().hex[:8]}"
        hub.add(self)  # subscribe before reading: no change can fall in between
        self._join()
        _open_channels.add(self)

    def _join(self) -> None:
        """Join (or refresh membership) and catch up with the stored value."""
        if self._closed:
            return
        raw, seq = self._hub.scripts["join"](
            keys=[self.key, self.users_key],
            args=[self.member, int(USER_EXPIRY * 1000)])
        if seq is not None and int(seq) > self._seq:
            self._receive(int(seq), "", codec.decode(raw), notify=self._joined)
        self._joined = True

    def _receive(self, seq: int, sender: str, value: Any, notify: bool = True) -> None:
        if self._closed or sender == self.member or seq <= self._seq:
            if sender == self.member:
                self._seq = max(self._seq, seq)
            return
        self._seq = seq
        self._value = value
        if notify:
            for callback in self._callbacks:
                self._hub.queue.put((callback, value, self.name))

    @property
    def value(self) -> Any:
        return self._value

    @value.setter
    def value(self, value: Any) -> None:
        if self._closed:
            raise RuntimeError(f"channel {self.name}: set {value!r} after close()")
        encoded = codec.encode(value)
        self._value = codec.decode(encoded)  # what others will see
        seq = self._hub.scripts["set"](keys=[self.key, self.users_key],
                                       args=[encoded, self.member, int(USER_EXPIRY * 1000)])
        self._seq = max(self._seq, int(seq))

    def register_callback(self, callback: Callable[[Any], None]) -> None:
        self._callbacks.append(callback)

    def unregister_callback(self, callback: Callable[[Any], None]) -> None:
        self._callbacks.remove(callback)

    def close(self) -> None:
        """Leave the channel; the last user leaving clears the cached value."""
        if self._closed:
            return
        self._closed = True
        _open_channels.discard(self)
        self._hub.remove(self)
        try:
            self._hub.scripts["leave"](keys=[self.key, self.users_key], args=[self.member])
        except redis.RedisError as exc:
            log.warning("channel %s: leave failed (membership expires by itself): %s",
                        self.name, exc)

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Channel {self.name!r} value={self._value!r}>"


@atexit.register
def _close_all() -> None:
    """Leave every channel on a normal exit, so values clear without waiting."""
    if _hub is None or _hub.pid != os.getpid():
        return
    for channel in list(_open_channels):
        channel.close()
