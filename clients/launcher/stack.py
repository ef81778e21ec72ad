"""The processes a beamline configuration implies, started in order.

Order: the embedded Redis servers (unless URLs are given), BeaconDB (the Tango
database and Beacon device, on the TANGO_HOST port), the simulated hardware the tree
asks for (``core.config.servers.implied_simulators``: a Wago's coupler emulator, the
makers' simulator of an instrument with a `simulator:` block, started side by side), then
every device server instance that ``implied_servers`` finds in the tree, level by level
(the YAML's `hosts` block). Stopping goes in reverse order.

Several hosts (issue 18): `host_name` starts only the servers placed on that host (and,
on the host that runs the database, those placed nowhere); with `database` set (another
host's TANGO_HOST) nothing but those servers starts here, and the database says which
(DbGetHostServersInfo, what a Tango Starter reads). Every process listens on `host`.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import gevent

from blisstango.clients.launcher.rundir import RunDir
from blisstango.core.beacon.supervisor import ManagedProcess
from blisstango.core.comm.address import ADDRESS_ENV, local_address
from blisstango.core.config import load_tree
from blisstango.core.config.servers import implied_simulators

from .hosts import database_host_servers, tree_host_servers

# the tiers a stack stops in, one after the other (the processes of a tier side by side)
SERVERS, SIMULATORS, DATABASE = "servers", "simulators", "database"

DEFAULT_TANGO_PORT = 10000


def tango_port_from_env() -> int:
    """Port of TANGO_HOST if it is set, else the Tango default 10000."""
    value = os.environ.get("TANGO_HOST", "")
    try:
        return int(value.rsplit(":", 1)[1].split(",")[0])
    except (IndexError, ValueError):
        return DEFAULT_TANGO_PORT


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def executable(name: str) -> str:
    """A console script of this installation (the venv's bin first, then PATH)."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"console script {name!r} not found beside {sys.executable} nor on PATH; "
                                "is blisstango installed (pip install -e .)?")
    return found


def _wait_tcp(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_in_use(host, port):
            return
        gevent.sleep(0.1)
    raise TimeoutError(f"nothing answers on {host}:{port} after {timeout:.0f} s")


def _wait_path(path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} not created after {timeout:.0f} s")
        gevent.sleep(0.05)


def _wait_simulator(host: str, sim, timeout: float) -> None:
    """Ready when its TCP port answers, or the file it makes (a pseudo-terminal) exists."""
    if sim.port:
        _wait_tcp(host, sim.port, timeout)
    if sim.path:
        _wait_path(sim.path, timeout)


def _wait_dserver(server: str, instance: str, timeout: float) -> None:
    """Wait until the server's admin device answers: the Tango way to say 'started'."""
    import tango

    name = f"dserver/{server}/{instance}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            tango.DeviceProxy(name).ping()
            return
        except tango.DevFailed as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} does not answer after {timeout:.0f} s: "
                                   f"{exc.args[0].desc.strip()}") from None
        gevent.sleep(0.2)


