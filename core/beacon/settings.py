"""Persistent runtime values in the settings Redis, shared by every process.

An object's YAML gives defaults; values set at runtime (a velocity changed from a
session) are stored here and supersede them, across process and Redis restarts, until
set to None, which removes the stored value so the default shows again. Values are
typed (JSON, see `codec`), so what comes back has the type that went in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import redis

from blisstango.core.beacon import codec, connection

__all__ = ["SimpleSetting", "HashSetting", "QueueSetting", "LocalSettings", "object_settings"]


class _Setting:
    def __init__(self, name: str, redis_client: redis.Redis | None = None) -> None:
        if not name:
            raise ValueError("a setting needs a non-empty Redis key name")
        self.name = name
        self._client = redis_client

    @property
    def redis(self) -> redis.Redis:
        """The client (decoding replies); the shared one unless given at creation."""
        if self._client is not None:
            return self._client
        return connection.get_redis("settings", decode_responses=True)

    def clear(self) -> None:
        """Remove every stored value (defaults show again)."""
        self.redis.delete(self.name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class SimpleSetting(_Setting):
    """One value under one key."""

    def __init__(self, name: str, default: Any = None,
                 redis_client: redis.Redis | None = None) -> None:
        super().__init__(name, redis_client)
        self.default = default

    def get(self) -> Any:
        raw = self.redis.get(self.name)
        return self.default if raw is None else codec.decode(raw)

    def set(self, value: Any) -> None:
        if value is None:
            self.redis.delete(self.name)
        else:
            self.redis.set(self.name, codec.encode(value))

    value = property(get, set)

    def stored(self) -> bool:
        """True if a value is stored (the default is not in use)."""
        return bool(self.redis.exists(self.name))


class HashSetting(_Setting):
    """A mapping under one hash key; missing fields fall back to `defaults`."""

    def __init__(self, name: str, defaults: Mapping[str, Any] | None = None,
                 redis_client: redis.Redis | None = None) -> None:
        super().__init__(name, redis_client)
        self.defaults = dict(defaults or {})

    def __getitem__(self, key: str) -> Any:
        raw = self.redis.hget(self.name, key)
        if raw is not None:
            return codec.decode(raw)
        if key in self.defaults:
            return self.defaults[key]
        raise KeyError(f"{self.name}: no stored value and no default for {key!r}")

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __setitem__(self, key: str, value: Any) -> None:
        if value is None:
            self.redis.hdel(self.name, key)
        else:
            self.redis.hset(self.name, key, codec.encode(value))

    def __delitem__(self, key: str) -> None:
        """Remove the stored value of key (its default, if any, shows again)."""
        self.redis.hdel(self.name, key)

    def update(self, values: Mapping[str, Any]) -> None:
        """Set several fields at once, atomically (None values are removed)."""
        to_set = {k: codec.encode(v) for k, v in values.items() if v is not None}
        to_del = [k for k, v in values.items() if v is None]
        pipe = self.redis.pipeline(transaction=True)
        if to_set:
            pipe.hset(self.name, mapping=to_set)
        if to_del:
            pipe.hdel(self.name, *to_del)
        pipe.execute()

    def stored(self) -> dict[str, Any]:
        """Only the values stored in Redis."""
        return {k: codec.decode(v) for k, v in self.redis.hgetall(self.name).items()}

    def get_all(self) -> dict[str, Any]:
        """Defaults superseded by stored values."""
        merged = dict(self.defaults)
        merged.update(self.stored())
        return merged

    def keys(self) -> list[str]:
        return list(self.get_all())

    def items(self) -> list[tuple[str, Any]]:
        return list(self.get_all().items())

    def __contains__(self, key: object) -> bool:
        return key in self.defaults or bool(self.redis.hexists(self.name, key))

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.get_all())


class QueueSetting(_Setting):
    """An ordered list under one key (a history, a queue of pending items)."""

    def __init__(self, name: str, redis_client: redis.Redis | None = None) -> None:
        super().__init__(name, redis_client)

    def get(self) -> list[Any]:
        return [codec.decode(v) for v in self.redis.lrange(self.name, 0, -1)]

    def set(self, values: Iterable[Any]) -> None:
        """Replace the whole list atomically."""
        encoded = [codec.encode(v) for v in values]
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.name)
        if encoded:
            pipe.rpush(self.name, *encoded)
        pipe.execute()

    def append(self, value: Any) -> None:
        self.redis.rpush(self.name, codec.encode(value))

    def extend(self, values: Iterable[Any]) -> None:
        encoded = [codec.encode(v) for v in values]
        if encoded:
            self.redis.rpush(self.name, *encoded)

    def prepend(self, value: Any) -> None:
        self.redis.lpush(self.name, codec.encode(value))

    def pop_front(self) -> Any:
        """Remove and return the first item; IndexError when empty."""
        raw = self.redis.lpop(self.name)
        if raw is None:
            raise IndexError(f"{self.name}: pop from an empty queue")
        return codec.decode(raw)

    def pop_back(self) -> Any:
        """Remove and return the last item; IndexError when empty."""
        raw = self.redis.rpop(self.name)
        if raw is None:
            raise IndexError(f"{self.name}: pop from an empty queue")
        return codec.decode(raw)

    def remove(self, value: Any, count: int = 0) -> int:
        """Remove occurrences of value (all if count=0); returns how many."""
        return self.redis.lrem(self.name, count, codec.encode(value))

    def __getitem__(self, index: int) -> Any:
        raw = self.redis.lindex(self.name, index)
        if raw is None:
            raise IndexError(f"{self.name}: index {index} out of range "
                             f"(length {len(self)})")
        return codec.decode(raw)

    def __len__(self) -> int:
        return self.redis.llen(self.name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.get())


def object_settings(name: str, defaults: Mapping[str, Any] | None = None,
                    redis_client: redis.Redis | None = None) -> HashSetting:
    """The runtime settings of a configured object: HashSetting("settings:<name>")."""
    return HashSetting(f"settings:{name}", defaults, redis_client)


class LocalSettings:
    """In-memory settings with the HashSetting interface: for objects that must persist
    nothing (a throw-away simulation, a prediction), as `settings_factory=LocalSettings`."""

    def __init__(self, name: str, defaults: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.defaults = dict(defaults or {})
        self._stored: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        return self._stored.get(key, self.defaults.get(key))

    def __setitem__(self, key: str, value: Any) -> None:
        if value is None:
            self._stored.pop(key, None)
        else:
            self._stored[key] = value

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._stored or key in self.defaults else default

    def get_all(self) -> dict[str, Any]:
        return {**self.defaults, **self._stored}

    def stored(self) -> dict[str, Any]:
        return dict(self._stored)

    def clear(self) -> None:
        self._stored.clear()

