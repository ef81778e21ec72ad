"""End-to-end AxisManager: devices registered in a real Tango database the way the
configuration implies (ServerKind of the AxisManager), the server in its own process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from helpers.procs import kill_tree, start

BIN = Path(sys.executable).parent


def register_axis_devices(tango_host: str, tree_dir: Path) -> dict[str, list[str]]:
    """Add every axis device (+ one manager per instance) with its alias; {instance: devices}."""
    import tango

    from blisstango.core.config import load_tree
    from blisstango.core.config.servers import exported_nodes
    from blisstango.servers.AxisManager.descriptor import SERVER_KIND

    tree = load_tree(tree_dir)
    host, port = tango_host.rsplit(":", 1)
    db = tango.Database(host, int(port))
    out: dict[str, list[str]] = {}
    for kind, node, instance in exported_nodes(tree, [SERVER_KIND]):
        domain = tree.domain_of(node.name) or "bliss"
        dev = f"{domain}/{kind.family}/{node.name}"
        info = tango.DbDevInfo()
        info.name, info._class, info.server = dev, kind.device_class, f"{kind.server}/{instance}"
        db.add_device(info)
        db.put_device_alias(dev, node.name)
        out.setdefault(instance, []).append(dev)
    for instance, devs in out.items():
        info = tango.DbDevInfo()
        domain = devs[0].split("/")[0]
        info.name, info._class = f"{domain}/axismanager/{instance}", SERVER_KIND.manager_class
        info.server = f"{SERVER_KIND.server}/{instance}"
        db.add_device(info)
    return out


class AxisManagerProcess:
    def __init__(self, instance: str, env: dict[str, str], workdir: Path) -> None:
        self.instance, self.env, self.workdir = instance, env, Path(workdir)
        self.proc: subprocess.Popen | None = None
        self.log = self.workdir / f"AxisManager-{instance}.log"

    @property
    def manager(self) -> str:
        return f"demo/axismanager/{self.instance}"

    def start(self, timeout: float = 60.0) -> AxisManagerProcess:
        import tango

        self.proc = start([str(BIN / "AxisManager"), self.instance], self.log, env=self.env)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"AxisManager exited {self.proc.returncode}: {self.log.read_text()[-3000:]}")
            try:
                tango.DeviceProxy(self.manager).ping()
                return self
            except tango.DevFailed:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"AxisManager {self.instance} not up: {self.log.read_text()[-3000:]}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            kill_tree(self.proc.pid)
            self.proc.wait()
            self.proc = None
