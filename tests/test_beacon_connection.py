"""Finding Redis through the real Beacon device (BeaconDB with its embedded Redis)."""

import os
import signal
import time
import uuid

import pytest
import tango
from helpers.beacon_child import BeaconChild
from helpers.procs import pid_alive
from helpers.tango_db import BeaconDBProcess

from blisstango.core.beacon import BEACON_DEVICE, connection

pytestmark = pytest.mark.e2e


@pytest.fixture
def beacon_with_redis(tmp_path):
    """BeaconDB running its own embedded Redis (a RedisSupervisor in its process)."""
    db = BeaconDBProcess(tmp_path / "beacondb", extra=[]).start()
    try:
        yield db
    finally:
        db.stop()


def _redis_pids(db: BeaconDBProcess) -> dict[str, int]:
    return {f.stem: int(f.read_text()) for f in (db.workdir / "run").rglob("*.pid")
            if f.parent.name == "redis"}


def test_processes_find_redis_through_tango_host(beacon_with_redis):
    db = beacon_with_redis
    env = {"TANGO_HOST": db.tango_host,
           connection.ENV_VARS["settings"]: None, connection.ENV_VARS["data"]: None}
    beacon = tango.DeviceProxy(f"tango://{db.tango_host}/{BEACON_DEVICE}")
    settings_url = beacon.read_attribute("SettingsRedisUrl").value
    assert settings_url.startswith("redis://")
    key = f"settings:m{uuid.uuid4().hex[:6]}"
    a, b = BeaconChild(env), BeaconChild(env)
    try:
        assert a.call("get_url", kind="settings") == settings_url
        assert b.call("get_url", kind="data") == beacon.read_attribute("DataRedisUrl").value
        a.call("setting_set", key=key, field="offset", value=-0.25)
        assert b.call("setting_get", key=key, field="offset") == -0.25
    finally:
        a.exit()
        b.exit()


def test_embedded_redis_dies_with_a_killed_beacondb(beacon_with_redis):
    db = beacon_with_redis
    pids = _redis_pids(db)
    assert set(pids) == {"settings", "data"} and all(pid_alive(p) for p in pids.values())
    db.kill()  # SIGKILL: BeaconDB runs no clean-up
    deadline = time.monotonic() + 10
    while any(pid_alive(p) for p in pids.values()):
        assert time.monotonic() < deadline, f"redis {pids} outlived BeaconDB"
        time.sleep(0.1)


def test_beacondb_restarts_its_killed_settings_redis_and_keeps_values(beacon_with_redis):
    db = beacon_with_redis
    env = {"TANGO_HOST": db.tango_host,
           connection.ENV_VARS["settings"]: None, connection.ENV_VARS["data"]: None}
    key = f"settings:m{uuid.uuid4().hex[:6]}"
    with BeaconChild(env) as writer:
        writer.call("setting_set", key=key, field="velocity", value=3)
    old = _redis_pids(db)["settings"]
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while True:
        new = _redis_pids(db).get("settings")
        if new and new != old and pid_alive(new):
            break
        assert time.monotonic() < deadline, "BeaconDB did not restart its settings redis"
        time.sleep(0.1)
    with BeaconChild(env) as reader:
        assert reader.call("setting_get", key=key, field="velocity") == 3
