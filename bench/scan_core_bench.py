"""Benchmark the scanning core; prints JSON.

    .venv/bin/python bench/scan_core_bench.py [--n 1000] [--timescan-points 50000]

step_scan: an in-process ascan of a Mockup axis (core.motion) with one simulation
counter, zero count time, N points, published to a real data Redis. Reported: wall
time per point, time per point spent inside axis.move (the simulated motion itself),
and the engine's per-point overhead = (wall - motion) / N (goal < 0.5 ms).

timescan: a timescan (count time 0) of a controller with 4 scalar counters, published;
points/s through the whole engine (timer + sampling slave + publisher), and the
streaming layer alone: 4 scalar channels pushed in blocks as a hardware-triggered
device delivers them (goal >= 100,000 points/s). Each run ends when a reader has
received the sealed data (so the figure includes the Redis writes, not only queuing).
points_per_cpu_s divides by this process's CPU time: the figure a shared, loaded machine
does not distort (the redis-server's own CPU is not counted).
"""

from __future__ import annotations

from blisstango.core import green

green.patch()

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import redis  # noqa: E402

from blisstango.core.beacon import connection  # noqa: E402
from blisstango.core.beacon.redis_server import RedisSupervisor  # noqa: E402
from blisstango.core.counters import (  # noqa: E402
    SamplingCounter,
    SamplingCounterController,
    SimulationCounter,
    SimulationCounterController,  # noqa: E402
)
from blisstango.core.data import ScanPublisher, ScanReader  # noqa: E402
from blisstango.core.motion.mockup import Mockup  # noqa: E402
from blisstango.core.scanning import ScanContext  # noqa: E402
from blisstango.core.scanning.scans import ascan, timescan  # noqa: E402


class Four(SamplingCounterController):
    def __init__(self):
        super().__init__("four")
        for n in "abcd":
            SamplingCounter(n, self)
        self.i = 0.0

    def read_all(self, *counters):
        self.i += 1.0
        return [self.i] * len(counters)


def step_scan(ctx: ScanContext, n: int) -> dict:
    ctrl = Mockup("benchctrl", {}, axes=[{"name": "bm0", "velocity": 1000.0, "acceleration": 1e6,
                                          "steps_per_unit": 10000, "low_limit": -1e6, "high_limit": 1e6}])
    ax = ctrl.axes["bm0"]
    ax.move(0.0)
    moving = [0.0]
    real_move = ax.move

    def timed_move(*a, **k):
        t0 = time.perf_counter()
        try:
            return real_move(*a, **k)
        finally:
            moving[0] += time.perf_counter() - t0

    ax.move = timed_move
    cnt = SimulationCounter("bdiode", ax, curve="gaussian", center=0.05, fwhm=0.02, height=100.0,
                            controller=SimulationCounterController("benchsim"))
    out = {}
    for publish in (True, False):
        c = ctx if publish else ScanContext("bench_offline")
        moving[0] = 0.0
        t0 = time.perf_counter()
        scan = ascan(ax, 0.0, 0.1, n - 1, 0.0, cnt, context=c)
        wall = time.perf_counter() - t0
        assert len(scan.get_data("bdiode")) == n
        key = "published" if publish else "not_published"
        out[key] = {"npoints": n, "wall_ms_per_point": 1e3 * wall / n,
                    "motion_ms_per_point": 1e3 * moving[0] / n,
                    "overhead_ms_per_point": 1e3 * (wall - moving[0]) / n}
        if publish:
            got = ScanReader(ctx.data_redis, scan.key).read_all("benchsim:bdiode")
            assert np.array_equal(got, scan.get_data("bdiode"))
    out["goal_overhead_ms_per_point"] = 0.5
    return out


def engine_timescan(ctx: ScanContext, npoints: int) -> dict:
    ctrl = Four()
    t0, c0 = time.perf_counter(), time.process_time()
    scan = timescan(0.0, ctrl, npoints=npoints, context=ctx)
    reader = ScanReader(ctx.data_redis, scan.key)
    data = reader.read_all("four:d")
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert len(data) == npoints
    nch = len(scan.get_data().keys())
    return {"npoints": npoints, "scalar_counters": 4, "channels_total": nch,
            "points_per_s": npoints / dt, "channel_values_per_s": npoints * nch / dt,
            "points_per_cpu_s": npoints / cpu,
            "redis_round_trips": scan.publisher.redis_calls}


def streaming_only(r: redis.Redis, npoints: int, block: int = 1000) -> dict:
    pub = ScanPublisher(r, "bench", {"title": "stream"})
    for n in "abcd":
        pub.add_channel(f"dev:{n}")
    key = pub.create()
    t0 = time.perf_counter()
    base = np.arange(block, dtype=float)
    for i in range(0, npoints, block):
        for n in "abcd":
            pub.push(f"dev:{n}", base + i)
        if i % (20 * block) == 0:
            import gevent

            gevent.sleep(0)
    pub.close()
    got = ScanReader(r, key).read_all("dev:d")
    dt = time.perf_counter() - t0
    assert len(got) == npoints
    return {"npoints": npoints, "channels": 4, "block": block, "points_per_s": npoints / dt,
            "redis_round_trips": pub.redis_calls}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--timescan-points", type=int, default=50000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sup = RedisSupervisor(tmp).start()
        try:
            connection.configure(sup.settings_url, sup.data_url)
            r = redis.Redis.from_url(sup.data_url)
            ctx = ScanContext("bench", data_redis=r)
            result = {
                "step_scan": step_scan(ctx, args.n),
                "timescan_engine": engine_timescan(ctx, args.timescan_points),
                "streaming_4_scalar_channels": streaming_only(r, 1_000_000),
                "goal_points_per_s": 100_000,
            }
        finally:
            connection.reset()
            sup.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
