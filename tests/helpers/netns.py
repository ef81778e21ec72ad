"""A small network of Linux network namespaces for multi-host tests (needs root).

Each "host" is a network namespace with its own loopback and one veth link to a bridge
in a hub namespace; addresses are 10.<net>.0.<n>/24, private to those namespaces (no
route leaves them). Processes run in a host with `Host.popen`, under a UTS namespace of
their own: the host name is the host's (Tango servers export from that host, a Starter
asks for that host's servers). `own_pids=True` adds a PID namespace and its /proc, for a
Starter: it looks in /proc for its servers, and another `AxisManager demo` on the machine
must not count. `cut()`/`restore()` take a host's link down
and up. `Network.delete()` kills what ran in the hosts and removes every namespace.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import psutil


def available() -> str | None:
    """None if namespaces can be made here, else why not (a skip reason)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    return None


def _ip(*args: str, ns: str | None = None) -> None:
    cmd = ["ip", *(("-n", ns) if ns else ()), *args]
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=30)


class Host:
    def __init__(self, net: Network, name: str, number: int):
        self.net, self.name = net, name
        self.ns = f"{net.prefix}{name}"
        self.address = f"10.{net.subnet}.0.{number}"
        self.bridge_end = f"{net.prefix}{name}"[:15]
        self.procs: list[subprocess.Popen] = []

    def _create(self) -> None:
        _ip("netns", "add", self.ns)
        inner = f"{self.bridge_end[:12]}in"
        _ip("link", "add", self.bridge_end, "type", "veth", "peer", "name", inner, ns=self.net.hub)
        _ip("link", "set", inner, "netns", self.ns, ns=self.net.hub)
        _ip("link", "set", self.bridge_end, "master", "br0", "up", ns=self.net.hub)
        _ip("link", "set", "lo", "up", ns=self.ns)
        _ip("link", "set", inner, "name", "eth0", ns=self.ns)
        _ip("addr", "add", f"{self.address}/24", "dev", "eth0", ns=self.ns)
        _ip("link", "set", "eth0", "up", ns=self.ns)

    def argv(self, argv: list[str], own_pids: bool = False) -> list[str]:
        """argv run in this host: its network namespace, a UTS namespace named after it and,
        with own_pids, a PID namespace (and /proc) of its own."""
        pids = ["--pid", "--fork", "--kill-child", "--mount-proc"] if own_pids else []
        return ["ip", "netns", "exec", self.ns, "unshare", "--uts", *pids,
                "sh", "-c", 'hostname "$0" && exec "$@"', self.name, *argv]

    def popen(self, argv: list[str], log: Path, env: dict[str, str] | None = None,
              own_pids: bool = False) -> subprocess.Popen:
        out = open(log, "ab")
        proc = subprocess.Popen(self.argv(argv, own_pids), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})},
                                start_new_session=True)
        out.close()
        self.procs.append(proc)
        return proc

    def run(self, argv: list[str], env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(argv), capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})})

    def cut(self) -> None:
        _ip("link", "set", self.bridge_end, "down", ns=self.net.hub)

    def restore(self) -> None:
        _ip("link", "set", self.bridge_end, "up", ns=self.net.hub)

    def pids(self) -> set[int]:
        """Every process that runs in this host's network namespace."""
        out = subprocess.run(["ip", "netns", "pids", self.ns], capture_output=True, text=True)
        return {int(p) for p in out.stdout.split()}


class Network:
    """`Network(["a", "b"])` makes hosts net.hosts["a"] (10.<subnet>.0.1), ...; delete() undoes."""

    def __init__(self, names: list[str], prefix: str | None = None):
        self.prefix = prefix or f"bt{os.getpid() % 100000}-"
        self.subnet = 100 + os.getpid() % 150
        self.hub = f"{self.prefix}hub"
        self.hosts = {n: Host(self, n, i + 1) for i, n in enumerate(names)}
        try:
            _ip("netns", "add", self.hub)
            _ip("link", "add", "br0", "type", "bridge", ns=self.hub)
            _ip("link", "set", "br0", "up", ns=self.hub)
            for host in self.hosts.values():
                host._create()
        except BaseException:
            self.delete()
            raise

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def delete(self) -> None:
        """Stop every process of every host (their trees), then remove the namespaces."""
        for host in self.hosts.values():
            for proc in host.procs:
                _stop_tree(proc.pid)
            for pid in host.pids():
                _stop_tree(pid)
        for ns in [h.ns for h in self.hosts.values()] + [self.hub]:
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True)


def _stop_tree(pid: int, timeout: float = 10.0) -> None:
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        try:
            p.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)