class Stack:
    """Everything `blisstango up` runs for one configuration tree."""

    def __init__(self, config_dir: Path | None, run_dir: RunDir, host: str | None = None,
                 port: int | None = None, redis_urls: tuple[str, str] | None = None,
                 web_port: int | None = None, web: bool = True, host_name: str | None = None,
                 database: str | None = None):
        self.database = database
        self.host_name = host_name
        self.config_dir = Path(config_dir).resolve() if config_dir is not None else None
        self.web = web
        self.web_port = web_port
        self.web_url: str | None = None
        self.run_dir = run_dir
        self.host = host or (local_address(database) if database else "127.0.0.1")
        self.port = port or tango_port_from_env()
        self.redis_urls = redis_urls
        self.redis = None
        self.processes: list[ManagedProcess] = []
        self._tier: dict[str, str] = {}  # process name -> DATABASE, SIMULATORS or SERVERS
        self._state_lock = threading.Lock()
        self.ready = False  # every process started once: what `up --detach` waits for
        # fail early, before anything starts
        self.tree = load_tree(self.config_dir) if self.config_dir is not None else None
        if self.tree is None and database is None:
            raise ValueError("a stack that runs the database needs the configuration folder")

    @property
    def tango_host(self) -> str:
        return self.database or f"{self.host}:{self.port}"

    def _env(self) -> dict[str, str | None]:
        """TANGO_HOST is the one address a server gets: everything else (Redis URLs,
        the configuration) it asks Beacon for, so variables that would point it
        elsewhere (a shell's leftovers, a test's own Redis) are removed. A server that
        dies of a fatal signal leaves the Python stack of every thread in its log."""
        return {"TANGO_HOST": self.tango_host, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1",
                ADDRESS_ENV: self.host, "BLISSTANGO_SETTINGS_REDIS": None,
                "BLISSTANGO_DATA_REDIS": None, "BLISSTANGO_CONFIG": None}

    def _add(self, name: str, tier: str, argv: list[str], ready=None) -> ManagedProcess:
        proc = ManagedProcess(name, argv, self.run_dir.log(name), env=self._env(), ready=ready,
                              on_change=self.save_state)
        self.processes.append(proc)
        self._tier[name] = tier
        return proc

    def start(self) -> None:
        """Start the stack in order; on any failure stop what was started, then raise."""
        self.run_dir.create()
        self.run_dir.pid_file.write_text(str(os.getpid()))
        if self.database is not None:
            os.environ["TANGO_HOST"] = self.tango_host
            try:
                self._start_servers(database_host_servers(self.host_name or socket.gethostname()))
            except BaseException:
                self.stop()
                raise
            self.ready = True
            self.save_state()
            return
        if port_in_use(self.host, self.port):
            raise RuntimeError(f"TANGO_HOST port {self.tango_host} is already in use (another "
                               "`blisstango up`, or a Tango database?): stop it or pass --port")
        os.environ["TANGO_HOST"] = self.tango_host
        try:
            self._start_redis()
            settings_url, data_url = self.redis_urls
            beacon_dir = self.run_dir.sub("beacondb")
            (beacon_dir / "web-url").unlink(missing_ok=True)
            beacon = self._add("BeaconDB", DATABASE, [
                executable("BeaconDB"), "2", "--host", self.host, "--port", str(self.port),
                "--config", str(self.config_dir), "--run-dir", str(beacon_dir),
                "--redis-settings", settings_url, "--redis-data", data_url,
            ] + self._web_args(), ready=lambda: _wait_tcp(self.host, self.port, 60))
            beacon.start()
            if self.web:  # BeaconDB writes the editor's URL before it opens TANGO_HOST
                url_file = beacon_dir / "web-url"
                self.web_url = url_file.read_text().strip() if url_file.exists() else None
            sims = [self._add(sim.name, SIMULATORS, [executable(sim.argv[0]), *sim.argv[1:]],  # simulated hardware:
                              ready=lambda s=sim: _wait_simulator("127.0.0.1", s, 60))  # this host's loopback
                    for sim in implied_simulators(self.tree)]
            gevent.joinall([gevent.spawn(p.start) for p in sims], raise_error=True)  # side by side
            self._start_servers(tree_host_servers(self.tree, self.host_name))
        except BaseException:
            self.stop()
            raise
        self.ready = True
        self.save_state()

    def _start_servers(self, servers: list[tuple[str, str]]) -> None:
        """Start each (server, instance), in the order given (level by level). A plain Tango
        server the database places here whose executable is not on PATH (Debian's TangoTest
        lives in /usr/lib/tango) is left to a Starter, with a warning."""
        for server, instance in servers:
            try:
                path = executable(server)
            except FileNotFoundError:
                print(f"blisstango up: {server}/{instance} is placed on this host but {server} is "
                      "not on PATH: not started (a Starter finds it through StartDsPath)",
                      file=sys.stderr, flush=True)
                continue
            self._add(f"{server}/{instance}", SERVERS, [path, instance],
                      ready=lambda s=server, i=instance: _wait_dserver(s, i, 60)).start()

    def _web_args(self) -> list[str]:
        """BeaconDB's editor port: the one asked for, else TANGO_HOST's + 80 if free,
        else any free port (BeaconDB reports which)."""
        if not self.web:
            return []
        port = self.web_port
        if port is None:
            port = self.port + 80
            if port > 65535 or port_in_use("127.0.0.1", port):
                port = 0
        return ["--web-port", str(port)]

    def _start_redis(self) -> None:
        if self.redis_urls is not None:
            return
        from blisstango.core.beacon.redis_server import RedisSupervisor

        self.redis = RedisSupervisor(self.run_dir.sub("redis"), host=self.host, on_change=self.save_state)
        self.redis.start()
        self.redis_urls = (self.redis.settings_url, self.redis.data_url)

    def stop(self) -> None:
        """Stop every process, then Redis: the device servers side by side, then the
        simulators side by side, then BeaconDB (each tier after the one that needs it;
        one after the other, a stack of 12 servers took ~10 s to stop)."""
        self.ready = False
        for tier in (SERVERS, SIMULATORS, DATABASE):
            procs = [p for p in reversed(self.processes) if self._tier[p.name] == tier]
            gevent.joinall([gevent.spawn(proc.stop) for proc in procs], raise_error=True)
        if self.redis is not None:
            self.redis.stop()
        self.save_state()
        self.run_dir.pid_file.unlink(missing_ok=True)

    def state(self) -> dict[str, Any]:
        pids = self.redis.pids() if self.redis is not None else {}
        redis_pids = [pids.get("settings"), pids.get("data")] if pids else []  # as the urls
        return {
            "config_dir": str(self.config_dir) if self.config_dir else None,
            "tango_host": self.tango_host,
            "host_name": self.host_name,
            "address": self.host,
            "supervisor_pid": os.getpid(),
            "ready": self.ready,
            "web_url": self.web_url,
            "web": self.web,
            "redis": {"urls": list(self.redis_urls or []), "pids": redis_pids},
            "processes": [proc.info() for proc in self.processes],
        }

    def save_state(self) -> None:
        """Write state.json (each supervised process calls this from its watcher thread)."""
        with self._state_lock:
            self.run_dir.write_state(self.state())
