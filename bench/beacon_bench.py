"""Benchmark core/beacon against raw redis-py on the same servers; prints JSON.

    .venv/bin/python bench/beacon_bench.py [--n 2000]

Median per-operation latency (µs) of settings, locks and channels, each with the raw
redis-py commands doing the least equivalent work as the peer (ratio = ours / raw);
cross-process channel round trip (ms); and recovery times after kill -9: settings
Redis (until a read succeeds again) and a lock holder (until the lock is free).
"""

from __future__ import annotations

from blisstango.core import green

green.patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers.beacon_child import BeaconChild  # noqa: E402

from blisstango.core.beacon import connection  # noqa: E402
from blisstango.core.beacon.channels import Channel  # noqa: E402
from blisstango.core.beacon.locks import lock  # noqa: E402
from blisstango.core.beacon.redis_server import RedisSupervisor  # noqa: E402
from blisstango.core.beacon.settings import object_settings  # noqa: E402


def median_us(fn, n: int) -> float:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return round(statistics.median(samples) * 1e6, 1)


def pair(name: str, ours: float, raw: float) -> dict:
    return {f"{name}_us": ours, f"{name}_raw_us": raw, f"{name}_ratio": round(ours / raw, 2)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=2000)
    n = p.parse_args().n
    out: dict = {}
    with tempfile.TemporaryDirectory() as run, RedisSupervisor(run) as sup:
        env = {connection.ENV_VARS["settings"]: sup.settings_url,
               connection.ENV_VARS["data"]: sup.data_url}
        connection.configure(sup.settings_url, sup.data_url)
        raw = connection.get_redis("settings", decode_responses=True)

        h = object_settings("bench", defaults={"velocity": 1.0})
        i = iter(range(10**9))
        out.update(pair("setting_set_get",
                        median_us(lambda: (h.__setitem__("velocity", next(i) * 0.5),
                                           h["velocity"]), n),
                        median_us(lambda: (raw.hset("settings:raw", "velocity", next(i)),
                                           raw.hget("settings:raw", "velocity")), n)))

        def ours_lock():
            with lock("b0", "b1", "b2", owner="bench"):
                pass

        def raw_lock():
            for k in ("lock:r0", "lock:r1", "lock:r2"):
                raw.set(k, "bench", nx=True, px=3000)
            raw.delete("lock:r0", "lock:r1", "lock:r2")
        out.update(pair("lock3_acquire_release", median_us(ours_lock, n),
                        median_us(raw_lock, n)))

        ch = Channel("bench")
        out.update(pair("channel_set", median_us(lambda: setattr(ch, "value", next(i)), n),
                        median_us(lambda: raw.publish("channel:rawbench", next(i)), n)))

        child = BeaconChild(env)
        child.call("channel_open", name="bench")
        trips = []
        for k in range(200):
            t0 = time.perf_counter()
            ch.value = -k
            while child.next_event()["value"] != -k:
                pass
            trips.append(time.perf_counter() - t0)
        out["channel_cross_process_round_trip_ms"] = round(statistics.median(trips) * 1e3, 2)

        child.call("lock", names=["held"], owner="doomed")
        child.kill()
        t0 = time.perf_counter()
        with lock("held", owner="bench", timeout=10):
            out["lock_free_after_holder_kill9_s"] = round(time.perf_counter() - t0, 2)
        ch.close()

        old = sup.pids()["settings"]
        os.kill(old, signal.SIGKILL)
        t0 = time.perf_counter()
        h["velocity"]
        out["settings_read_after_redis_kill9_s"] = round(time.perf_counter() - t0, 2)
        connection.reset()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
