"""Scans as a user sees them: wall time from the command to State ON through Tango, next to
the same scans in-process with core alone, measured in the same run; prints JSON.

    .venv/bin/python bench/scan_bench.py [--n 10 100 1000] [--ct-repeats 10] [--timescan-points 5000]
                                         [--read-latency 0.005] [--port P]

Through Tango: the demo stack (`blisstango up`: BeaconDB + Redis, AxisManager, ScanServer,
NexusWriter, the other demo servers), a client subscribed to the ScanServer's State
change events sends the scan command; wall = from just before the command to the arrival
of State ON (the scan over, its end events pushed). Scans:

- ct: `ct 0.1 diode` (not saved), repeated; wall_ms (BLISS 2.4: 120 ms, Sardana 3.7: 186 ms).
- ascan_realistic_<N>: `ascan m0 0 4 N 0 diode` at the demo's m0 dynamics (5 mm/s, 50
  mm/s2): real steps whose motion lasts tens of ms.
- ascan_zero_<N>: `ascan m0 0 0 N 0 diode`: zero-length moves (the axis is asked, answers
  at once).
- ascan_fast_<N>: `ascan m0 0 1 N 0 diode` with m0 at 1e4 mm/s and 1e7 mm/s2 (moves of
  microseconds; what the old figures measured).

Per scan: motion_ms = sum of the trapezoids of every step (core.motion.profile, the
Mockup's own), dead_ms_per_point = (wall - motion - count time) / points, fixed_ms = wall
minus the time the top master spent in its points (scan statistics): command to first
point plus last point to State ON. old_ms_per_point: the figure the old bench printed
(scan info end_time - start_time over points: neither start, end, nor the wait for the
end of motion past the first check was in it).

In-process peer: the same scans with core alone (Mockup m0 and the diode from the same
YAML, settings and data Redis of their own, settings written behind as the AxisManager
does, published, not saved), wall around the call.

axis_move_floor (old figure, kept): per zero-length step, a plain client's write Position
+ WaitMove, a Position read, and AxisProxy.move (the scan's one GroupMoveWait).

--port P: the stack's TANGO_HOST port (default: a free one).
--read-latency S: the stack's Mockup answers every read S seconds late (BLISS's mockup
sleeps 5 ms), to show what a slow controller costs (a second figure set, `slow_controller`).
"""

from __future__ import annotations

from blisstango.core import green
from blisstango.core.beacon import BEACON_DEVICE

green.patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from demo_stack import demo_stack  # noqa: E402

REALISTIC = (5.0, 50.0)  # the demo's m0: mm/s, mm/s2
FAST = (1e4, 1e7)
COUNT_TIME = 0.1

#: figures printed before issue 20 (bench of then, and the issue's measurements by hand)
BEFORE_ISSUE_20 = {
    "note": "from issue 20 (same machine, before this work): through Tango, m0 at 1e4 mm/s and 1e7 "
            "mm/s2, count time 0, command to State ON; the old bench's own figure was 0.31 ms/point "
            "for 1000 intervals measured from the scan's start_time to end_time",
    "ascan_fast_1000_ms_per_point": 0.31, "ascan_fast_100_ms_per_point": 7.0,
    "ascan_fast_10_ms_per_point": 23.0,
    "realistic_40_steps_0.1mm_dead_ms_per_point": 15.0, "ct_0.1_wall_ms": 106.0,
    "in_process_1mm_move_returns_after_ms": 21.0, "in_process_1mm_move_profile_ms": 0.6,
}
PEERS = {
    "note": "measured by the issue's author on this machine (issue 20, DESIGN.md 9), not in this run",
    "bliss_2_4_in_process": {"realistic_dead_ms_per_point": 26.0, "realistic_dead_ms_per_point_1ms_polling": 7.4,
                             "ct_0.1_wall_ms": 120.0},
    "sardana_3_7": {"dead_ms_per_point_instant_motion": [57.0, 74.0], "ct_0.1_wall_ms": 186.0},
}


