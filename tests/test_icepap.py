"""The IcePAP controller in this process against the simulator its makers publish
(icepap.simulator through sinstruments, in its own process, started by the command
`blisstango up` runs), judged by a bare socket client asking the simulator itself."""

import time

import gevent
import pytest
from helpers.config_trees import write
from helpers.instruments import RawClient, Simulator, write_icepap
from helpers.motion import forget_settings
from helpers.waiting import wait_until

from blisstango.core.comm import Backoff, CommunicationError
from blisstango.core.config import ConfigError, ObjectFactory, load_tree
from blisstango.core.motion import Group, LimitError, MotionError
from blisstango.core.motion.icepap import BoardStatus, IcePAPError
from blisstango.core.motion.profile import trapezoid

pytestmark = pytest.mark.e2e

P = "icp_"  # axis names of this module (settings in the shared Redis are theirs alone)
SPU = 1000


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    root = tmp_path_factory.mktemp("icepap")
    port = write_icepap(root / "config", name="icp1", prefix=P, timeout=0.5)
    write(root / "config", "mock.yml", f"""\
        - name: icp_mock
          plugin: emotion
          class: Mockup
          axes:
            - {{name: {P}m0, steps_per_unit: 100, velocity: 5.0, acceleration: 50.0}}
        """)
    s = Simulator(root / "config", "icp1", f"127.0.0.1:{port}", root).start()
    s.port, s.root = port, root / "config"
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def ice(sim, redis_servers):
    """A fresh controller (axes built by the emotion plugin) and a raw client."""
    forget_settings(redis_servers.settings_url, [f"{P}th", f"{P}tth", f"{P}m0"])
    factory = ObjectFactory(load_tree(sim.root))
    ctrl = factory.get("icp1")
    raw = RawClient(sim.port)
    raw.ask("#POS 1 0")  # the simulator keeps positions between tests: start from 0
    try:
        yield ctrl, factory, raw
    finally:
        for ax in ctrl.axes.values():
            if ax.is_moving:
                ax.abort()
        ctrl.finalize()
        raw.close()


def test_position_state_velocity_follow_the_simulator(ice):
    ctrl, _, raw = ice
    th = ctrl.axes[f"{P}th"]
    assert th.position == 0 and "READY" in th.state
    # the axis' velocity and acceleration reached the board (acceleration time = v / a)
    assert float(raw.value("?VELOCITY 1")) == pytest.approx(2.0 * SPU)
    assert float(raw.value("?ACCTIME 1")) == pytest.approx(0.1)
    raw.ask("#POS 1 1234")
    assert th.position == pytest.approx(1.234)
    th.move(1.5)
    assert int(raw.value("?FPOS 1")) == 1500 and th.position == pytest.approx(1.5)
    assert BoardStatus(int(raw.value("?FSTATUS 1"), 16)).ready


def test_a_move_takes_the_time_its_velocity_implies_and_reports_when_it_ends(ice):
    ctrl, _, raw = ice
    th = ctrl.axes[f"{P}th"]
    seen = []
    th.position_changed.append(seen.append)
    t0 = time.monotonic()
    th.move(2.0, wait=False)
    profile = trapezoid(0.0, 0, 2000, 2000, 20000)  # 2 deg at 2 deg/s, 20 deg/s2: 1.1 s
    assert profile.end_time == pytest.approx(1.1)
    gevent.sleep(0.5)
    midway = int(raw.value("?FPOS 1"))  # the simulator itself, halfway through
    assert 0 < midway < 2000 and "MOVING" in th.hw_state()
    th.wait_move()
    took = time.monotonic() - t0
    assert took >= profile.end_time * 0.98  # never faster than the physics
    assert th.position == 2.0 and int(raw.value("?FPOS 1")) == 2000
    assert any(0 < p < 2.0 for p in seen)  # positions were reported while it moved


def test_the_started_motion_carries_its_predicted_end(ice):
    ctrl, _, _ = ice
    th = ctrl.axes[f"{P}th"]
    motion = th.prepare_motion(1.0)
    from blisstango.core.motion import start_motions

    start_motions([motion])
    predicted = motion.expected_end - motion.started_at
    assert predicted == pytest.approx(trapezoid(0, 0, 1000, 2000, 20000).end_time)  # 0.6 s
    th.wait_move()
    assert time.monotonic() >= motion.expected_end - 0.01


