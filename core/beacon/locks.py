"""Cross-process locks on configured objects (who may move m0 right now).

`lock:<object>` is a hash {owner, description, count, priority, pid, host} with a short
TTL (LOCK_TTL, 3 s) that a greenlet of the holding process refreshes every second:
a killed holder stops refreshing and its locks vanish within LOCK_TTL; a normal exit
releases them at once. Several objects are taken in one Lua script — all or none.

Ownership is per process *and* description: the same description in the same
process re-enters (a count), any other owner is refused with a LockError naming the
holder. An owner with a higher `priority` takes the lock away (as BLISS lets a
higher priority session steal): the change is published on the `lock:<object>`
pub/sub channel and the previous holder's refresher notices within a second and
calls its `on_stolen` callback.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Iterable

import gevent
import redis

from blisstango.core.beacon import connection

__all__ = ["Lock", "LockError", "lock", "who_locked", "LOCK_TTL", "REFRESH_INTERVAL"]

log = logging.getLogger(__name__)

#: Seconds a lock survives without being refreshed (holder killed / frozen).
LOCK_TTL = 3.0
#: Seconds between refreshes by the holding process.
REFRESH_INTERVAL = 1.0

# KEYS: lock keys   ARGV: owner, description, priority, ttl_ms, pid, host
# -> {1} or {0, key, holder description, holder pid, holder host}
_ACQUIRE = """
for i, k in ipairs(KEYS) do
  local h = redis.call('HMGET', k, 'owner', 'description', 'priority', 'pid', 'host')
  if h[1] and h[1] ~= ARGV[1] and tonumber(ARGV[3]) <= tonumber(h[3] or '0') then
    return {0, k, h[2] or '', h[4] or '', h[5] or ''}
  end
end
for i, k in ipairs(KEYS) do
  local h = redis.call('HMGET', k, 'owner', 'description')
  if h[1] == ARGV[1] then
    redis.call('HINCRBY', k, 'count', 1)
  else
    if h[1] then
      redis.call('PUBLISH', k, 'stolen from ' .. (h[2] or '') .. ' by ' .. ARGV[2])
      redis.call('DEL', k)
    end
    redis.call('HSET', k, 'owner', ARGV[1], 'description', ARGV[2], 'count', 1,
               'priority', ARGV[3], 'pid', ARGV[5], 'host', ARGV[6])
  end
  redis.call('PEXPIRE', k, ARGV[4])
end
return {1}
"""

# KEYS: lock keys   ARGV: owner, all (1: drop whatever the count)
_RELEASE = """
for i, k in ipairs(KEYS) do
  if redis.call('HGET', k, 'owner') == ARGV[1] then
    if ARGV[2] == '1' or redis.call('HINCRBY', k, 'count', -1) <= 0 then
      redis.call('DEL', k)
      redis.call('PUBLISH', k, 'released')
    end
  end
end
return 1
"""

# KEYS: lock keys   ARGV: ttl_ms, owner of KEYS[1], owner of KEYS[2], ...
# -> indexes (1-based) of keys no longer ours
_REFRESH = """
local lost = {}
for i, k in ipairs(KEYS) do
  if redis.call('HGET', k, 'owner') == ARGV[i + 1] then
    redis.call('PEXPIRE', k, ARGV[1])
  else
    table.insert(lost, i)
  end
end
return lost
"""


class LockError(RuntimeError):
    """An object is locked by someone else; `holder` is their description."""

    def __init__(self, name: str, holder: str, pid: str = "", host: str = "",
                 wanted_by: str = "") -> None:
        self.name, self.holder, self.pid, self.host = name, holder, pid, host
        message = f"{name} is locked by {holder!r} (pid {pid} on {host})"
        if wanted_by:
            message += f"; {wanted_by!r} cannot take it"
        super().__init__(message)


_UNSET = object()


def _key(name: str) -> str:
    return f"lock:{name}"


def _client() -> redis.Redis:
    return connection.get_redis("settings", decode_responses=True)


class _Keeper:
    """This process's held locks and the greenlet that keeps them alive."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.host = socket.gethostname()
        self.held: dict[str, tuple[str, list[Lock]]] = {}  # key -> (owner id, holders)
        self.generation: dict[str, int] = {}  # bumped on every add: spots stale refreshes
        self.greenlet: gevent.Greenlet | None = None

    def add(self, keys: Iterable[str], owner_id: str, holder: Lock) -> None:
        for key in keys:
            owner, holders = self.held.get(key, (owner_id, []))
            if owner != owner_id:  # we stole it from ourselves: previous owner lost it
                self._lost(key)
                holders = []
            holders.append(holder)
            self.held[key] = (owner_id, holders)
            self.generation[key] = self.generation.get(key, 0) + 1
        if self.greenlet is None or self.greenlet.dead:
            self.greenlet = gevent.spawn(self._refresh_loop)

    def remove(self, keys: Iterable[str], holder: Lock) -> None:
        for key in keys:
            entry = self.held.get(key)
            if entry is None:
                continue
            holders = entry[1]
            if holder in holders:
                holders.remove(holder)
            if not holders:
                del self.held[key]

    def _lost(self, key: str) -> None:
        _, holders = self.held.pop(key, ("", []))
        for holder in set(holders):
            holder._stolen(key.removeprefix("lock:"))

    def refresh(self) -> None:
        keys = list(self.held)
        if not keys:
            return
        owners = [self.held[k][0] for k in keys]
        generations = [self.generation.get(k) for k in keys]
        lost = _client().eval(_REFRESH, len(keys), *keys, int(LOCK_TTL * 1000), *owners)
        for index in lost:
            key, owner = keys[index - 1], owners[index - 1]
            if (self.held.get(key, ("",))[0] != owner
                    or self.generation.get(key) != generations[index - 1]):
                continue  # released (or re-taken) while the refresh was on its way
            log.warning("lock %s was taken away from %r", key, owner)
            self._lost(key)

    def _refresh_loop(self) -> None:
        while self.held:
            try:
                self.refresh()
            except redis.RedisError as exc:
                log.warning("locks: refresh failed (%s); locks expire in %.0f s", exc,
                            LOCK_TTL)
            gevent.sleep(REFRESH_INTERVAL)

    def release_all(self) -> None:
        by_owner: dict[str, list[str]] = {}
        for key, (owner, _) in self.held.items():
            by_owner.setdefault(owner, []).append(key)
        for owner, keys in by_owner.items():
            _client().eval(_RELEASE, len(keys), *keys, owner, "1")
        self.held.clear()


