"""Cryo-con loops through Tango: `blisstango up` serves two Cryo-cons with the makers'
simulator on a thermal load (one on TCP, one on a serial pseudo-terminal) and the
Regulation server drives them; clients go through TANGO_HOST only, judged by a bare
socket asking the TCP simulator, and by the physics for the serial one (its sample only
gets warm if the setpoint reached the instrument)."""

import json
import socket

import pytest
import redis
import tango
from helpers.config_trees import write
from helpers.demo_stack import DemoStack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

CRYO = """\
- name: {name}
  plugin: regulation
  class: CryoCon
  {link}
  simulator: {{plant: {{noise: 0.002}}}}
  tango: {{server: demo}}
  inputs:
    - {{name: {name}_a, channel: A, unit: K}}
  outputs:
    - {{name: {name}_heater, channel: 1, unit: "%", range: HI}}
  ctrl_loops:
    - {{name: {name}_loop, input: ${name}_a, output: ${name}_heater, P: 10.0, I: 2.0, D: 0.0,
       ramprate: 0.5, deadband: 0.3, deadband_time: 0.5, wait_mode: deadband,
       setpoint_low_limit: 70.0, setpoint_high_limit: 200.0}}
"""

TREE = {
    "__init__.yml": "tango: {domain: demo}\n",
    "cryo_tcp.yml": CRYO.format(name="cryot", link="tcp: {url: cryoid299:5000}"),
    "cryo_serial.yml": CRYO.format(name="cryos", link="serial: {url: /dev/ttyS_cryo, baudrate: 9600}"),
    "mock.yml": """\
        - name: mock1
          plugin: emotion
          class: Mockup
          tango: {server: demo}
          axes: [{name: m0, steps_per_unit: 1000, velocity: 5.0, acceleration: 50.0}]
        """,
    "session.yml": """\
        - name: demo
          plugin: session
          config-objects: [m0, cryot_loop, cryot_a, cryos_loop, cryos_a]
        """,
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    work = tmp_path_factory.mktemp("cryocon_e2e")
    for rel, text in TREE.items():
        write(work / "tree", rel, text)
    s = DemoStack(work, work / "tree")
    try:
        s.up()
        settings = redis.Redis.from_url(s.beacon().read_attribute("SettingsRedisUrl").value)
        s.urls = {n: json.loads(settings.hget(f"settings:{n}", "simulator_url")) for n in ("cryot", "cryos")}
        yield s
    finally:
        s.down()


def ask(port, line):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(line.encode() + b"\n")
        return sock.makefile("rb").readline().decode().strip()


def test_the_simulators_run_where_they_announced(stack):
    assert stack.urls["cryos"].endswith(".pty")  # a pseudo-terminal for the serial one
    port = int(stack.urls["cryot"].rsplit(":", 1)[1])
    assert ask(port, "*IDN?").startswith("Cryo-con,24C")
    names = {p["name"]: p["state"] for p in stack.status()["processes"]}
    assert names["simulator/cryot"] == names["simulator/cryos"] == "running"


@pytest.mark.parametrize("name", ["cryot", "cryos"])
def test_a_setpoint_through_tango_reaches_the_instrument_and_the_sample_follows(stack, name):
    loop = stack.device(f"demo/loop/{name}_loop", timeout_ms=20000)
    sample = stack.device(f"demo/input/{name}_a")
    heater = stack.device(f"demo/output/{name}_heater")
    start = sample.value
    assert start == pytest.approx(80.0, abs=0.2) and loop.state() == tango.DevState.OFF
    loop.setpoint = 81.0
    assert loop.command_inout("axis_wait", 60.0), loop.status()
    assert abs(sample.value - 81.0) <= 0.3 and heater.value > 0  # warmed by its own heater
    assert loop.is_regulating and loop.state() == tango.DevState.ON
    if name == "cryot":
        port = int(stack.urls["cryot"].rsplit(":", 1)[1])
        assert float(ask(port, "LOOP 1:SETPT?")) == 81.0 and float(ask(port, "LOOP 1:RATE?")) == 30.0
        assert ask(port, "LOOP 1:TYPE?") == "RAMPP" and ask(port, "CONTROL?") == "ON"
    loop.stop_regulation()
    assert loop.state() == tango.DevState.OFF and heater.value == 0.0


@pytest.mark.parametrize("name", ["cryot", "cryos"])
def test_a_temperature_scan_over_the_loop_axis_through_the_scan_server(stack, name):
    from blisstango.clients.scan_events import RecordFollower

    scan = stack.device("demo/scan/demo", timeout_ms=120000)
    follower = RecordFollower(scan)
    try:
        n = scan.ascan([f"{name}_loop_axis", "80.5", "81.5", "2", "0.1", f"{name}_a"])
        rec = follower.wait_end(n, 180)
    finally:
        follower.close()
    assert rec.end_reason == "SUCCESS", rec.error
    recorded = rec.data[f"{name}_a:{name}_a"]
    assert len(recorded) == 3
    assert all(abs(v - t) <= 0.3 for v, t in zip(recorded, (80.5, 81.0, 81.5))), recorded
    stack.device(f"demo/loop/{name}_loop").stop_regulation()


def test_bad_values_through_tango_name_the_loop_and_the_limit(stack):
    loop = stack.device("demo/loop/cryot_loop")
    with pytest.raises(tango.DevFailed) as info:
        loop.setpoint = 250.0
    assert "cryot_loop: setpoint 250 K is above the high limit 200 K" in info.value.args[0].desc
