"""The demo beamline brought up with `blisstango up --detach` for ScanServer tests.

A copy of the demo tree, a free TANGO_HOST port and a run dir of its own; devices are
reached by fully qualified names (tango://127.0.0.1:<port>/...), so the test process's
TANGO_HOST does not matter. Stopped with `blisstango down`, every pid checked.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import tango

from helpers.procs import free_port, kill_tree, pid_alive

BIN = Path(sys.executable).parent


def blisstango(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run([str(BIN / "blisstango"), *args], capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"blisstango {' '.join(args)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}")
    return res


class DemoStack:
    def __init__(self, workdir: Path, demo_config: Path) -> None:
        self.workdir = Path(workdir)
        self.config = self.workdir / "config"
        shutil.copytree(demo_config, self.config)
        self.run_dir = self.workdir / "run"
        self.data_dir = self.workdir / "data"
        self.port = free_port()
        self.tango_host = f"127.0.0.1:{self.port}"
        self._pids: list[int] = []

    def up(self, timeout: float = 90.0) -> DemoStack:
        blisstango("up", str(self.config), "--detach", "--port", str(self.port), "--run-dir", str(self.run_dir))
        deadline = time.monotonic() + timeout
        scan = self.device("demo/scan/demo")
        while True:
            try:
                if scan.state() in (tango.DevState.ON, tango.DevState.ALARM):
                    break
            except tango.DevFailed:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"demo/scan/demo not ready after {timeout} s; log:\n" + self.log("ScanServer_demo"))
            time.sleep(0.2)
        self._pids = self.all_pids()
        scan.write_attribute("SCAN_SAVING", json.dumps({"base_path": str(self.data_dir)}))
        return self

    def down(self) -> None:
        blisstango("down", "--run-dir", str(self.run_dir), check=False)
        deadline = time.monotonic() + 15
        pids = set(self._pids) | set(self.all_pids())
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        for p in pids:
            if pid_alive(p):
                kill_tree(p)

    def status(self) -> dict:
        res = blisstango("status", "--run-dir", str(self.run_dir), "--json", check=False)
        return json.loads(res.stdout) if res.returncode == 0 else {}

    def all_pids(self) -> list[int]:
        st = self.status()
        if not st:
            return []
        pids = [st["supervisor_pid"], *st["redis"]["pids"], *(p["pid"] for p in st["processes"])]
        return [p for p in pids if p]

    def pid(self, process: str) -> int:
        for p in self.status()["processes"]:
            if p["name"] == process:
                return p["pid"]
        raise KeyError(process)

    def log(self, name: str) -> str:
        path = self.run_dir / "logs" / f"{name}.log"
        return path.read_text()[-4000:] if path.exists() else f"(no {path})"

    def device(self, name: str, timeout_ms: int = 10000) -> tango.DeviceProxy:
        dev = tango.DeviceProxy(f"tango://{self.tango_host}/{name}")
        dev.set_timeout_millis(timeout_ms)
        return dev

    def data_redis(self):
        import redis

        url = self.device("sys/beacon/1").read_attribute("DataRedisUrl").value
        return redis.Redis.from_url(url)
