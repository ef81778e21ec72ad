"""A small beamline for detector tests, brought up with `blisstango up --detach`: the demo's
axes (AxisManager) and a simulated camera (LimaSimulator), plus whatever extra YAML a
test adds. Devices are reached by fully qualified names, so TANGO_HOST does not matter."""

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

CAMERA_YAML = """\
# A simulated camera whose beam follows the demo's axes.
- name: {name}
  plugin: lima_simulator
  width: {width}
  height: {height}
  readout_time: 0.0005
  max_frame_rate: {max_frame_rate}
  beam:
    x: 100
    y: 80
    sigma_x: 6
    sigma_y: 4
    flux: 2.0e8
    background: 2000
    follow:
      x: {{axis: m1, per_unit: 2.0}}
      y: {{axis: sl_vgap, per_unit: 10.0}}
      intensity: {{axis: m0, center: 2.5, fwhm: 1.2}}
"""


def blisstango(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run([str(BIN / "blisstango"), *args], capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"blisstango {' '.join(args)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}")
    return res


class LimaStack:
    """config = demo __init__.yml + motors/ + detectors/<camera>.yml (+ extra files)."""

    def __init__(self, workdir: Path, demo_config: Path, camera: str = "cam_sim", width: int = 256,
                 height: int = 192, max_frame_rate: float = 2000.0, extra: dict[str, str] | None = None) -> None:
        self.workdir = Path(workdir)
        self.config = self.workdir / "config"
        self.config.mkdir(parents=True)
        shutil.copy(demo_config / "__init__.yml", self.config / "__init__.yml")
        shutil.copytree(demo_config / "motors", self.config / "motors")
        (self.config / "detectors").mkdir()
        (self.config / "detectors" / f"{camera}.yml").write_text(
            CAMERA_YAML.format(name=camera, width=width, height=height, max_frame_rate=max_frame_rate))
        for rel, text in (extra or {}).items():
            path = self.config / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        self.camera = camera
        self.run_dir = self.workdir / "run"
        self.data_dir = self.workdir / "data"
        self.port = free_port()
        self.tango_host = f"127.0.0.1:{self.port}"
        self._pids: list[int] = []

    def up(self, wait_for: tuple[str, ...] = (), timeout: float = 90.0) -> LimaStack:
        blisstango("up", str(self.config), "--detach", "--port", str(self.port), "--run-dir", str(self.run_dir))
        deadline = time.monotonic() + timeout
        for name in (f"demo/limaccds/{self.camera}", "demo/axis/m0", *wait_for):
            while True:
                try:  # a loaded database may time out even the proxy's creation
                    self.device(name).ping()
                    break
                except tango.DevFailed as exc:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{name} not up after {timeout} s: {exc.args[0].desc.strip()}") from None
                    time.sleep(0.1)
        self._pids = self.all_pids()
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
