"""The Cryo-con controller in this process, over TCP and over a serial pseudo-terminal,
against the makers' simulator (cryocon.simulator through sinstruments, started by the
command `blisstango up` runs) and against it on a thermal load (ThermalCryoCon, the
makers' class with a cryostat behind it), judged by a bare client asking the simulator."""

import socket

import numpy as np
import pytest
from helpers.config_trees import write
from helpers.instruments import Simulator, SinstrumentsServer
from helpers.motion import forget_settings
from helpers.procs import free_port

from blisstango.core.config import ConfigError, ObjectFactory, load_tree
from blisstango.core.regulation.errors import RegulationError

pytestmark = pytest.mark.e2e

MAKERS = "class: CryoCon, package: cryocon.simulator, loops: {1: {source: A}, 2: {}}"
SIM_TEMPS = {11.456, 12.456, 13.456, 14.456}  # what the makers' simulator answers (or a fault)

CRYO_YAML = """\
- name: {name}
  plugin: regulation
  class: CryoCon
  {link}
  simulator: {{url: "{sim_url}", {sim}}}
  inputs:
    - {{name: {name}_a, channel: A, unit: K}}
  outputs:
    - {{name: {name}_heater, channel: 1, unit: "%", range: HI}}
  ctrl_loops:
    - name: {name}_loop
      input: ${name}_a
      output: ${name}_heater
      P: 10.0
      I: 2.0
      D: 0.0
      ramprate: 0.5             # K/s: 30 K/min on the instrument
      deadband: 0.3
      deadband_time: 0.5
      wait_mode: deadband
      setpoint_low_limit: 70.0
      setpoint_high_limit: 200.0
"""


class RawTcp:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.file = self.sock.makefile("rb")

    def ask(self, line):
        self.sock.sendall(line.encode() + b"\n")
        return self.file.readline().decode().strip()

    def close(self):
        self.file.close()
        self.sock.close()


def cryo(root, tmp, name, transport, sim):
    """(factory, simulator process, raw client) for a Cryo-con `name` on `transport`: on
    TCP the simulator is run by `blisstango simulate`; a serial line has one client, so
    there the simulated instrument also gets a TCP door for the judge."""
    from blisstango.core.comm.simulators import simulator_device

    if transport == "tcp":
        port = free_port()
        sim_url, link = f"127.0.0.1:{port}", "tcp: {url: cryocon9:5000, timeout: 1.0}"
    else:
        sim_url, link = str(tmp / f"{name}.pty"), "serial: {url: /dev/ttyS_none, baudrate: 9600, timeout: 1.0}"
    write(root, f"{name}.yml", CRYO_YAML.format(name=name, link=link, sim_url=sim_url, sim=sim))
    tree = load_tree(root)
    if transport == "tcp":
        proc = Simulator(root, name, sim_url, tmp).start()
    else:
        port = free_port()
        device = simulator_device(name, tree[name].to_dict(), sim_url)
        device["transports"].append({"type": "tcp", "url": f"127.0.0.1:{port}"})
        proc = SinstrumentsServer([device], tmp).start()
    try:
        return ObjectFactory(tree), proc, RawTcp(port)
    except BaseException:
        proc.stop()
        raise


@pytest.fixture(params=["tcp", "serial"])
def makers(request, tmp_path, redis_servers):
    name = f"cm_{request.param}"
    forget_settings(redis_servers.settings_url, [f"{name}_loop", f"{name}_a", f"{name}_heater"])
    factory, proc, raw = cryo(tmp_path / "config", tmp_path, name, request.param, MAKERS)
    try:
        yield name, factory, raw
    finally:
        raw.close()
        proc.stop()


@pytest.fixture(params=["tcp", "serial"])
def thermal(request, tmp_path, redis_servers):
    name = f"ct_{request.param}"
    forget_settings(redis_servers.settings_url, [f"{name}_loop", f"{name}_a", f"{name}_heater"])
    factory, proc, raw = cryo(tmp_path / "config", tmp_path, name, request.param, "plant: {noise: 0.002}")
    try:
        yield name, factory, raw
    finally:
        raw.close()
        proc.stop()


def test_setpoint_and_ramp_reach_the_makers_simulator(makers):
    name, factory, raw = makers
    loop = factory.get(f"{name}_loop")
    assert factory.get(name).identity.startswith("Cryo-con,24C")
    assert raw.ask("LOOP 1:SOURCE?") == "A" and raw.ask("LOOP 1:RANGE?") == "HI"  # sent at build
    assert raw.ask("LOOP 1:TYPE?") == "OFF"  # built safe: not regulating
    assert loop.state == "OFF"
    loop.ramprate = 0.25
    assert float(raw.ask("LOOP 1:RATE?")) == pytest.approx(15.0)  # per minute on the instrument
    for _ in range(20):  # a setpoint ramps from the input: the makers' one answers a fault 1 time in 3
        try:
            loop.setpoint = 95.5
            break
        except RegulationError as exc:
            assert f"{name}_loop: cannot start: input {name}_a does not answer" in str(exc)
            assert "input A reads '" in str(exc)
    assert float(raw.ask("LOOP 1:SETPT?")) == 95.5
    assert raw.ask("LOOP 1:TYPE?") == "RAMPP" and raw.ask("CONTROL?") == "ON"
    loop.stop_regulation()
    assert raw.ask("LOOP 1:TYPE?") == "OFF"


