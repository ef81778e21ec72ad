"""The one demo-stack helper: `blisstango up --detach` of a copy of the demo beamline on
a free TANGO_HOST port with a run dir of its own, ready when every device its
configuration implies (core.config.tango_view) answers; `blisstango down` at the end,
every pid checked. Devices are reached by fully qualified names
(tango://127.0.0.1:<port>/...), so the test process's TANGO_HOST does not matter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import tango

from blisstango.core.beacon import BEACON_DEVICE

from .config_trees import DEMO, copy_tree
from .procs import free_port, kill_tree, pid_alive

BIN = Path(sys.executable).parent
#: states of a device still starting (a ScanServer loading its session, a controller not
#: yet reached): any other state (ON, ALARM for a failed setup file, a shutter's CLOSE...)
#: is a device that has started
STARTING_STATES = (tango.DevState.INIT, tango.DevState.UNKNOWN, tango.DevState.FAULT)


def stack_env(**extra: str) -> dict:
    """The environment for the stack and its clients: Redis is found through Beacon
    (TANGO_HOST only), never through Redis URLs other tests may have exported."""
    from blisstango.core.beacon import connection

    env = {k: v for k, v in os.environ.items() if k not in connection.ENV_VARS.values()}
    env.update(extra)
    return env


def blisstango(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run([str(BIN / "blisstango"), *args], capture_output=True, text=True, timeout=timeout,
                         env=stack_env())
    if check and res.returncode != 0:
        raise AssertionError(f"blisstango {' '.join(args)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}")
    return res


class DemoStack:
    """A demo beamline stack of the test's own: `DemoStack(workdir).up()` ... `.down()`."""

    def __init__(self, workdir: Path, demo_config: Path = DEMO, expect_fault: tuple[str, ...] = ()) -> None:
        """expect_fault: devices that start in FAULT on purpose (a test's broken object):
        ready once they answer in FAULT."""
        self.expect_fault = {d.lower() for d in expect_fault}
        self.workdir = Path(workdir)
        self.config = copy_tree(demo_config, self.workdir / "config")
        self.run_dir = self.workdir / "run"
        self.data_dir = self.workdir / "data"
        self.port = free_port()
        self.tango_host = f"127.0.0.1:{self.port}"
        self._pids: list[int] = []

    # -- life ----------------------------------------------------------------------------
    def up(self, timeout: float = 90.0) -> DemoStack:
        """Start the stack, wait until it is ready, point SCAN_SAVING at data_dir."""
        blisstango("up", str(self.config), "--detach", "--port", str(self.port), "--run-dir", str(self.run_dir))
        try:
            self.wait_ready(timeout)
            self._pids = self.all_pids()
            for device in self.scan_devices():
                self.device(device).write_attribute("SCAN_SAVING", json.dumps({"base_path": str(self.data_dir)}))
        except BaseException:
            self.down()
            raise
        return self

    def down(self) -> None:
        """`blisstango down`; then every process the stack had is gone (killed if not),
        also when `down` itself could not finish (a loaded machine)."""
        try:
            blisstango("down", "--run-dir", str(self.run_dir), check=False)
        except subprocess.TimeoutExpired:
            pass  # the pids below are ended all the same
        pids = set(self._pids) | set(self.all_pids())
        deadline = time.monotonic() + 15
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        for p in pids:
            if pid_alive(p):
                kill_tree(p)

    close = down

    def __enter__(self) -> DemoStack:
        """`with DemoStack(...) as stack:` is up() ... down(), down also after a failure."""
        return self.up()

    def __exit__(self, *exc) -> None:
        self.down()

    # -- what the configuration implies -----------------------------------------------------
    def tango_view(self):
        from blisstango.core.config import load_tree
        from blisstango.core.config.tango_view import tango_view

        return tango_view(load_tree(self.config))

    def device_name(self, alias: str) -> str:
        """Tango device name of a configuration object, as core derives it."""
        return self.tango_view().aliases[alias.lower()].name

    def suite_devices(self) -> list[str]:
        """Every device a suite server of the configuration serves."""
        return sorted(d.name for d in self.tango_view().devices.values() if not d.file.startswith("tango/"))

    def scan_devices(self) -> list[str]:
        from blisstango.core.config.servers import server_kinds

        classes = {k.device_class for k in server_kinds() if "session" in k.plugins}
        return sorted(d.name for d in self.tango_view().devices.values() if d.klass in classes)

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until every suite device answers in a started state (not STARTING_STATES)."""
        deadline = time.monotonic() + timeout
        waiting = self.suite_devices()
        last = ""
        while waiting:
            try:
                state = self.device(waiting[0], timeout_ms=3000).state()
                if state not in STARTING_STATES or (state == tango.DevState.FAULT
                                                    and waiting[0].lower() in self.expect_fault):
                    waiting.pop(0)
                    continue
                last = f"{waiting[0]} is {state}"
            except tango.DevFailed as exc:
                last = f"{waiting[0]}: {exc.args[0].desc.strip()}"
            if time.monotonic() > deadline:
                raise TimeoutError(f"demo stack on {self.tango_host} not ready after {timeout} s: {last}\n"
                                   + self.log("ScanServer_demo"))
            time.sleep(0.2)

    # -- looking at it ------------------------------------------------------------------------
    def status(self) -> dict:
        """`blisstango status --json` (the stack's own record: pids, states, restarts),
        else what the run directory's state file says."""
        try:
            res = blisstango("status", "--run-dir", str(self.run_dir), "--json", check=False)
            if res.returncode == 0:
                return json.loads(res.stdout)
        except subprocess.TimeoutExpired:
            pass
        try:
            return json.loads((self.run_dir / "state.json").read_text())
        except (OSError, ValueError):
            return {}

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

    def beacon(self) -> tango.DeviceProxy:
        return self.device(BEACON_DEVICE)

    def data_redis(self):
        import redis

        return redis.Redis.from_url(self.beacon().read_attribute("DataRedisUrl").value)

    def scan_info(self, key: str) -> dict:
        return json.loads(self.data_redis().get(f"scan:{key}"))
