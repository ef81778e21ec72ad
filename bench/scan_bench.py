"""Benchmark scans through the ScanServer against the same scans in-process; prints JSON.

    .venv/bin/python bench/scan_bench.py [--n 100 1000] [--timescan-points 5000]

axis_move_floor: a plain client's write Position + WaitMove on the same axis (the
AxisManager's own cost per step) and a Position read, for comparison.

ascan_dead_time: `ascan m0 0 1 N 0 diode` on demo/scan/demo (the demo stack started by
`blisstango up`, m0 an AxisManager Mockup axis made fast enough that motion time is
negligible, count time 0, a RecordData subscriber attached as a client would be, Redis
and the NexusWriter on). Dead time per point = (end_time - start_time) / points from the
scan info; the same scan run in-process with core alone (Mockup axis, simulation
counter, published to a data Redis of its own) is measured in the same run.

timescan: `timescan 0 diode diode2 npoints=P` through Tango (4 channels: elapsed_time,
epoch, diode, diode2) with events, Redis and HDF5 all on: points/s of the acquisition,
and points/s until the NexusWriter reports the entry DONE.
"""

from __future__ import annotations

from blisstango.core import green
from blisstango.core.beacon import BEACON_DEVICE

green.patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _blisstango(*args: str) -> None:
    subprocess.run([str(BIN / "blisstango"), *args], check=True, capture_output=True, timeout=180)


def _timing(redis_client, key: str) -> dict:
    from blisstango.core.data import ScanReader

    info = ScanReader(redis_client, key).info
    points = int(info.get("npoints_done") or info.get("npoints") or 0)
    return {"points": points, "seconds": info["end_time"] - info["start_time"]}


def _move_floor(m0, n: int = 200) -> dict:
    """The AxisManager's own cost per step, seen by a plain synchronous client: write
    Position + WaitMove (+ a Position read), no scan: the floor of a step through Tango."""
    pos = 0.0
    t0 = time.perf_counter()
    for i in range(n):
        pos = 0.001 * (i % 2)
        m0.write_attribute("Position", pos)
        m0.command_inout("WaitMove")
    moved = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(n):
        m0.read_attribute("Position")
    read = time.perf_counter() - t0
    return {"ms_write_and_waitmove": 1e3 * moved / n, "ms_read_position": 1e3 * read / n}


def through_tango(workdir: Path, ns: list[int], timescan_points: int) -> dict:
    import redis
    import tango

    from blisstango.clients.demo_scan import wait_state, wait_written
    from blisstango.clients.scan_events import RecordFollower

    dev = tango.DeviceProxy("demo/scan/demo")
    dev.set_timeout_millis(600000)
    wait_state(dev, (tango.DevState.ON,), 90)
    dev.write_attribute("SCAN_SAVING", json.dumps({"base_path": str(workdir / "data")}))
    m0 = tango.DeviceProxy("demo/axis/m0")
    m0.write_attribute("Acceleration", 1e7)
    m0.write_attribute("Velocity", 1e5)
    data = redis.Redis.from_url(tango.DeviceProxy(BEACON_DEVICE).read_attribute("DataRedisUrl").value)
    writer = tango.DeviceProxy("demo/writer/default")
    follower = RecordFollower(dev)
    out: dict = {}
    try:
        for n in ns:
            number = dev.ascan(["m0", "0", "1", str(n), "0", "diode"])
            dev.WaitScan(0)
            rec = follower.wait_end(number, 600)
            assert rec.end_reason == "SUCCESS", rec.error
            key = json.loads(dev.ScanInfo)["key"]
            t = _timing(data, key)
            wait_written(writer, key, 120)
            out[f"ascan_{n}"] = {"points": n + 1, "ms_per_point": 1e3 * t["seconds"] / (n + 1),
                                 "events_points": rec.npoints}
        out["axis_move_floor"] = _move_floor(m0)
        t0 = time.monotonic()
        number = dev.timescan(["0", "diode", "diode2", f"npoints={timescan_points}"])
        dev.WaitScan(0)
        rec = follower.wait_end(number, 600)
        key = json.loads(dev.ScanInfo)["key"]
        t = _timing(data, key)
        done = wait_written(writer, key, 300)
        total = time.monotonic() - t0
        out["timescan"] = {"points": timescan_points, "channels": len(rec.data),
                           "points_per_s": timescan_points / t["seconds"],
                           "points_per_s_to_file_done": timescan_points / total,
                           "events_points": rec.npoints, "file_points": done["points"]}
    finally:
        follower.close()
    return out


def in_process(workdir: Path, config: Path, ns: list[int]) -> dict:
    from blisstango.core.beacon import connection
    from blisstango.core.beacon.redis_server import RedisSupervisor
    from blisstango.core.config import ObjectFactory, load_tree
    from blisstango.core.scanning import ScanContext
    from blisstango.core.scanning.scans import ascan

    out = {}
    with RedisSupervisor(workdir / "redis_local") as sup:
        connection.configure(sup.settings_url, sup.data_url)
        factory = ObjectFactory(load_tree(config))
        m0, diode = factory.get("m0"), factory.get("diode")
        m0.acceleration = 1e7
        m0.velocity = 1e5
        data = connection.get_redis("data")
        ctx = ScanContext("bench_local", data_redis=data)
        for n in ns:
            scan = ascan(m0, 0, 1, n, 0, diode, context=ctx, save=False)
            t = _timing(data, scan.key)
            out[f"ascan_{n}"] = {"points": n + 1, "ms_per_point": 1e3 * t["seconds"] / (n + 1)}
        connection.reset()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--timescan-points", type=int, default=5000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="scan_bench_"))
    config = workdir / "config"
    shutil.copytree(REPO / "examples" / "demo_beamline", config)
    port = _free_port()
    run_dir = workdir / "run"
    os.environ["TANGO_HOST"] = f"127.0.0.1:{port}"
    _blisstango("up", str(config), "--detach", "--port", str(port), "--run-dir", str(run_dir))
    try:
        tango_fig = through_tango(workdir, args.n, args.timescan_points)
    finally:
        _blisstango("down", "--run-dir", str(run_dir))
    local = in_process(workdir, config, args.n)
    result = {"load_average": os.getloadavg(), "cpus": os.cpu_count(), "through_tango": tango_fig,
              "in_process": local,
              "ratio_tango_over_core": {k: tango_fig[k]["ms_per_point"] / local[k]["ms_per_point"]
                                        for k in local}}
    print(json.dumps(result, indent=2))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
