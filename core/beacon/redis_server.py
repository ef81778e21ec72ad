"""Embedded redis-server processes, as BLISS's Beacon runs them.

Two servers with opposite needs:

* settings — small, precious, persistent: append-only file, fsync every second, in a
  directory under the run dir, so values survive a Redis crash or restart. Channels
  and locks live here too (they carry TTLs, so persistence does them no harm).
* data — scan data streams, large and disposable (the HDF5 file is the record): no
  persistence at all, and a memory budget (1 GB by default) with `allkeys-lru`
  eviction. See `DATA_EVICTION_POLICY` for why.

A `RedisSupervisor` owns both processes through the one process supervisor
(core.beacon.supervisor.ManagedProcess, its back-off rule): a crashed one is restarted on
the same port and directory (clients reconnect by themselves), and none outlives its owner.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import redis

from blisstango.core.beacon.child_process import Child, spawn
from blisstango.core.beacon.redis_binary import find_redis_server
from blisstango.core.beacon.supervisor import ManagedProcess
from blisstango.core.comm.address import is_loopback

__all__ = ["RedisServer", "RedisSupervisor", "find_redis_server", "DATA_EVICTION_POLICY"]

log = logging.getLogger(__name__)

#: Eviction policy of the data Redis. Scan data is written continuously and read
#: shortly after, then only kept as a convenience (the file writer has the record).
#: Under memory pressure the right victims are therefore the least recently used
#: streams — old scans — whether or not they already carry an expiry. `volatile-lru`
#: would only consider keys with a TTL, and a producer that has not set one yet (or
#: bookkeeping keys) would make writes of the *running* scan fail with OOM; with
#: `allkeys-lru` a live acquisition never gets an OOM error, the oldest scans go first.
DATA_EVICTION_POLICY = "allkeys-lru"

def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


#: the Redis ACL user of a server other hosts can reach (Beacon hands out its URL)
ACL_USER = "blisstango"


def _advertised_host(host: str) -> str:
    """The host name clients should use: a wildcard bind is reached by our host name
    (not getfqdn(), which often answers "localhost" from /etc/hosts)."""
    return socket.gethostname() if host in ("0.0.0.0", "::", "") else host


class RedisServer:
    """One redis-server process of a given kind ("settings" or "data").

    port=0 picks a free port once; restarts reuse it, so do `directory` and the
    socket path, hence clients reconnect to the same URL. unix_socket=True listens on
    `<run_dir>/redis/<name>.sock` only (no TCP).
    """

    def __init__(self, name: str, run_dir: str | os.PathLike, kind: str = "settings",
                 host: str = "127.0.0.1", port: int = 0, unix_socket: bool = False,
                 maxmemory: str = "1gb", eviction_policy: str = DATA_EVICTION_POLICY,
                 executable: str | None = None, extra_config: dict | None = None) -> None:
        if kind not in ("settings", "data"):
            raise ValueError(f"redis server {name!r}: kind must be 'settings' or 'data', "
                             f"not {kind!r}")
        self.name = name
        self.kind = kind
        self.host = host
        self.port = port
        self.unix_socket = unix_socket
        self.maxmemory = maxmemory
        self.eviction_policy = eviction_policy
        self.extra_config = dict(extra_config or {})
        self.base_dir = Path(run_dir).resolve() / "redis"
        self.directory = self.base_dir / name
        self.pid_file = self.base_dir / f"{name}.pid"
        self.log_file = self.base_dir / f"{name}.log"
        self.config_file = self.base_dir / f"{name}.conf"
        self.socket_path = self.base_dir / f"{name}.sock"
        self.executable = executable or find_redis_server()[0]
        self._password: str | None = None
        self._process: Child | None = None
        #: the supervisor's ManagedProcess when a RedisSupervisor runs this server
        self.managed: ManagedProcess | None = None
        self.started_at = 0.0

    @property
    def process(self) -> Child | None:
        return self.managed.proc if self.managed is not None else self._process

    @property
    def argv(self) -> list[str]:
        return [self.executable, str(self.config_file)]

    # -- description -------------------------------------------------------------
    @property
    def url(self) -> str:
        """redis:// or unix:// URL clients use (stable across restarts)."""
        if self.unix_socket:
            return f"unix://{self.socket_path}"
        auth = f"{ACL_USER}:{self.password}@" if self.password else ""
        return f"redis://{auth}{_advertised_host(self.host)}:{self.port}/0"

    @property
    def password(self) -> str | None:
        """The ACL user's password when the server listens beyond loopback (other hosts
        must authenticate: never an open port), else None. Made once, kept in the run
        dir (mode 600) so restarts keep the URL Beacon hands out."""
        if self.unix_socket or is_loopback(self.host):
            return None
        if self._password is None:
            path = self.base_dir / f"{self.name}.password"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_urlsafe(24))
            self._password = path.read_text().strip()
        return self._password

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def config_lines(self) -> list[str]:
        """The redis.conf text, one directive per line."""
        lines = [
            "daemonize no",
            f"dir {self.directory}",
            f"pidfile {self.pid_file}",
            f"logfile {self.log_file}",
            "protected-mode yes",
            "tcp-keepalive 60",
            "databases 16",
        ]
        if self.unix_socket:
            lines += ["port 0", f"unixsocket {self.socket_path}", "unixsocketperm 700"]
        else:
            lines += [f"bind {self.host}", f"port {self.port}"]
        if self.password:  # reachable from other hosts: only the ACL user, with its password
            lines += ["user default off", f"user {ACL_USER} on >{self.password} ~* &* +@all"]
        if self.kind == "settings":
            # AOF: every write reaches the kernel before the reply, so a killed
            # redis-server loses nothing; fsync each second bounds an OS crash's loss.
            lines += ['save ""', "appendonly yes", "appendfsync everysec",
                      "aof-use-rdb-preamble yes", "appendfilename settings.aof"]
        else:
            lines += ['save ""', "appendonly no", f"maxmemory {self.maxmemory}",
                      f"maxmemory-policy {self.eviction_policy}"]
        lines += [f"{key} {value}" for key, value in self.extra_config.items()]
        return lines

    # -- life cycle --------------------------------------------------------------
    def prepare(self) -> None:
        """Folders, a port (port=0: a free one, kept for restarts), the configuration file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.unix_socket and self.port == 0:
            self.port = _free_port(self.host)
        if self.unix_socket:
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()
        self.config_file.write_text("\n".join(self.config_lines()) + "\n")
        self.started_at = time.monotonic()

    def start(self, timeout: float = 15.0,
              spawner: Callable[..., Child] = spawn) -> None:
        """Start the process (unsupervised) and wait until it answers; it gets SIGTERM
        when the thread that started it ends (see child_process)."""
        if self.running():
            return
        self.prepare()
        self._process = spawner(self.argv, self.log_file, self.directory)
        try:
            self.wait_ready(timeout)
        except Exception:
            self.kill()
            raise
        log.info("redis %s (%s) pid %d at %s", self.name, self.kind, self.pid, self.url)

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Until the server answers (its AOF loaded); RuntimeError if it exits first."""
        deadline = time.monotonic() + timeout
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5,
                                      socket_timeout=2)
        try:
            while True:
                if self.process is None or self.process.poll() is not None:
                    raise RuntimeError(
                        f"redis {self.name}: {self.executable} exited with code "
                        f"{self.process.returncode if self.process else '?'} on {self.url}; "
                        f"see {self.log_file}:\n"
                        + self._log_tail())
                try:
                    # A server still loading its AOF answers PING with a LOADING error.
                    if client.ping() and client.get("__blisstango_probe__") is None:
                        return
                except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"redis {self.name}: no answer on {self.url} after "
                                       f"{timeout} s; see {self.log_file}")
                time.sleep(0.05)  # cooperative under gevent
        finally:
            client.close()

    def _log_tail(self, n: int = 10) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def shutdown(self, timeout: float = 5.0) -> None:
        """SHUTDOWN (the settings AOF flushed first), waiting for the process to end."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        try:
            client = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=timeout)
            client.shutdown(nosave=self.kind == "data")
        except (redis.RedisError, OSError):
            pass  # shutdown() always ends with a closed connection
        proc.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """SHUTDOWN (AOF flushed), then SIGTERM, then SIGKILL; never leaves a process."""
        if self.managed is not None:
            self.managed.stop(timeout)
            self._cleanup()
            return
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            self.shutdown(timeout)
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                if not proc.wait(timeout):
                    self.kill()
        self._cleanup()

    def kill(self) -> None:
        """SIGKILL the process and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._cleanup()

    def _cleanup(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()


class RedisSupervisor:
    """Starts the settings and data redis-servers and restarts either if it dies.

    With `settings_url`/`data_url` given, the user runs Redis: nothing is started and
    the URLs are only passed on. Each server runs under the one process supervisor
    (ManagedProcess: a thread of its own watches and starts it, so it works in a
    synchronous Tango server whose main thread never runs the gevent loop, and the
    server gets SIGTERM with its owner however it dies; the back-off rule BACKOFF).
    Restarts reuse port and directory. `start()` and `stop()` may be called from any
    thread.
    """

    def __init__(self, run_dir: str | os.PathLike, host: str = "127.0.0.1",
                 settings_port: int = 0, data_port: int = 0, unix_socket: bool = False,
                 data_maxmemory: str = "1gb", data_eviction_policy: str = DATA_EVICTION_POLICY,
                 settings_url: str | None = None, data_url: str | None = None,
                 executable: str | None = None, on_change: Callable[[], None] | None = None) -> None:
        """on_change: called after a server started, died or was restarted (the stack's
        state file keeps the pids current)."""
        self.run_dir = Path(run_dir)
        self._external = {"settings": settings_url, "data": data_url}
        self.servers: dict[str, RedisServer] = {}
        if settings_url is None or data_url is None:
            executable = executable or find_redis_server()[0]
        if settings_url is None:
            self.servers["settings"] = RedisServer(
                "settings", run_dir, "settings", host=host, port=settings_port,
                unix_socket=unix_socket, executable=executable)
        if data_url is None:
            self.servers["data"] = RedisServer(
                "data", run_dir, "data", host=host, port=data_port,
                unix_socket=unix_socket, maxmemory=data_maxmemory,
                eviction_policy=data_eviction_policy, executable=executable)
        for kind, server in self.servers.items():
            server.managed = ManagedProcess(
                f"redis-{kind}", server.argv, server.log_file, cwd=server.directory,
                prepare=server.prepare, ready=server.wait_ready, graceful=server.shutdown,
                on_change=on_change)

    @property
    def settings_url(self) -> str:
        return self._external["settings"] or self.servers["settings"].url

    @property
    def data_url(self) -> str:
        return self._external["data"] or self.servers["data"].url

    @property
    def restarts(self) -> dict[str, int]:
        """Restarts after a crash, by kind."""
        counts = {"settings": 0, "data": 0}
        counts.update({kind: s.managed.restarts for kind, s in self.servers.items() if s.managed})
        return counts

    def pids(self) -> dict[str, int]:
        """Pids of the running processes started here, by kind."""
        return {kind: s.pid for kind, s in self.servers.items() if s.running() and s.pid}

    def start(self) -> RedisSupervisor:
        try:
            for server in self.servers.values():
                assert server.managed is not None
                server.managed.start()
                log.info("redis %s (%s) pid %s at %s", server.name, server.kind, server.pid, server.url)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop watching and shut every process down; none is left behind."""
        for server in self.servers.values():
            server.stop()

    def __enter__(self) -> RedisSupervisor:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
