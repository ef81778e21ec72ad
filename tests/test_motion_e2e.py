"""AxisManager end to end: BeaconDB as the Tango database, real Redis, the server in its own
process, clients through TANGO_HOST (device aliases = object names)."""

import shutil
import time

import pytest
import tango
from helpers.axis_e2e import axis_stack
from helpers.waiting import wait_until

from blisstango.core.beacon import BEACON_DEVICE
from blisstango.core.beacon.locks import lock
from blisstango.core.config import load_tree

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(demo_config, tmp_path_factory, redis_servers):
    with axis_stack(demo_config, tmp_path_factory.mktemp("axis_e2e"), redis_servers.settings_url) as st:
        yield st


@pytest.fixture(scope="module")
def demo_config():
    from conftest import DEMO_CONFIG

    return DEMO_CONFIG


def wait_ready(dev, timeout=15.0):
    deadline = time.monotonic() + timeout
    while dev.state() == tango.DevState.MOVING:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_move_by_alias_with_events_and_expected_duration(stack):
    server, _ = stack
    assert server.device_name("m0") == "demo/axis/m0"
    m0 = server.proxy("m0")
    positions, states = [], []
    ids = [m0.subscribe_event("Position", tango.EventType.CHANGE_EVENT,
                              lambda e: e.err or positions.append(e.attr_value.value)),
           m0.subscribe_event("State", tango.EventType.CHANGE_EVENT,
                              lambda e: e.err or states.append(e.attr_value.value))]
    time.sleep(0.3)
    start = m0.Position
    positions.clear()
    t0 = time.monotonic()
    m0.Position = start + 5.0  # 5 mm at 5 mm/s, 50 mm/s2: 1.1 s
    wait_ready(m0)
    took = time.monotonic() - t0
    time.sleep(0.3)
    for i in ids:
        m0.unsubscribe_event(i)
    assert 1.1 * 0.95 <= took <= 1.1 + 0.4
    assert len([p for p in positions if p != pytest.approx(start + 5.0)]) >= took / 0.1
    assert positions[-1] == pytest.approx(start + 5.0)
    assert states[-1] == tango.DevState.ON and tango.DevState.MOVING in states


def test_group_of_three_starts_within_20_ms(stack):
    server, _ = stack
    mgr = tango.DeviceProxy(server.manager)
    moving_at = {}
    devs = {n: server.proxy(n) for n in ("m0", "m1", "sl_up")}

    def on_state(name):
        def cb(e):
            if not e.err and e.attr_value.value == tango.DevState.MOVING:
                moving_at.setdefault(name, e.attr_value.time.totime())
        return cb

    ids = [(d, d.subscribe_event("State", tango.EventType.CHANGE_EVENT, on_state(n))) for n, d in devs.items()]
    time.sleep(0.3)
    mgr.GroupMove(["m0", "-2.0", "m1", "30.0", "sl_up", "1.5"])
    assert mgr.GroupStartSkew < 0.020
    for d in devs.values():
        wait_ready(d)
    time.sleep(0.2)
    for d, i in ids:
        d.unsubscribe_event(i)
    assert set(moving_at) == set(devs)
    assert max(moving_at.values()) - min(moving_at.values()) < 0.020  # server-side event stamps
    assert mgr.GroupState(["m0", "m1", "sl_up"]) == "READY"
    assert devs["sl_up"].Position == pytest.approx(1.5)


def test_locked_axis_refused_and_server_stays_up(stack):
    m1 = stack[0].proxy("m1")
    with lock("m1", owner="ScanServer demo: scan 7"):
        with pytest.raises(tango.DevFailed) as exc:
            m1.Position = 1.0
        assert exc.value.args[0].desc == "m1: locked by 'ScanServer demo: scan 7', motion refused"
    m1.ping()
    m1.Position = 1.0
    wait_ready(m1)
    assert m1.Position == pytest.approx(1.0)


