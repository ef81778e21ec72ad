"""Where the settings and data Redis are, and one shared client per process for each.

URL resolution order (first that answers wins):
1. `configure(settings_url=..., data_url=...)` in this process;
2. environment BLISSTANGO_SETTINGS_REDIS / BLISSTANGO_DATA_REDIS;
3. the Beacon device (BEACON_DEVICE; attributes SettingsRedisUrl / DataRedisUrl)
   reached through TANGO_HOST — the one address a beamline process is given.

Clients retry connection errors with back-off for about half a minute and check
idle connections before use, so a supervised Redis restart goes unnoticed by users.
"""

from __future__ import annotations

import os
import threading

import gevent.monkey
import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from . import BEACON_DEVICE

__all__ = ["configure", "configured_urls", "reset", "get_url", "get_redis", "KINDS", "ENV_VARS",
           "BEACON_DEVICE"]

KINDS = ("settings", "data")
ENV_VARS = {"settings": "BLISSTANGO_SETTINGS_REDIS", "data": "BLISSTANGO_DATA_REDIS"}
BEACON_ATTRIBUTES = {"settings": "SettingsRedisUrl", "data": "DataRedisUrl"}

_explicit: dict[str, str | None] = {"settings": None, "data": None}
_clients: dict[tuple[str, bool, int], redis.Redis] = {}
_lock = threading.Lock()
_pid = os.getpid()


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"redis kind must be one of {KINDS}, not {kind!r}")


def configure(settings_url: str | None = None, data_url: str | None = None) -> None:
    """Set the URLs explicitly (None leaves that kind to env/Beacon); drops cached clients."""
    with _lock:
        _explicit["settings"] = settings_url
        _explicit["data"] = data_url
        _drop_clients()


def configured_urls() -> tuple[str | None, str | None]:
    """The (settings_url, data_url) given to configure(), to restore them later."""
    return _explicit["settings"], _explicit["data"]


def reset() -> None:
    """Forget explicit URLs and cached clients (tests, or after a Beacon move)."""
    configure(None, None)


def _drop_clients() -> None:
    for client in _clients.values():
        try:
            client.close()
        except Exception:  # noqa: BLE001 - closing a dead client must not fail reset
            pass
    _clients.clear()


def get_url(kind: str = "settings") -> str:
    """The URL of the `kind` Redis, by the resolution order of this module."""
    _check_kind(kind)
    url = _explicit[kind] or os.environ.get(ENV_VARS[kind])
    if url:
        return url
    return _url_from_beacon(kind)


def _url_from_beacon(kind: str) -> str:
    tango_host = os.environ.get("TANGO_HOST", "<unset>")
    try:
        import tango  # lazy: most processes get their URL from configure() or env
    except ImportError as exc:
        raise RuntimeError(f"{kind} Redis: not configured, {ENV_VARS[kind]} unset, and "
                           f"pytango is not importable to ask {BEACON_DEVICE}") from exc
    try:
        proxy = tango.DeviceProxy(BEACON_DEVICE)
        url = proxy.read_attribute(BEACON_ATTRIBUTES[kind]).value
    except tango.DevFailed as exc:
        reason = exc.args[0].desc.strip() if exc.args else str(exc)
        raise RuntimeError(
            f"{kind} Redis: not configured, {ENV_VARS[kind]} unset, and "
            f"{BEACON_DEVICE}/{BEACON_ATTRIBUTES[kind]} unreadable through "
            f"TANGO_HOST={tango_host}: {reason}") from None
    if not url:
        raise RuntimeError(f"{kind} Redis: {BEACON_DEVICE}/{BEACON_ATTRIBUTES[kind]} is "
                           f"empty (TANGO_HOST={tango_host})")
    return url


def make_client(url: str, decode_responses: bool = False) -> redis.Redis:
    """A new redis.Redis for url that survives server restarts.

    No socket read timeout: data readers block in XREAD for as long as they ask;
    dead peers are found by TCP keepalive and the health check before reuse.
    """
    tcp = {} if url.startswith("unix:") else {"socket_keepalive": True,
                                              "socket_connect_timeout": 2}
    return redis.Redis.from_url(
        url,
        decode_responses=decode_responses,
        health_check_interval=10,
        socket_timeout=None,
        **tcp,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=40),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError, ConnectionError,
                        redis.BusyLoadingError],
        client_name=f"blisstango-{os.getpid()}",
    )


def get_redis(kind: str = "settings", decode_responses: bool = False) -> redis.Redis:
    """The process-wide redis.Redis for `kind` ("settings" or "data").

    Replies are bytes unless decode_responses=True (a separate shared client).
    A forked child gets its own clients. Under gevent each OS thread gets its own
    client: a patched socket belongs to the hub of the thread that opened it, and a
    Tango server runs commands in omniORB's threads ("Cannot switch to a different
    thread" otherwise).
    """
    global _pid
    _check_kind(kind)
    thread = threading.get_ident() if gevent.monkey.is_module_patched("socket") else 0
    key = (kind, decode_responses, thread)
    with _lock:
        if os.getpid() != _pid:  # never share sockets with a parent process
            _clients.clear()
            _pid = os.getpid()
        client = _clients.get(key)
    if client is not None:
        return client
    url = get_url(kind)  # may ask Tango: not under the lock
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = make_client(url, decode_responses)
        return client
