"""Benchmark the AxisManager through BeaconDB; prints JSON.

    .venv/bin/python bench/axis_bench.py [--reads 500] [--moves 100] [--axes 50] [--seconds 4]

- Position read round trip (median / p99, ms) of an AxisManager axis, against the same
  read of Debian's C++ TangoTest `ampli` in the same run (ratio);
- zero-length move round trip: Position write to the final State ON event (median / p99);
- Position change events sustained by one AxisManager with N axes moving at once
  (events/s in total and per axis, against the nominal 1/EventPeriod per axis).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from blisstango.core import green  # noqa: E402

green.patch()

import tango  # noqa: E402
from helpers.axis_e2e import AxisManagerProcess, register_axis_devices  # noqa: E402
from helpers.procs import free_port, kill_tree, start, wait_port  # noqa: E402
from helpers.tango_db import BeaconDBProcess  # noqa: E402

from blisstango.core.beacon.redis_server import RedisSupervisor  # noqa: E402

EVENT_PERIOD = 0.04  # BlissAxis default


def stats(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {"median_ms": round(statistics.median(s) * 1e3, 3),
            "p99_ms": round(s[min(len(s) - 1, int(len(s) * 0.99))] * 1e3, 3), "n": len(s)}


def timed_reads(proxy, attr: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        proxy.read_attribute(attr)
        out.append(time.perf_counter() - t0)
    return out


def zero_moves(dev, n: int) -> list[float]:
    seen_moving, done = threading.Event(), threading.Event()

    def cb(e):
        if e.err:
            return
        if e.attr_value.value == tango.DevState.MOVING:
            seen_moving.set()
        elif seen_moving.is_set():
            done.set()

    eid = dev.subscribe_event("State", tango.EventType.CHANGE_EVENT, cb)
    time.sleep(0.5)
    out = []
    try:
        for _ in range(n):
            seen_moving.clear()
            done.clear()
            pos = dev.Position
            t0 = time.perf_counter()
            dev.Position = pos
            if not done.wait(5):
                raise RuntimeError("no final State event within 5 s")
            out.append(time.perf_counter() - t0)
    finally:
        dev.unsubscribe_event(eid)
    return out


def event_rate(server: AxisManagerProcess, names: list[str], seconds: float) -> dict:
    counts = dict.fromkeys(names, 0)
    window = {"on": False}
    lock = threading.Lock()

    def make_cb(name):
        def cb(e):
            if not e.err and window["on"]:
                with lock:
                    counts[name] += 1
        return cb

    proxies = {n: server.proxy(n) for n in names}
    ids = [(p, p.subscribe_event("Position", tango.EventType.CHANGE_EVENT, make_cb(n)))
           for n, p in proxies.items()]
    time.sleep(1.0)
    mgr = tango.DeviceProxy(server.manager)
    args = []
    for n in names:
        args += [n, str(proxies[n].Position + (seconds + 2.0))]  # velocity 1: lasts seconds + 2
    mgr.GroupMove(args)
    time.sleep(0.8)  # past the acceleration
    window["on"] = True
    t0 = time.monotonic()
    time.sleep(seconds)
    window["on"] = False
    elapsed = time.monotonic() - t0
    mgr.GroupAbort([])
    for p, i in ids:
        p.unsubscribe_event(i)
    total = sum(counts.values()) / elapsed
    per_axis = [c / elapsed for c in counts.values()]
    return {"axes": len(names), "events_per_s_total": round(total, 1),
            "events_per_s_per_axis_min": round(min(per_axis), 2),
            "events_per_s_per_axis_median": round(statistics.median(per_axis), 2),
            "nominal_per_axis": round(1 / EVENT_PERIOD, 2),
            "ratio_to_nominal": round(statistics.median(per_axis) * EVENT_PERIOD, 3)}


def bench_tree(work: Path, n_axes: int) -> Path:
    tree = work / "beamline"
    shutil.copytree(REPO / "examples" / "demo_beamline", tree)
    lines = ["- name: benchctrl", "  class: Mockup", "  tango:", "    server: bench", "  axes:"]
    for i in range(n_axes):
        lines += [f"    - name: bx{i}", "      steps_per_unit: 1000", "      velocity: 1.0",
                  "      acceleration: 10.0", "      unit: mm"]
    (tree / "motors" / "bench.yml").write_text("\n".join(lines) + "\n")
    return tree


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reads", type=int, default=500)
    ap.add_argument("--moves", type=int, default=100)
    ap.add_argument("--axes", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=4.0)
    opts = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="axis_bench_"))
    sup = RedisSupervisor(work / "redis").start()
    db = BeaconDBProcess(work / "db").start()
    os.environ["TANGO_HOST"] = db.tango_host
    servers: list[AxisManagerProcess] = []
    tt = None
    try:
        tree = bench_tree(work, opts.axes)
        register_axis_devices(db.tango_host, tree)
        env = {"TANGO_HOST": db.tango_host, "BLISSTANGO_CONFIG": str(tree),
               "BLISSTANGO_SETTINGS_REDIS": sup.settings_url}
        for inst in ("demo", "bench"):
            servers.append(AxisManagerProcess(inst, env, work).start(timeout=120))
        port = free_port()
        tt = start(["/usr/lib/tango/TangoTest", "bench", "-nodb", "-dlist", "sys/tg_test/1",
                    "-ORBendPoint", f"giop:tcp:127.0.0.1:{port}"], work / "tangotest.log")
        wait_port(port)
        for _ in range(200):  # the port opens before the device is exported
            try:
                peer = tango.DeviceProxy(f"tango://127.0.0.1:{port}/sys/tg_test/1#dbase=no")
                peer.ping()
                break
            except tango.DevFailed:
                time.sleep(0.1)
        m0 = servers[0].proxy("m0")
        timed_reads(m0, "Position", 50)  # warm-up
        timed_reads(peer, "ampli", 50)
        read = stats(timed_reads(m0, "Position", opts.reads))
        peer_read = stats(timed_reads(peer, "ampli", opts.reads))
        moves = stats(zero_moves(m0, opts.moves))
        rate = event_rate(servers[1], [f"bx{i}" for i in range(opts.axes)], opts.seconds)
        print(json.dumps({
            "position_read": read,
            "peer_tangotest_ampli_read": peer_read,
            "read_ratio_to_peer": round(read["median_ms"] / peer_read["median_ms"], 2),
            "zero_length_move_to_final_state_event": moves,
            "position_event_rate": rate,
        }, indent=2))
    finally:
        if tt is not None:
            kill_tree(tt.pid)
        for s in servers:
            s.stop()
        db.stop()
        sup.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