def test_restart_keeps_settings_and_position_then_apply_and_write_config(stack):
    server, tree = stack
    m0 = server.proxy("m0")
    m0.Velocity = 2.5
    m0.Limits = [-6.0, 9.0]
    m0.Position = 2.0
    wait_ready(m0)
    m0.SetPosition(3.0)  # offset 1.0
    server.stop()
    server.start()
    m0 = server.proxy("m0")
    assert (m0.Velocity, m0.Position, m0.Dial_position, m0.Offset) == pytest.approx((2.5, 3.0, 2.0, 1.0))
    assert list(m0.Limits) == pytest.approx([-5.0, 10.0])
    m0.SettingsToConfig()
    text = (tree / "motors" / "mockup.yml").read_text()
    assert "# Simulated stepper controller" in text and "# mm/s" in text
    node = load_tree(tree)["m0"]
    assert (node["velocity"], node["low_limit"], node["high_limit"], node["offset"]) == (2.5, -6.0, 9.0, 1.0)
    m0.Velocity = 1.0
    m0.ApplyConfig()
    assert (m0.Velocity, m0.Offset) == (2.5, 1.0)  # the YAML now holds what was written


def test_only_tango_host_devices_config_and_redis_from_beacondb_yaml_untouched(demo_config, tmp_path):
    """BeaconDB serves the YAML tree: the devices come from it, the server finds the tree and
    the settings Redis through the Beacon device, and running axes writes nothing to YAML."""
    import redis
    from helpers.axis_e2e import AxisManagerProcess
    from helpers.tango_db import BeaconDBProcess

    tree = tmp_path / "beamline"
    shutil.copytree(demo_config, tree)
    slits = tree / "motors" / "slits.yml"
    # an explicit attribute property in YAML wins over the derived one, key by key
    text = slits.read_text()
    assert "    - name: sl_vgap\n" in text
    slits.write_text(text.replace("    - name: sl_vgap\n", "    - name: sl_vgap\n      tango:\n"
                                  "        attribute_properties:\n"
                                  "          Position: {label: vertical gap, format: '%.2f'}\n", 1))
    before = {p: p.read_bytes() for p in tree.rglob("*.yml")}
    db = BeaconDBProcess(tmp_path / "db", config=tree, extra=[]).start()
    server = None
    try:
        env = {"TANGO_HOST": db.tango_host, "BLISSTANGO_CONFIG": "",
               "BLISSTANGO_SETTINGS_REDIS": "", "BLISSTANGO_DATA_REDIS": ""}
        server = AxisManagerProcess("demo", env, tmp_path).start()
        m0 = server.proxy("m0")
        # unit, format and alarm range (= YAML limits) served by the database, not written
        conf = m0.get_attribute_config("Position")
        assert (conf.unit, conf.format, conf.label) == ("mm", "%.3f", "m0 position")
        assert (conf.alarms.min_alarm, conf.alarms.max_alarm) == ("-10.0", "10.0")
        assert m0.get_attribute_config("Velocity").unit == "mm/s"
        gap = server.proxy("sl_vgap").get_attribute_config("Position")
        assert (gap.unit, gap.format, gap.label) == ("mm", "%.2f", "vertical gap")
        m0.Velocity = 3.0
        m0.Limits = [-5.0, 5.0]
        m0.Position = 1.0
        wait_ready(m0)
        assert m0.Position == pytest.approx(1.0)
        server.proxy("sl_vgap").Position = 2.0
        wait_ready(server.proxy("sl_up"))
        assert server.proxy("sl_up").Position == pytest.approx(1.0)
        url = tango.DeviceProxy(f"tango://{db.tango_host}/{BEACON_DEVICE}").SettingsRedisUrl
        assert redis.Redis.from_url(url).hget("settings:m0", "velocity") is not None
        assert {p: p.read_bytes() for p in tree.rglob("*.yml")} == before
    finally:
        if server is not None:
            server.stop()
        db.stop()