def test_the_input_reads_the_makers_simulators_temperature(makers):
    name, factory, _ = makers
    tinput = factory.get(f"{name}_a")
    seen, faults = set(), []
    for _ in range(12):
        try:
            seen.add(tinput.read())
        except RegulationError as exc:  # the makers' simulator answers a fault 1 time in 3
            faults.append(str(exc))
    assert seen and seen <= SIM_TEMPS
    for text in faults:
        assert text.startswith(f"{name}_a: Cryo-con {name} (") and "input A reads" in text
        assert "'-------': sensor open or shorted" in text or "'.......': outside the sensor's calibration" in text
    # the makers' simulator has no PID access: the gains are left alone, the loop works on
    loop = factory.get(f"{name}_loop")
    loop.kp = 3.0
    assert loop.kp == 3.0


def test_a_temperature_scan_over_the_loop_axis(thermal, scan_context):
    from blisstango.core.scanning import scans

    name, factory, raw = thermal
    loop = factory.get(f"{name}_loop")
    axis = loop.axis
    assert axis.unit == "K" and axis.limits == (70.0, 200.0)
    start = float(raw.ask("INPUT? A"))
    assert start == pytest.approx(80.0, abs=0.1)  # the cold stage, heater off
    assert float(raw.ask("LOOP 1:PGAIN?")) == 10.0  # PID gains reach this one
    scan = scans.ascan(axis, 81.0, 82.0, 2, 0.0, *loop.counters, save=False)
    recorded = scan.get_data(f"{name}_a:{name}_a")
    assert len(recorded) == 3
    assert np.all(np.abs(recorded - np.array([81.0, 81.5, 82.0])) <= loop.deadband), recorded
    assert float(raw.ask("LOOP 1:SETPT?")) == 82.0 and raw.ask("LOOP 1:TYPE?") == "RAMPP"
    assert abs(float(raw.ask("INPUT? A")) - 82.0) <= 0.3 and float(raw.ask("LOOP 1:OUTPWR?")) > 0
    loop.stop_regulation()
    assert raw.ask("LOOP 1:TYPE?") == "OFF" and float(raw.ask("LOOP 1:OUTPWR?")) == 0.0


def test_bad_configuration_names_the_controller_the_value_and_what_is_allowed(tmp_path, redis_servers):
    port = free_port()
    cases = {
        "serial: {url: /dev/ttyS_none_here, baudrate: 9600}":
            "cryo_bad: Cryo-con cryo_bad (serial /dev/ttyS_none_here): cryo_bad: sending '*IDN?' to serial "
            "/dev/ttyS_none_here: cannot connect: no such device",
        "serial: {url: /dev/ttyS0, baudrate: fast}": "cryo_bad: serial /dev/ttyS0: baudrate 'fast' is not a number",
        f"tcp: {{url: 127.0.0.1:{port}, timeout: 0.3}}": f"cryo_bad: sending '*IDN?' to tcp 127.0.0.1:{port}: "
                                                          "cannot connect: connection refused",
    }
    for link, message in cases.items():
        write(tmp_path, "bad.yml", f"""\
            - name: cryo_bad
              plugin: regulation
              class: CryoCon
              {link}
              inputs: [{{name: cryo_bad_a, channel: A}}]
            """)
        factory = ObjectFactory(load_tree(tmp_path))
        with pytest.raises(ConfigError) as info:
            factory.get("cryo_bad_a")
        assert message in str(info.value), str(info.value)
        assert "bad.yml:1" in str(info.value)
    write(tmp_path, "bad.yml", """\
        - name: cryo_bad
          plugin: regulation
          class: CryoCon
          tcp: {url: "127.0.0.1:1"}
          outputs: [{name: cryo_bad_h, channel: 5}]
        """)
    with pytest.raises(ConfigError, match=r"cryo_bad_h: Cryo-con cryo_bad output channel 5 is not a loop number \(1, 2, 3, 4\)"):
        ObjectFactory(load_tree(tmp_path)).get("cryo_bad")


def test_a_host_that_does_not_answer(tmp_path, redis_servers):
    with socket.socket() as silent:  # accepts connections (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(2)
        port = silent.getsockname()[1]
        write(tmp_path, "c.yml", f"""\
            - name: cryo_mute
              plugin: regulation
              class: CryoCon
              tcp: {{url: "127.0.0.1:{port}", timeout: 0.3}}
            """)
        with pytest.raises(ConfigError) as info:
            ObjectFactory(load_tree(tmp_path)).get("cryo_mute")
    assert f"cryo_mute: sending '*IDN?' to tcp 127.0.0.1:{port}: no answer within 0.3 s" in str(info.value)
