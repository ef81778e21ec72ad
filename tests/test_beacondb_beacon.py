"""BeaconDB's embedded Redis: URLs served by the Beacon device, restarted after a crash."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest
import redis
import tango
from helpers.tango_db import BeaconDBProcess

from blisstango.core.beacon import BEACON_DEVICE

pytestmark = pytest.mark.e2e


def test_embedded_redis_urls_and_restart_after_kill(tmp_path):
    db = BeaconDBProcess(tmp_path / "beacondb", extra=[]).start()
    try:
        beacon = tango.DeviceProxy(f"tango://{db.tango_host}/{BEACON_DEVICE}")
        urls = {"settings": beacon.SettingsRedisUrl, "data": beacon.DataRedisUrl}
        assert urls["settings"] != urls["data"]
        for url in urls.values():
            assert redis.Redis.from_url(url).ping()
        settings = redis.Redis.from_url(urls["settings"])
        port = settings.connection_pool.connection_kwargs["port"]
        victim = next(c for c in psutil.Process(db.proc.pid).children(recursive=True)
                      if any(f":{port}" in part for part in c.cmdline()))
        os.kill(victim.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            try:
                if redis.Redis.from_url(urls["settings"]).ping():
                    break
            except redis.ConnectionError:
                pass
            assert time.monotonic() < deadline, "settings Redis not restarted"
            time.sleep(0.2)
        assert beacon.SettingsRedisUrl == urls["settings"]
    finally:
        db.stop()
    assert not [c for c in psutil.process_iter(["cmdline"])
                if any(f":{port}" in part for part in (c.info["cmdline"] or []))
                and "redis-server" in " ".join(c.info["cmdline"] or [])]


def test_who_locked_answers_clients_on_many_threads(tmp_path):
    """omniORB runs commands in several threads: each must reach Redis (a regression:
    one shared gevent socket gave 'Cannot switch to a different thread')."""
    import json
    import subprocess
    import sys

    db = BeaconDBProcess(tmp_path / "beacondb", extra=[]).start()
    try:
        settings = redis.Redis.from_url(
            tango.DeviceProxy(f"tango://{db.tango_host}/{BEACON_DEVICE}").SettingsRedisUrl)
        settings.hset("lock:m0", mapping={"description": "holder of m0"})
        code = ("import json, sys, tango\n"
                f"b = tango.DeviceProxy('tango://{db.tango_host}/{BEACON_DEVICE}')\n"
                "print(json.dumps([json.loads(b.WhoLocked(['m0', 'm1'])) for _ in range(30)]))\n")
        clients = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for _ in range(4)]
        for client in clients:
            out, err = client.communicate(timeout=120)
            assert client.returncode == 0, err[-2000:]
            assert json.loads(out) == [{"m0": "holder of m0"}] * 30
    finally:
        db.stop()
