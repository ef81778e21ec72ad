"""Instruments served by their makers' simulators, for tests: `blisstango simulate` (the
command `blisstango up` runs) in a process of its own, and a raw socket client that
judges what our links and controllers say (request/reply with nothing of ours between)."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from .config_trees import write
from .procs import ServerProcess, free_port

BIN = Path(sys.executable).parent

ICEPAP_YAML = """\
- name: {name}
  plugin: emotion
  class: IcePAP
  tcp: {{url: 127.0.0.1:1, timeout: {timeout}}}   # no IcePAP there: the simulator serves it
  simulator:
    url: 127.0.0.1:{port}
    axes: [{{address: 2, status: 0x00A43203}}]    # tth sits on its positive limit switch
  {tango}
  axes:
    - name: {prefix}th
      address: 1
      unit: deg
      steps_per_unit: 1000
      velocity: 2.0
      acceleration: 20.0
      velocity_high_limit: 8.0
    - name: {prefix}tth
      address: 2
      unit: deg
      steps_per_unit: 1000
      velocity: 1.0
      acceleration: 10.0
"""


def write_icepap(root: Path, name: str = "ice1", port: int | None = None, timeout: float = 1.0,
                 prefix: str = "", tango: str = "", rel: str = "ice.yml") -> int:
    """An IcePAP (axes <prefix>th at address 1, <prefix>tth at 2 on its limit switch)
    served by its simulator on `port` (free if not given); returns the port."""
    port = port or free_port()
    write(root, rel, ICEPAP_YAML.format(name=name, port=port, timeout=timeout, prefix=prefix,
                                        tango=tango or "tango: {server: ice}"))
    return port


class Simulator(ServerProcess):
    """`blisstango simulate CONFIG NAME --url URL`, ready once its transport answers."""

    def __init__(self, config: Path, name: str, url: str, workdir: Path) -> None:
        self.config, self.name, self.url = Path(config), name, url
        self.log = Path(workdir) / f"simulator_{name}.log"

    def start(self, timeout: float = 30.0) -> Simulator:
        self.launch([str(BIN / "blisstango"), "simulate", str(self.config), self.name, "--url", self.url])
        self.wait_ready(self.answers, f"simulator {self.name} at {self.url}", timeout)
        return self

    def answers(self) -> bool:
        if self.url.startswith("/"):
            return os.path.exists(self.url)
        host, port = self.url.rsplit(":", 1)
        try:
            with socket.create_connection((host, int(port)), timeout=0.5):
                return True
        except OSError:
            return False


class RawClient:
    """A bare socket to a simulator: one request line, one reply line."""

    def __init__(self, port: int, eol: bytes = b"\r") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.eol = eol
        self.buf = b""

    def ask(self, cmd: str) -> str:
        self.sock.sendall(cmd.encode() + self.eol)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            assert chunk, "the simulator closed the connection"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode().strip()

    def value(self, cmd: str) -> str:
        """The reply without its echo: ask('?FPOS 1') -> '?FPOS 1000' -> '1000'."""
        return self.ask(cmd).split(None, 1)[1]

    def close(self) -> None:
        self.sock.close()



class SinstrumentsServer(ServerProcess):
    """`sinstruments-server` on a configuration of device entries (core.comm.simulators'
    own), for a test that needs a second door into one simulated instrument: a TCP port
    for the judge beside the serial line a controller owns."""

    def __init__(self, devices: list[dict], workdir: Path) -> None:
        import yaml

        self.devices = devices
        self.config = Path(workdir) / "sinstruments.yml"
        self.config.write_text(yaml.safe_dump({"devices": devices}))
        self.log = Path(workdir) / "sinstruments.log"

    def start(self, timeout: float = 30.0) -> SinstrumentsServer:
        self.launch([str(BIN / "sinstruments-server"), "-c", str(self.config), "--log-level", "INFO"])
        self.wait_ready(self.answers, "sinstruments-server", timeout)
        return self

    def answers(self) -> bool:
        for device in self.devices:
            for t in device["transports"]:
                if not Simulator(Path("."), device["name"], t["url"], Path(".")).answers():
                    return False
        return True
