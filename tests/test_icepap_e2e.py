"""An IcePAP beamline through Tango: `blisstango up` runs the makers' IcePAP simulator
(sinstruments) on a free port it announces in Beacon, BeaconDB, an AxisManager serving
the IcePAP axes beside a Mockup axis, the ScanServer and the NexusWriter; clients go
through TANGO_HOST only, judged by a bare socket asking the simulator itself."""

import json
import os
import signal
import time

import h5py
import numpy as np
import pytest
import redis
import tango
from helpers.config_trees import write
from helpers.demo_stack import DemoStack
from helpers.instruments import RawClient
from helpers.nexus import wait_complete
from helpers.waiting import wait_until

from blisstango.core.motion.profile import trapezoid

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

TREE = {
    "__init__.yml": "tango: {domain: demo}\n",
    "instruments/ice.yml": """\
        - name: ice1
          plugin: emotion
          class: IcePAP
          tcp: {url: iceid299:5000, timeout: 0.5}     # not there: the simulator serves it
          simulator:
            axes: [{address: 2, status: 0x00A43203}]  # tth sits on its positive limit switch
          tango: {server: demo}
          axes:
            - {name: th, address: 1, unit: deg, steps_per_unit: 1000, velocity: 2.0,
               acceleration: 20.0, velocity_high_limit: 8.0}
            - {name: tth, address: 2, unit: deg, steps_per_unit: 1000, velocity: 1.0,
               acceleration: 10.0}
        """,
    "motors/mock.yml": """\
        - name: mock1
          plugin: emotion
          class: Mockup
          tango: {server: demo}
          axes:
            - {name: m0, unit: mm, steps_per_unit: 1000, velocity: 5.0, acceleration: 50.0}
        """,
    "counters/sim.yml": """\
        - name: det_th
          plugin: counters
          class: SimulationCounter
          axis: $th
          curve: gaussian
          center: 0.5
          fwhm: 0.4
          height: 1000.0
          background: 10.0
        """,
    "sessions/demo.yml": """\
        - name: demo
          plugin: session
          config-objects: [th, tth, m0, det_th]
        """,
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    work = tmp_path_factory.mktemp("icepap_e2e")
    for rel, text in TREE.items():
        write(work / "tree", rel, text)
    s = DemoStack(work, work / "tree")
    try:
        s.up()
        settings = redis.Redis.from_url(s.beacon().read_attribute("SettingsRedisUrl").value)
        url = json.loads(settings.hget("settings:ice1", "simulator_url"))
        s.sim_port = int(url.rsplit(":", 1)[1])
        yield s
    finally:
        s.down()


@pytest.fixture
def raw(stack):
    client = RawClient(stack.sim_port)
    yield client
    client.close()


def events(dev, attr):
    seen = []
    eid = dev.subscribe_event(attr, tango.EventType.CHANGE_EVENT,
                              lambda e: None if e.err else seen.append(e.attr_value.value))
    return seen, lambda: dev.unsubscribe_event(eid)


def wait_state(dev, states, timeout=20.0):
    wait_until(lambda: dev.state() in states, timeout, f"{dev.name()} in {states}")


def test_the_simulator_runs_on_a_free_port_it_announced(stack, raw):
    assert stack.sim_port != 5000
    assert raw.ask("?VER").startswith("?VER") and "simulator/ice1" in {p["name"] for p in stack.status()["processes"]}


def test_th_moves_through_tango_as_the_simulator_says(stack, raw):
    th = stack.device("demo/axis/th")
    raw.ask("#POS 1 0")
    states, unsubscribe = events(th, "State")
    try:
        t0 = time.monotonic()
        th.write_attribute("Position", 2.0)  # 2 deg at 2 deg/s, 20 deg/s2: 1.1 s
        time.sleep(0.5)
        midway = int(raw.value("?FPOS 1"))
        wait_state(th, [tango.DevState.ON])
        took = time.monotonic() - t0
    finally:
        unsubscribe()
    assert 0 < midway < 2000
    assert took >= trapezoid(0, 0, 2000, 2000, 20000).end_time * 0.98
    assert int(raw.value("?FPOS 1")) == 2000 and th.read_attribute("Position").value == 2.0
    assert tango.DevState.MOVING in states and states[-1] == tango.DevState.ON
    assert th.read_attribute("Velocity").value == 2.0 and float(raw.value("?VELOCITY 1")) == 2000


def test_stop_through_tango(stack, raw):
    th = stack.device("demo/axis/th")
    start = th.read_attribute("Position").value
    th.write_attribute("Position", start + 30)
    time.sleep(0.6)
    th.Stop()
    wait_state(th, [tango.DevState.ON])
    pos = th.read_attribute("Position").value
    assert start < pos < start + 30
    assert int(raw.value("?FPOS 1")) == round(pos * 1000)


def test_a_limit_switch_shows_as_alarm_and_refuses_moving_further(stack):
    tth = stack.device("demo/axis/tth")
    assert tth.state() == tango.DevState.ALARM and "Hardware high limit active" in tth.status()
    with pytest.raises(tango.DevFailed) as info:
        tth.write_attribute("Position", tth.read_attribute("Position").value + 1)
    assert "tth: on the positive hardware limit" in info.value.args[0].desc


def test_a_velocity_above_the_maximum_is_refused_and_nothing_changes(stack, raw):
    th = stack.device("demo/axis/th")
    with pytest.raises(tango.DevFailed) as info:
        th.write_attribute("Velocity", 9.0)
    assert "th: velocity 9 deg/s (9000 steps/s) is above velocity_high_limit 8 deg/s" in info.value.args[0].desc
    assert th.read_attribute("Velocity").value == 2.0 and float(raw.value("?VELOCITY 1")) == 2000


def test_an_ascan_over_th_writes_the_simulators_positions(stack, raw):
    scan = stack.device("demo/scan/demo", timeout_ms=120000)
    n = scan.ascan(["th", "0", "1", "5", "0", "det_th"])
    assert scan.WaitScan(60)
    info = json.loads(scan.ScanInfo)
    entry = f"{n}.1"
    wait_complete(info["filename"], entry, timeout=60)
    with h5py.File(info["filename"], "r", locking=False) as f:
        th = f[entry]["measurement"]["th"][()]
        det = f[entry]["measurement"]["det_th"][()]
    np.testing.assert_allclose(th, np.linspace(0, 1, 6), atol=1e-3)
    assert int(raw.value("?FPOS 1")) == round(th[-1] * 1000)  # where the simulator is now
    assert abs(th[det.argmax()] - 0.5) == pytest.approx(0.1, abs=2e-3)  # its peak at 0.5 deg: 0.4 or 0.6


def test_a_silent_simulator_fails_th_clearly_and_holds_up_nothing_else(stack):
    th, m0 = stack.device("demo/axis/th"), stack.device("demo/axis/m0")
    pid = stack.pid("simulator/ice1")
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        with pytest.raises(tango.DevFailed) as info:
            th.read_attribute("Position")
        desc = info.value.args[0].desc
        assert f"ice1: sending '?FPOS 1' to tcp 127.0.0.1:{stack.sim_port}: no answer within 0.5 s" in desc
        assert time.monotonic() - t0 < 2.5
        start = m0.read_attribute("Position").value  # the Mockup axis of the same server answers
        m0.write_attribute("Position", start + 0.5)
        wait_state(m0, [tango.DevState.ON])
        assert m0.read_attribute("Position").value == pytest.approx(start + 0.5)
        assert th.state() == tango.DevState.FAULT and f"127.0.0.1:{stack.sim_port}" in th.status()
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_state(th, [tango.DevState.ON])


def test_the_simulator_killed_during_a_move(stack, raw):
    th = stack.device("demo/axis/th")
    states, unsub_state = events(th, "State")
    statuses, unsub_status = events(th, "Status")
    try:
        th.write_attribute("Position", th.read_attribute("Position").value + 20)
        time.sleep(0.4)
        os.kill(stack.pid("simulator/ice1"), signal.SIGKILL)
        wait_until(lambda: tango.DevState.FAULT in states, 10, "th FAULT")
        assert any(f"127.0.0.1:{stack.sim_port}" in s for s in statuses), statuses
        # `blisstango up` restarts the simulator; th comes back by itself (an event, no read)
        wait_until(lambda: states[-1] == tango.DevState.ON, 30, "th ON again")
    finally:
        unsub_state()
        unsub_status()
    fresh = RawClient(stack.sim_port)
    assert th.read_attribute("Position").value == int(fresh.value("?FPOS 1")) / 1000
    assert float(fresh.value("?VELOCITY 1")) == 2000  # the restarted board got its velocity back
    fresh.close()