def test_stop_decelerates_and_the_board_agrees(ice):
    ctrl, _, raw = ice
    th = ctrl.axes[f"{P}th"]
    th.move(20.0, wait=False)
    gevent.sleep(0.4)
    th.stop()
    stopped = th.position
    assert 0 < stopped < 20 and "READY" in th.state
    assert int(raw.value("?FPOS 1")) == round(stopped * SPU)
    gevent.sleep(0.2)
    assert int(raw.value("?FPOS 1")) == round(stopped * SPU)  # and it stays there
    th.move(stopped + 10, wait=False)
    gevent.sleep(0.2)
    th.abort()
    assert "READY" in th.state and th.position < stopped + 10


def test_a_limit_switch_shows_as_a_limit_state_and_refuses_the_way_out(ice):
    ctrl, _, raw = ice
    tth = ctrl.axes[f"{P}tth"]
    word = raw.value("?FSTATUS 2")
    assert "LIMPOS" in tth.state and BoardStatus(int(word, 16)).limit_pos, (tth.state, word)
    with pytest.raises(LimitError, match=f"{P}tth: on the positive hardware limit"):
        tth.move(tth.position + 0.1)
    tth.move(tth.position - 0.05)  # backing away is allowed (this switch stays stuck)
    board, pos, state = int(raw.value("?FPOS 2")), tth.position, tth.state
    assert board == round(pos * SPU) and "LIMPOS" in state, (board, pos, state)


def test_a_group_move_is_one_command(ice):
    ctrl, factory, raw = ice
    th, tth = ctrl.axes[f"{P}th"], ctrl.axes[f"{P}tth"]
    sent = []
    query = ctrl.link.query
    ctrl.link.query = lambda cmd, **kw: (sent.append(cmd), query(cmd, **kw))[1]
    start = tth.position
    Group(th, tth).move({th: 0.5, tth: start - 0.2})
    moves = [c for c in sent if "MOVE" in c]
    assert moves == [f"#MOVE GROUP 1 500 2 {round((start - 0.2) * SPU)}"]
    assert int(raw.value("?FPOS 1")) == 500 and th.position == 0.5


def test_bad_input_names_controller_value_and_limit_and_changes_nothing(ice, sim):
    ctrl, _, raw = ice
    th = ctrl.axes[f"{P}th"]
    with pytest.raises(MotionError) as info:
        th.velocity = 9.0
    assert str(info.value) == (f"{P}th: velocity 9 deg/s (9000 steps/s) is above velocity_high_limit 8 deg/s: "
                               "8 deg/s on IcePAP icp1")
    assert th.velocity == 2.0 and float(raw.value("?VELOCITY 1")) == 2000
    with pytest.raises(IcePAPError, match=f"{P}th: IcePAP icp1 .*refused '#1:HOME \\+1': Command not recognised"):
        th.home()
    assert not th.is_moving and "READY" in th.state


def test_an_address_the_icepap_does_not_have(sim, redis_servers, tmp_path):
    write(tmp_path, "ice.yml", f"""\
        - name: icp2
          plugin: emotion
          class: IcePAP
          tcp: {{url: 127.0.0.1:{sim.port}}}
          axes:
            - {{name: {P}ok, address: 1}}
            - {{name: {P}ghost, address: 7}}
        """)
    ctrl = ObjectFactory(load_tree(tmp_path)).get("icp2")
    for _ in range(2):  # nothing half-configured: asking again fails again, the same way
        with pytest.raises(IcePAPError) as info:
            ctrl.axes[f"{P}ghost"].position  # noqa: B018
        assert str(info.value) == (f"{P}ghost: IcePAP icp2 (tcp 127.0.0.1:{sim.port}): the IcePAP refused "
                                   "'?FSTATUS 7': Axis 7: Board is not present in the system")
    assert f"{P}ghost" not in ctrl._axes_initialized
    assert "READY" in ctrl.axes[f"{P}ok"].state  # the other axis works
    with pytest.raises(MotionError, match=f"{P}bad: 9 is not an IcePAP driver address"):
        from blisstango.core.motion.icepap import IcePAP

        IcePAP("icp3", {"tcp": {"url": "h:1"}}, axes=[{"name": f"{P}bad", "address": 9}])
    ctrl.finalize()