def motion_ms(start: float, stop: float, intervals: int, dynamics: tuple[float, float]) -> float:
    """Sum of the trapezoids of an ascan's steps (the first point is at start already)."""
    from blisstango.core.motion.profile import trapezoid

    positions = np.linspace(start, stop, intervals + 1)
    v, a = dynamics
    return 1e3 * sum(trapezoid(0.0, float(p0), float(p1), v, a).end_time
                     for p0, p1 in zip(positions[:-1], positions[1:]))


def figures(kind: str, n: int, wall_s: float, motion: float, count_time: float, trigger_s: float | None,
            extra: dict | None = None) -> dict:
    points = n + 1 if kind != "ct" else 1
    wall = 1e3 * wall_s
    out = {"points": points, "wall_ms": round(wall, 3), "motion_ms": round(motion, 3),
           "dead_ms_per_point": round((wall - motion - 1e3 * count_time * points) / points, 4)}
    if trigger_s is not None:
        out["fixed_ms"] = round(wall - 1e3 * trigger_s, 3)
    out.update(extra or {})
    return out


def _summary(runs: list[dict]) -> dict:
    walls = sorted(r["wall_ms"] for r in runs)
    fixed = sorted(r["fixed_ms"] for r in runs if "fixed_ms" in r)
    out = {"repeats": len(runs), "wall_ms_median": round(walls[len(walls) // 2], 3),
           "wall_ms_min": round(walls[0], 3), "wall_ms_max": round(walls[-1], 3)}
    if fixed:
        out["fixed_ms_median"] = round(fixed[len(fixed) // 2], 3)
    return out


class StateClock:
    """Arrival times of the ScanServer's State change events (Tango's event thread)."""

    def __init__(self, dev) -> None:
        import tango

        self.events: list[tuple[float, object]] = []
        self.cond = threading.Condition()
        self.dev = dev
        self.id = dev.subscribe_event("State", tango.EventType.CHANGE_EVENT, self._on)

    def _on(self, ev) -> None:
        t = time.perf_counter()
        if ev.err or ev.attr_value is None:
            return
        with self.cond:
            self.events.append((t, ev.attr_value.value))
            self.cond.notify_all()

    def run(self, command, timeout: float = 900.0) -> float:
        """Seconds from just before command() to State ON (or ALARM) after RUNNING."""
        import tango

        with self.cond:
            first = len(self.events)
        t0 = time.perf_counter()
        command()
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                seen_running = False
                for t, state in self.events[first:]:
                    if state == tango.DevState.RUNNING:
                        seen_running = True
                    elif seen_running and state in (tango.DevState.ON, tango.DevState.ALARM):
                        if state == tango.DevState.ALARM:
                            raise RuntimeError(f"scan failed: {self.dev.status()}")
                        return t - t0
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no State ON within {timeout} s")
                self.cond.wait(min(left, 1.0))

    def close(self) -> None:
        self.dev.unsubscribe_event(self.id)


def _top_trigger_s(info: dict) -> float | None:
    """Time the top master spent in its points (trigger calls), from the scan statistics."""
    chain = info.get("chain") or []
    if not chain:
        return None
    return (info.get("statistics") or {}).get(chain[0]["name"], {}).get("trigger", {}).get("total")


def move_floor(m0, n: int = 200) -> dict:
    """Old figure, kept: the AxisManager's own cost per zero-length step seen by a plain
    synchronous client (write Position + WaitMove), a Position read, and the one request
    a scan makes per step (AxisProxy.move: GroupMoveWait)."""
    from blisstango.core.motion.axis_proxy import AxisProxy

    pos = m0.read_attribute("Position").value
    t0 = time.perf_counter()
    for _ in range(n):
        m0.write_attribute("Position", pos)
        m0.command_inout("WaitMove")
    moved = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(n):
        m0.read_attribute("Position")
    read = time.perf_counter() - t0
    ax = AxisProxy("m0", m0.dev_name(), manager="demo/axismanager/demo")
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            ax.move(pos)
        proxied = time.perf_counter() - t0
    finally:
        ax.close()
    return {"ms_write_and_waitmove": round(1e3 * moved / n, 4), "ms_read_position": round(1e3 * read / n, 4),
            "ms_axis_proxy_move": round(1e3 * proxied / n, 4)}


def _in_order(velocity_now: float, dynamics: tuple[float, float]) -> list[tuple[str, float]]:
    """(setting, value) pairs, velocity first when slowing down and acceleration first
    when speeding up: the axis refuses a pair whose ramp outlasts 60 s, and FAST's
    velocity with REALISTIC's acceleration would be one."""
    order = [("acceleration", dynamics[1]), ("velocity", dynamics[0])]
    return order[::-1] if dynamics[0] < velocity_now else order


def _set_dynamics(m0, dynamics: tuple[float, float]) -> None:
    """Through Tango."""
    for name, value in _in_order(m0.read_attribute("Velocity").value, dynamics):
        m0.write_attribute(name.capitalize(), value)


def _set_core_dynamics(m0, dynamics: tuple[float, float]) -> None:
    """On a core Axis."""
    for name, value in _in_order(m0.velocity, dynamics):
        setattr(m0, name, value)


def through_tango(workdir: Path, ns: list[int], ct_repeats: int, timescan_points: int) -> dict:
    import redis
    import tango

    from blisstango.clients.demo_scan import wait_state, wait_written
    from blisstango.clients.scan_events import RecordFollower
    from blisstango.core.data import ScanReader

    dev = tango.DeviceProxy("demo/scan/demo")
    dev.set_timeout_millis(600000)
    wait_state(dev, (tango.DevState.ON,), 120)
    dev.write_attribute("SCAN_SAVING", json.dumps({"base_path": str(workdir / "data")}))
    m0 = tango.DeviceProxy("demo/axis/m0")
    data = redis.Redis.from_url(tango.DeviceProxy(BEACON_DEVICE).read_attribute("DataRedisUrl").value)
    writer = tango.DeviceProxy("demo/writer/default")
    follower = RecordFollower(dev)  # a client following the data, as the shell does
    clock = StateClock(dev)
    out: dict = {}

    def scan(name: str, args: list[str]) -> tuple[float, dict]:
        wall = clock.run(lambda: getattr(dev, name)(args))
        info = json.loads(dev.ScanInfo)
        if info.get("end_reason") != "SUCCESS":
            raise RuntimeError(f"{name} {args}: {info.get('end_reason')} {info.get('error')}")
        return wall, info

    try:
        m0.write_attribute("Position", 0.0)
        m0.command_inout("WaitMove")
        scan("ct", [str(COUNT_TIME), "diode"])  # warm-up (first scan builds attributes)
        runs = []
        for _ in range(ct_repeats):
            wall, info = scan("ct", [str(COUNT_TIME), "diode"])
            runs.append(figures("ct", 0, wall, 0.0, COUNT_TIME, _top_trigger_s(info)))
        out["ct_0.1"] = _summary(runs)
        for label, start, stop, dynamics in (("realistic", 0.0, 4.0, REALISTIC), ("zero", 0.0, 0.0, REALISTIC),
                                             ("fast", 0.0, 1.0, FAST)):
            _set_dynamics(m0, dynamics)
            for n in ns:
                m0.write_attribute("Position", start)
                m0.command_inout("WaitMove")
                wall, info = scan("ascan", ["m0", str(start), str(stop), str(n), "0", "diode"])
                key = info["key"]
                r = ScanReader(data, key).info
                old = 1e3 * (r["end_time"] - r["start_time"]) / (n + 1)
                out[f"ascan_{label}_{n}"] = figures(
                    "ascan", n, wall, motion_ms(start, stop, n, dynamics), 0.0, _top_trigger_s(info),
                    {"old_ms_per_point": round(old, 4)})
                wait_written(writer, key, 300)
        _set_dynamics(m0, REALISTIC)
        out["axis_move_floor"] = move_floor(m0)
        out["timescan"] = timescan(dev, follower, data, writer, timescan_points)
    finally:
        clock.close()
        follower.close()
    return out


def timescan(dev, follower, data, writer, points: int) -> dict:
    """Old figure, kept: `timescan 0 diode diode2 npoints=P` points/s, to the file too."""
    from blisstango.clients.demo_scan import wait_written
    from blisstango.core.data import ScanReader

    t0 = time.monotonic()
    number = dev.timescan(["0", "diode", "diode2", f"npoints={points}"])
    dev.WaitScan(0)
    rec = follower.wait_end(number, 600)
    key = json.loads(dev.ScanInfo)["key"]
    info = ScanReader(data, key).info
    done = wait_written(writer, key, 300)
    total = time.monotonic() - t0
    return {"points": points, "channels": len(rec.data),
            "points_per_s": round(points / (info["end_time"] - info["start_time"]), 1),
            "points_per_s_to_file_done": round(points / total, 1), "file_points": done["points"]}


def in_process(workdir: Path, config: Path, ns: list[int], ct_repeats: int) -> dict:
    from blisstango.core.beacon import connection
    from blisstango.core.beacon.redis_server import RedisSupervisor
    from blisstango.core.config import ObjectFactory, load_tree
    from blisstango.core.motion import write_behind
    from blisstango.core.scanning import ScanContext
    from blisstango.core.scanning.scans import ascan, ct

    out: dict = {}
    with RedisSupervisor(workdir / "redis_local") as sup:
        connection.configure(sup.settings_url, sup.data_url)
        write_behind.enable()  # this process owns its axes, as the AxisManager does
        factory = ObjectFactory(load_tree(config))
        m0, diode = factory.get("m0"), factory.get("diode")
        ctx = ScanContext("bench_local", data_redis=connection.get_redis("data"))
        m0.move(0.0)
        ct(COUNT_TIME, diode, context=ctx)
        runs = []
        for _ in range(ct_repeats):
            t0 = time.perf_counter()
            scan = ct(COUNT_TIME, diode, context=ctx)
            wall = time.perf_counter() - t0
            runs.append(figures("ct", 0, wall, 0.0, COUNT_TIME, scan.statistics["timer"]["trigger"]["total"]))
        out["ct_0.1"] = _summary(runs)
        for label, start, stop, dynamics in (("realistic", 0.0, 4.0, REALISTIC), ("zero", 0.0, 0.0, REALISTIC),
                                             ("fast", 0.0, 1.0, FAST)):
            _set_core_dynamics(m0, dynamics)
            for n in ns:
                m0.move(start)
                t0 = time.perf_counter()
                scan = ascan(m0, start, stop, n, 0, diode, context=ctx, save=False)
                wall = time.perf_counter() - t0
                out[f"ascan_{label}_{n}"] = figures("ascan", n, wall, motion_ms(start, stop, n, dynamics), 0.0,
                                                    scan.statistics["axis"]["trigger"]["total"])
        _set_core_dynamics(m0, REALISTIC)
        write_behind.enable(False)
        connection.reset()
    return out


def stack_figures(workdir: Path, args, name: str = "", edit=None) -> tuple[Path, dict]:
    """(the stack's configuration, the figures through Tango)."""
    with demo_stack(workdir, edit=edit, port=args.port, name=name) as config:
        return config, through_tango(workdir, args.n, args.ct_repeats, args.timescan_points)


def read_latency(latency: float):
    """A config edit: the demo's Mockup answers every read `latency` s late."""
    def edit(config: Path) -> None:
        mockup = config / "motors" / "mockup.yml"
        text = mockup.read_text()
        mockup.write_text(text.replace("  class: Mockup\n", f"  class: Mockup\n  read_latency: {latency}\n", 1))
    return edit


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--ct-repeats", type=int, default=10)
    parser.add_argument("--timescan-points", type=int, default=5000)
    parser.add_argument("--read-latency", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0, help="TANGO_HOST port of the stack (default: a free one)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="scan_bench_"))
    load_before = os.getloadavg()
    try:
        config, tango_fig = stack_figures(workdir, args)
        local = in_process(workdir, config, args.n, args.ct_repeats)
        result = {"load_average_before": load_before, "cpus": os.cpu_count(),
                  "through_tango": tango_fig, "in_process": local,
                  "dead_ms_per_point_tango_minus_core": {
                      k: round(tango_fig[k]["dead_ms_per_point"] - local[k]["dead_ms_per_point"], 4)
                      for k in local if k.startswith("ascan")},
                  "before_issue_20": BEFORE_ISSUE_20, "peers": PEERS}
        if args.read_latency:
            args.timescan_points = 100
            _, slow = stack_figures(workdir, args, "slow", read_latency(args.read_latency))
            result["slow_controller"] = {"read_latency_s": args.read_latency, "through_tango": slow}
        result["load_average_after"] = os.getloadavg()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