def test_axis_manager_serves_a_tango_axis_on_the_cpp_tangotest(demo_config, tmp_path, redis_servers):
    """The legacy path end to end: an AxisManager device whose axis is TangoTest's ampli."""
    from helpers.axis_e2e import AxisManagerProcess, register_axis_devices
    from helpers.tango_db import BeaconDBProcess
    from helpers.tangotest import TangoTestNoDb

    tt = TangoTestNoDb("legacy", tmp_path / "tangotest.log").start()
    tree = tmp_path / "beamline"
    shutil.copytree(demo_config, tree)
    (tree / "motors" / "legacy.yml").write_text(
        "# a C++ device driven as an axis\n- name: legacyctrl\n  class: TangoAxis\n  tango:\n"
        "    server: legacy\n  axes:\n    - name: tamp\n"
        f"      tango_name: {tt.access}\n      attribute: ampli\n      unit: V\n"
        "      low_limit: 0.0\n      high_limit: 20.0\n")
    db = BeaconDBProcess(tmp_path / "db").start()
    server = None
    try:
        register_axis_devices(db.tango_host, tree)
        env = {"TANGO_HOST": db.tango_host, "BLISSTANGO_CONFIG": str(tree),
               "BLISSTANGO_SETTINGS_REDIS": redis_servers.settings_url}
        server = AxisManagerProcess("legacy", env, tmp_path).start()
        tamp = server.proxy("tamp")
        tamp.Position = 7.5
        wait_ready(tamp)
        assert tamp.Position == pytest.approx(7.5)
        assert tango.DeviceProxy(tt.access).ampli == pytest.approx(7.5)
        with pytest.raises(tango.DevFailed, match="tamp: 25.0 is above the high limit 20.0"):
            tamp.Position = 25.0
        assert tamp.get_attribute_config("Position").unit == "V"
    finally:
        if server is not None:
            server.stop()
        db.stop()
        tt.stop()


def test_remote_axes_for_another_process_with_a_lock_owner(stack):
    """What a ScanServer does: lock axes, drive them through the AxisManager, one start.
    The remote axes are the one remote axis (AxisProxy, AxisProtocol), as the session
    resolver builds them."""
    from blisstango.core.motion import LimitError, MotionError
    from blisstango.core.motion.axis_proxy import AxisProxy
    from blisstango.core.motion.protocol import is_axis
    from blisstango.core.motion.together import move_together

    server, _ = stack
    owner = "ScanServer demo: scan 42"

    def remote(name: str) -> AxisProxy:
        return AxisProxy(name, f"tango://{server.tango_host}/{server.device_name(name)}", server.manager)

    plain = {n: remote(n) for n in ("m0", "m1")}
    mine = {n: remote(n) for n in ("m0", "m1")}
    for ax in mine.values():
        ax.owner = owner
    assert all(is_axis(ax) for ax in mine.values())
    start = {n: plain[n].position for n in ("m0", "m1")}
    with lock("m0", "m1", owner=owner):
        with pytest.raises(MotionError, match=f"m0: locked by '{owner}', motion refused"):
            move_together([(plain["m0"], start["m0"] + 1.0), (plain["m1"], start["m1"] + 1.0)])
        for ax in move_together([(mine["m0"], start["m0"] + 1.0), (mine["m1"], start["m1"] - 2.0)], owner=owner):
            ax.wait_move()
    assert (mine["m0"].position, mine["m1"].position) == pytest.approx((start["m0"] + 1.0, start["m1"] - 2.0))
    assert mine["m0"].limits == tuple(server.proxy("m0").Limits)  # the server's, applied by the server
    # limits changed by another client reach the proxy through the server's events: a
    # scan's preflight checks them without a round trip, and sees the change
    lo, hi = mine["m0"].limits
    plain["m0"].limits = (lo, hi - 1.0)
    def limits_from_events():  # queued events applied, no read
        mine["m0"]._pull()
        return mine["m0"]._limits

    wait_until(lambda: limits_from_events() == (lo, hi - 1.0), 30, "the Limits event of m0")
    with pytest.raises(LimitError, match=f"m0: {hi - 0.5:g} is above the high limit {hi - 1.0:g}"):
        mine["m0"].check_limits(hi - 0.5)
    plain["m0"].limits = (lo, hi)
    assert plain["m0"].limits == (lo, hi)  # its own write: read until its event comes
    assert tango.DeviceProxy(server.manager).GroupStartSkew < 0.020
    with pytest.raises(MotionError, match="m0: 12.5 is above the high limit"):
        mine["m0"].move(12.5)
    for ax in [*plain.values(), *mine.values()]:
        ax.close()
