"""The processes a beamline configuration implies, started in order.

Order: the embedded Redis servers (unless URLs are given), BeaconDB (the Tango
database and Beacon device, on the TANGO_HOST port), the simulated hardware the tree
asks for (``core.config.servers.implied_simulators``: a Wago's coupler emulator), then
every device server instance that ``implied_servers`` finds in the tree. Stopping
goes in reverse order.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any

import gevent

from blisstango.clients.launcher.rundir import RunDir
from blisstango.clients.launcher.supervisor import ManagedProcess
from blisstango.core.config import load_tree
from blisstango.core.config.servers import implied_servers, implied_simulators

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

    def __init__(self, config_dir: Path, run_dir: RunDir, host: str = "127.0.0.1",
                 port: int | None = None, redis_urls: tuple[str, str] | None = None,
                 web_port: int | None = None, web: bool = True):
        self.config_dir = Path(config_dir).resolve()
        self.web = web
        self.web_port = web_port
        self.web_url: str | None = None
        self.run_dir = run_dir
        self.host = host
        self.port = port or tango_port_from_env()
        self.redis_urls = redis_urls
        self.redis = None
        self.processes: list[ManagedProcess] = []
        self.ready = False  # every process started once: what `up --detach` waits for
        self.tree = load_tree(self.config_dir)  # fail early, before anything starts

    @property
    def tango_host(self) -> str:
        return f"{self.host}:{self.port}"

    def _env(self) -> dict[str, str | None]:
        """TANGO_HOST is the one address a server gets: everything else (Redis URLs,
        the configuration) it asks Beacon for, so variables that would point it
        elsewhere (a shell's leftovers, a test's own Redis) are removed. A server that
        dies of a fatal signal leaves the Python stack of every thread in its log."""
        return {"TANGO_HOST": self.tango_host, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1",
                "BLISSTANGO_SETTINGS_REDIS": None, "BLISSTANGO_DATA_REDIS": None,
                "BLISSTANGO_CONFIG": None}

    def _add(self, name: str, argv: list[str], ready=None) -> ManagedProcess:
        proc = ManagedProcess(name, argv, self.run_dir.log(name), env=self._env(), ready=ready,
                              on_change=self.save_state)
        self.processes.append(proc)
        return proc

    def start(self) -> None:
        """Start the stack in order; on any failure stop what was started, then raise."""
        self.run_dir.create()
        self.run_dir.pid_file.write_text(str(os.getpid()))
        if port_in_use(self.host, self.port):
            raise RuntimeError(f"TANGO_HOST port {self.tango_host} is already in use (another "
                               "`blisstango up`, or a Tango database?): stop it or pass --port")
        os.environ["TANGO_HOST"] = self.tango_host
        try:
            self._start_redis()
            settings_url, data_url = self.redis_urls
            beacon_dir = self.run_dir.sub("beacondb")
            (beacon_dir / "web-url").unlink(missing_ok=True)
            beacon = self._add("BeaconDB", [
                executable("BeaconDB"), "2", "--host", self.host, "--port", str(self.port),
                "--config", str(self.config_dir), "--run-dir", str(beacon_dir),
                "--redis-settings", settings_url, "--redis-data", data_url,
            ] + self._web_args(), ready=lambda: _wait_tcp(self.host, self.port, 60))
            beacon.start()
            if self.web:  # BeaconDB writes the editor's URL before it opens TANGO_HOST
                url_file = beacon_dir / "web-url"
                self.web_url = url_file.read_text().strip() if url_file.exists() else None
            for sim in implied_simulators(self.tree):
                self._add(sim.name, [executable(sim.argv[0]), *sim.argv[1:]],
                          ready=lambda p=sim.port: _wait_tcp(self.host, p, 60)).start()
            for server, instance in implied_servers(self.tree):
                self._add(f"{server}/{instance}", [executable(server), instance],
                          ready=lambda s=server, i=instance: _wait_dserver(s, i, 60)).start()
        except BaseException:
            self.stop()
            raise
        self.ready = True
        self.save_state()

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

        self.redis = RedisSupervisor(self.run_dir.sub("redis"))
        self.redis.start()
        self.redis_urls = (self.redis.settings_url, self.redis.data_url)

    def stop(self) -> None:
        """Stop every process, last started first, then Redis."""
        self.ready = False
        for proc in reversed(self.processes):
            proc.stop()
        if self.redis is not None:
            self.redis.stop()
        self.save_state()
        self.run_dir.pid_file.unlink(missing_ok=True)

    def state(self) -> dict[str, Any]:
        redis_pids = list(self.redis.pids().values()) if self.redis is not None else []
        return {
            "config_dir": str(self.config_dir),
            "tango_host": self.tango_host,
            "supervisor_pid": os.getpid(),
            "ready": self.ready,
            "web_url": self.web_url,
            "web": self.web,
            "redis": {"urls": list(self.redis_urls or []), "pids": redis_pids},
            "processes": [proc.info() for proc in self.processes],
        }

    def save_state(self) -> None:
        self.run_dir.write_state(self.state())