def test_a_simulator_that_has_not_announced_itself_is_named_once(redis_servers, tmp_path):
    write(tmp_path, "ice.yml", f"""\
        - name: icp6
          plugin: emotion
          class: IcePAP
          tcp: {{url: iceid299:5000}}
          simulator: {{}}
          axes: [{{name: {P}six, address: 1}}]
        """)
    with pytest.raises(ConfigError) as info:
        ObjectFactory(load_tree(tmp_path)).get("icp6")
    assert str(info.value).startswith("ice.yml:1: icp6: its simulator has not said where it is served: "
                                      "`blisstango up` runs it"), str(info.value)


def test_simulator_lost_during_a_move_then_back(tmp_path, redis_servers):
    port = write_icepap(tmp_path / "config", name="icp4", prefix="icp4_", timeout=0.5)
    write(tmp_path / "config", "mock.yml", """\
        - name: icp4_mock
          plugin: emotion
          class: Mockup
          axes: [{name: icp4_m0, steps_per_unit: 100, velocity: 5.0, acceleration: 50.0}]
        """)
    forget_settings(redis_servers.settings_url, ["icp4_th", "icp4_tth", "icp4_m0"])
    sim = Simulator(tmp_path / "config", "icp4", f"127.0.0.1:{port}", tmp_path).start()
    ctrl = None
    try:
        factory = ObjectFactory(load_tree(tmp_path / "config"))
        ctrl = factory.get("icp4")
        ctrl.link.backoff = Backoff(first=0.05, longest=0.2)
        th, m0 = ctrl.axes["icp4_th"], factory.get("icp4_m0")
        states = []
        th.state_changed.append(lambda st: states.append(st.copy()))
        th.move(10.0, wait=False)
        gevent.sleep(0.3)
        sim.kill()
        with pytest.raises(CommunicationError) as info:
            th.wait_move(timeout=5)
        text = str(info.value)  # the monitor's state or position read, whichever met the loss
        assert text.startswith("icp4: sending '?F") and f"' to tcp 127.0.0.1:{port}: " in text
        assert "FAULT" in states[-1] and f"127.0.0.1:{port}" in states[-1].describe("FAULT")
        with pytest.raises(CommunicationError, match=f"127.0.0.1:{port}"):
            th.position  # noqa: B018
        m0.move(m0.position + 0.5)  # the Mockup in the same process is not held up
        sim.start()
        wait_until(lambda: "READY" in states[-1], 10, "th back to READY by itself")
        assert th.position == 0  # a restarted simulator starts from 0, as a rebooted board would
        assert float(RawClient(port).value("?VELOCITY 1")) == 2000  # velocity given again
        th.move(0.2)
    finally:
        if ctrl is not None:
            ctrl.finalize()
        sim.stop()


def test_a_silent_simulator_holds_up_only_its_own_axes(tmp_path, redis_servers):
    import os
    import signal

    port = write_icepap(tmp_path / "config", name="icp5", prefix="icp5_", timeout=0.5)
    write(tmp_path / "config", "mock.yml", """\
        - name: icp5_mock
          plugin: emotion
          class: Mockup
          axes: [{name: icp5_m0, steps_per_unit: 100, velocity: 5.0, acceleration: 50.0}]
        """)
    forget_settings(redis_servers.settings_url, ["icp5_th", "icp5_tth", "icp5_m0"])
    sim = Simulator(tmp_path / "config", "icp5", f"127.0.0.1:{port}", tmp_path).start()
    factory = ObjectFactory(load_tree(tmp_path / "config"))
    try:
        th, m0 = factory.get("icp5_th"), factory.get("icp5_m0")
        assert th.position == 0  # connected
        os.kill(sim.proc.pid, signal.SIGSTOP)
        reader = gevent.spawn(lambda: th.position)
        reads = 0
        t0 = time.monotonic()
        while not reader.ready():
            assert m0.position == 0
            reads += 1
            gevent.sleep(0.01)
        assert isinstance(reader.exception, CommunicationError)
        assert "no answer within 0.5 s" in str(reader.exception) and f"127.0.0.1:{port}" in str(reader.exception)
        assert time.monotonic() - t0 >= 0.5 and reads >= 3  # blocked, it would have read once at most
    finally:
        os.kill(sim.proc.pid, signal.SIGCONT)
        sim.stop()