_keeper: _Keeper | None = None


def _get_keeper() -> _Keeper:
    global _keeper
    if _keeper is None or _keeper.pid != os.getpid():
        _keeper = _Keeper()
    return _keeper


def _default_owner() -> str:
    return f"{os.path.basename(sys.argv[0]) or 'python'} (pid {os.getpid()})"


class Lock:
    """A lock on several objects at once, for `owner` (a description people read).

    timeout: 0 refuses at once, None waits for ever, else seconds to wait.
    Acquire/release nest: each acquire() needs its release().
    """

    def __init__(self, *names: str, owner: str | None = None, timeout: float | None = 0,
                 priority: int = 0,
                 on_stolen: Callable[[str], None] | None = None) -> None:
        if not names:
            raise ValueError("Lock needs at least one object name")
        self.names = list(dict.fromkeys(names))
        self.keys = [_key(n) for n in self.names]
        self.owner = owner or _default_owner()
        self.timeout = timeout
        self.priority = int(priority)
        self.on_stolen = on_stolen
        self._depth = 0

    @property
    def owner_id(self) -> str:
        """Identity in Redis: host, pid and description."""
        keeper = _get_keeper()
        return f"{keeper.host}:{keeper.pid}:{self.owner}"

    @property
    def held(self) -> bool:
        return self._depth > 0

    def acquire(self, timeout: float | None | object = _UNSET) -> Lock:
        """Take every object or none; LockError naming the holder on refusal.

        timeout defaults to the one given at creation.
        """
        timeout = self.timeout if timeout is _UNSET else timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        keeper = _get_keeper()
        while True:
            result = _client().eval(
                _ACQUIRE, len(self.keys), *self.keys, self.owner_id, self.owner,
                self.priority, int(LOCK_TTL * 1000), keeper.pid, keeper.host)
            if result[0] == 1:
                break
            _, key, holder, pid, host = result
            if deadline is not None and time.monotonic() >= deadline:
                raise LockError(key.removeprefix("lock:"), holder, pid, host, self.owner)
            gevent.sleep(0.05)
        keeper.add(self.keys, self.owner_id, self)
        self._depth += 1
        return self

    def release(self) -> None:
        """Undo one acquire(); the objects are free when the count reaches 0."""
        if self._depth == 0:
            raise RuntimeError(f"release of {', '.join(self.names)} by {self.owner!r}: "
                               "not acquired")
        self._depth -= 1
        keeper = _get_keeper()
        keeper.remove(self.keys, self)
        _client().eval(_RELEASE, len(self.keys), *self.keys, self.owner_id, "0")

    def _stolen(self, name: str) -> None:
        self._depth = 0
        if self.on_stolen is not None:
            try:
                self.on_stolen(name)
            except Exception:
                log.exception("lock %s: on_stolen callback failed", name)

    def __enter__(self) -> Lock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        if self._depth:
            self.release()

    def __repr__(self) -> str:
        return f"<Lock {self.names} owner={self.owner!r} depth={self._depth}>"


def lock(*names: str, owner: str | None = None, timeout: float | None = 0,
         priority: int = 0, on_stolen: Callable[[str], None] | None = None) -> Lock:
    """A Lock to use in a `with` statement: `with lock("m0", "m1", owner=...):`."""
    return Lock(*names, owner=owner, timeout=timeout, priority=priority,
                on_stolen=on_stolen)


def who_locked(names: Iterable[str] | None = None) -> dict[str, str]:
    """{object name: holder description} for the locked ones among names (all if None)."""
    client = _client()
    if names is None:
        keys = sorted(client.scan_iter(match="lock:*", count=500))
    else:
        keys = [_key(n) for n in names]
    if not keys:
        return {}
    if len(keys) == 1:  # one axis per scan step: a plain HGET is half a pipeline's cost
        d = client.hget(keys[0], "description")
        return {} if d is None else {keys[0].removeprefix("lock:"): d}
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.hget(key, "description")
    return {k.removeprefix("lock:"): d for k, d in zip(keys, pipe.execute()) if d is not None}


@atexit.register
def _release_at_exit() -> None:
    if _keeper is not None and _keeper.pid == os.getpid() and _keeper.held:
        try:
            _keeper.release_all()
        except redis.RedisError as exc:
            log.warning("locks: release at exit failed (they expire in %.0f s): %s",
                        LOCK_TTL, exc)
