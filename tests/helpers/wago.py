"""Wago test helpers: a configuration with an emulated coupler, the emulator in its own
process, and Debian's mbpoll as the independent Modbus client that judges both."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from .config_trees import write
from .procs import ServerProcess, free_port, wait_port

#: a Wago with what the beamline has: a valve and a shutter with position switches, a
#: heater relay, two thermocouples, an analog output; plus a second shutter whose
#: switches are wired to nothing (its feedback never comes), a two-channel +-10 V output
WAGO_YAML = """
- name: {name}
  plugin: wago
  modbustcp:
    url: 127.0.0.1:{port}
    timeout: {timeout}
  main_module: 750-352
  cache_period: 0.5
  mapping:
    - type: 750-504
      logical_names: valve_cmd, shutter_cmd, heater, shutter2_cmd
    - type: 750-408
      logical_names: valve_open, valve_closed, shutter_open, shutter_closed
    - type: 750-469
      logical_names: tc1, tc2
    - type: 750-550
      logical_names: setpoint, setpoint2
    - type: 750-402
      logical_names: shutter2_open, shutter2_closed, spare_in, spare_in
    - type: 750-556
      logical_names: dac, dac
  units: {{tc1: degC, setpoint: V}}
  emulator:
    valves:
      - {{output: valve_cmd, open: valve_open, closed: valve_closed, travel_time: {travel}}}
      - {{output: shutter_cmd, open: shutter_open, closed: shutter_closed, travel_time: 0.05}}
    heaters:
      - {{relay: heater, thermocouples: [tc1], ambient: 22.0, power: 60.0, time_constant: 4.0}}
    inputs: {{tc2: -12.3}}
"""


def write_wago_config(root: Path, name: str = "wago1", port: int | None = None, timeout: float = 1.0,
                      travel: float = 0.5, extra: str = "") -> tuple[Path, int]:
    """A configuration tree at root with one emulated Wago; returns (root, modbus port)."""
    port = port or free_port()
    write(root, "wago/wago.yml", WAGO_YAML.format(name=name, port=port, timeout=timeout, travel=travel) + extra)
    return root, port


class EmulatorProcess(ServerProcess):
    """`wago-emulator CONFIG NAME` in its own process, ready once its port accepts."""

    def __init__(self, config: Path, name: str, port: int, log: Path) -> None:
        self.config, self.name, self.port, self.log = config, name, port, log

    def start(self) -> EmulatorProcess:
        self.launch([sys.executable, "-m", "blisstango.core.wago.emulator", str(self.config), self.name])
        self.wait_ready(lambda: _accepts(self.port), f"wago emulator {self.name}", timeout=30)
        return self


def _accepts(port: int) -> bool:
    try:
        wait_port(port, timeout=0.2)
        return True
    except TimeoutError:
        return False


MBPOLL_TABLES = {"coils": "0", "discrete_inputs": "1", "input_registers": "3", "holding_registers": "4"}


def mbpoll(port: int, table: str, address: int, count: int = 1) -> list[int]:
    """Read with Debian's mbpoll (zero-based addresses): one int per coil or register."""
    exe = shutil.which("mbpoll")
    assert exe, "mbpoll is missing: scripts/install-system-deps installs it"
    out = subprocess.run([exe, "-m", "tcp", "-p", str(port), "-0", "-1", "-o", "5", "-t", MBPOLL_TABLES[table],
                          "-r", str(address), "-c", str(count), "127.0.0.1"],
                         capture_output=True, text=True, timeout=30)
    values = [int(v) for v in re.findall(r"^\[\d+\]:\s+(-?\d+)", out.stdout, re.M)]
    assert out.returncode == 0 and len(values) == count, f"mbpoll failed: {out.stdout}\n{out.stderr}"
    return values


def mbpoll_refused(port: int, table: str, address: int) -> str:
    """mbpoll's output for a read the device refuses (the test asserts on it)."""
    out = subprocess.run(["mbpoll", "-m", "tcp", "-p", str(port), "-0", "-1", "-o", "5", "-t",
                          MBPOLL_TABLES[table], "-r", str(address), "-c", "1", "127.0.0.1"],
                         capture_output=True, text=True, timeout=30)
    return out.stdout + out.stderr


#: what the server tests add to WAGO_YAML: a valve and two shutters on wago1 (shutter2's
#: switches are wired to nothing), and a second Wago whose coupler has a 750-478 where its
#: mapping names a 750-469, served by the same server process
ACTUATORS_YAML = """
- name: valve1
  plugin: wago
  class: WagoValve
  wago: $wago1
  command: valve_cmd
  open: valve_open
  closed: valve_closed
  timeout: 5
- name: shutter1
  plugin: wago
  class: WagoShutter
  wago: $wago1
  command: shutter_cmd
  open: shutter_open
  closed: shutter_closed
  timeout: 5
- name: shutter2
  plugin: wago
  class: WagoShutter
  wago: $wago1
  command: shutter2_cmd
  open: shutter2_open
  closed: shutter2_closed
  timeout: 1
- name: wago_bad
  plugin: wago
  tango: {server: wago1}
  modbustcp: {url: 127.0.0.1:1}
  main_module: 750-352
  mapping:
    - type: 750-504
      logical_names: a, b, c, d
    - type: 750-469
      logical_names: t1, t2
  emulator:
    plugged: [750-504, 750-478]
"""


def write_server_config(root: Path, polling: float = 0.2, travel: float = 0.5) -> Path:
    """A tree with domain `t15`, wago1 (emulated, polled every `polling` s), its valve and
    shutters, and wago_bad."""
    write(root, "__init__.yml", "tango:\n  domain: t15\n")
    write_wago_config(root, travel=travel, extra=ACTUATORS_YAML.replace("\n", "\n", 1))
    path = root / "wago" / "wago.yml"
    path.write_text(path.read_text().replace("  cache_period: 0.5\n", f"  cache_period: 0.5\n  polling_time: {polling}\n"))
    return root


def emulator_address(stack, name: str = "wago1") -> tuple[str, int]:
    """Where the emulator of `name` listens: what it announced in the Beacon settings."""
    import redis

    from blisstango.core.beacon.settings import object_settings

    url = stack.beacon().read_attribute("SettingsRedisUrl").value
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        host, port = object_settings(name, redis_client=client)["emulator_url"].rsplit(":", 1)
    finally:
        client.close()
    return host, int(port)


def wago_stack(workdir: Path, config: Path, ready: dict[str, tuple], timeout: float = 90.0):
    """`blisstango up` of config on a free port: ready once each device of `ready`
    ({device: accepted states}) answers in one of its states. Returns the stack
    (`.down()` at the end)."""
    import time

    import tango

    from helpers.demo_stack import DemoStack, blisstango

    stack = DemoStack(workdir, config)
    blisstango("up", str(stack.config), "--detach", "--port", str(stack.port), "--run-dir", str(stack.run_dir))
    try:
        deadline = time.monotonic() + timeout
        for name, states in ready.items():
            dev = stack.device(name, timeout_ms=3000)
            while True:
                try:
                    if dev.state() in states:
                        break
                    last = f"{name} is {dev.state()}: {dev.status()}"
                except tango.DevFailed as exc:
                    last = f"{name}: {exc.args[0].desc.strip()}"
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{last}\n{stack.log('Wago_wago1')}")
                time.sleep(0.2)
        stack._pids = stack.all_pids()
    except BaseException:
        stack.down()
        raise
    return stack
