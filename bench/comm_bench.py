"""Benchmark instrument communication against the makers' IcePAP simulator; prints JSON.

    .venv/bin/python bench/comm_bench.py [--reads 1000] [--points 20]

position_read (median / p99 ms of `?FPOS 1` answered by icepap.simulator under
sinstruments, `blisstango up` running it on a free port), each next to its peer measured
in the same run:
- bare_socket: a plain blocking socket (the standard library's, not gevent's), one
  request line, one reply line: the floor;
- core_comm: core.comm.Tcp.query in this gevent process (lock, deadline, reconnect rule);
- icepap_controller: the IcePAP controller's read_position (core.comm + reply checks);
- tango: a Tango client reading `Position` of the AxisManager axis th (the IcePAP's);
- tango_mockup: the same read of the Mockup axis m0 in the same AxisManager (no I/O);
- tango_floor: the same client reading a constant attribute of a bare PyTango device
  (bench/ping_server.py, registered in the same BeaconDB): what any Tango read costs here.
Ratios to the bare socket: goals core_comm <= 1.2, tango <= 2.

ascan_dead_time: `ascan <axis> 0 S N 0 det` through the ScanServer (events, Redis and
the NexusWriter on), wall clock from the command to the end of WaitScan, minus the sum
of the motion profiles' durations (trapezoids from each axis' velocity and acceleration)
over N + 1 points: what each point costs above the motion itself; for the IcePAP axes
also above the simulator's own time for a step (a bare socket sends `#MOVE` and asks
`?FSTATUS` until the motion is over: its peer, measured in the same run). For the IcePAP axis
th and, as peer, the Mockup axis m0 with the same velocity and acceleration, both with
the axis default polling (20 ms) and with `polling_time: 0.001` (th_fast, m0_fast): the
axis monitor sleeps to the predicted end of the motion (the IcePAP's own trapezoid,
core/motion/monitor.py), so the polling period should no longer matter. Goal: dead time
above motion <= 2 ms per point. The JSON has the load average and CPU count of the run
(figures under load are not comparable).
"""

from __future__ import annotations

from blisstango.core import green
from blisstango.core.beacon import BEACON_DEVICE
from blisstango.core.tangodb import DB_DEVICE

green.patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent.monkey  # noqa: E402
from demo_stack import demo_stack  # noqa: E402

SPU, VELOCITY, ACCELERATION = 1000, 20.0, 400.0  # steps/deg, deg/s, deg/s2

DYNAMICS = f"unit: deg, steps_per_unit: {SPU}, velocity: {VELOCITY:g}, acceleration: {ACCELERATION:g}"
AXIS = "{{name: {name}, address: {address}, " + DYNAMICS + "{extra}}}"
MOCK = "{{name: {name}, " + DYNAMICS + "{extra}}}"
FAST = ", polling_time: 0.001"
ROUNDS = 5  # ascans per axis (median), after one warm-up scan each

TREE = {
    "__init__.yml": "tango: {domain: demo}\n",
    "ice.yml": f"""\
        - name: ice1
          plugin: emotion
          class: IcePAP
          tcp: {{url: iceid299:5000}}
          simulator: {{}}
          tango: {{server: demo}}
          axes:
            - {AXIS.format(name="th", address=1, extra="")}
            - {AXIS.format(name="th_fast", address=2, extra=FAST)}
        """,
    "mock.yml": f"""\
        - name: mock1
          plugin: emotion
          class: Mockup
          tango: {{server: demo}}
          axes:
            - {MOCK.format(name="m0", extra="")}
            - {MOCK.format(name="m0_fast", extra=FAST)}
        """,
    "counters.yml": """\
        - name: det
          plugin: counters
          class: SimulationCounter
          axis: $th
          curve: linear
          slope: 1.0
          background: 10.0
        """,
    "session.yml": """\
        - name: demo
          plugin: session
          config-objects: [th, th_fast, m0, m0_fast, det]
        """,
}


def stats(samples: list[float]) -> dict:
    s = sorted(samples)
    return {"median_ms": round(statistics.median(s) * 1e3, 4),
            "p99_ms": round(s[min(len(s) - 1, int(len(s) * 0.99))] * 1e3, 4), "n": len(s)}


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def bare_socket(port: int):
    """A plain blocking socket of the standard library (unpatched), Nagle off."""
    sock_mod = gevent.monkey.get_original("socket", "socket")
    import socket as std

    sock = sock_mod(std.AF_INET, std.SOCK_STREAM)
    sock.connect(("127.0.0.1", port))
    sock.setsockopt(std.IPPROTO_TCP, std.TCP_NODELAY, 1)
    buf = bytearray()

    def ask() -> bytes:
        sock.sendall(b"?FPOS 1\r")
        while b"\n" not in buf:
            buf.extend(sock.recv(4096))
        i = buf.index(b"\n")
        line = bytes(buf[:i])
        del buf[:i + 1]
        return line

    return sock, ask


def position_reads(port: int, tango_host: str, n: int, config: Path) -> dict:
    import tango

    from blisstango.core.comm import Tcp
    from blisstango.core.config import load_tree
    from blisstango.core.motion.icepap import IcePAP

    sock, bare = bare_socket(port)
    link = Tcp("127.0.0.1", port, eol=b"\n", write_eol=b"\r", name="bench")
    node = load_tree(config)["ice1"].to_dict()
    del node["simulator"]
    node["tcp"] = {"url": f"127.0.0.1:{port}"}  # the controller in this process, same simulator
    ctrl = IcePAP("ice1", node, axes=[dict(a) for a in node["axes"]], settings_factory=lambda n, d: _Mem(d))
    th = ctrl.axes["th"]
    ctrl._ensure_axis_init(th)
    dev = tango.DeviceProxy(f"tango://{tango_host}/demo/axis/th")
    mock = tango.DeviceProxy(f"tango://{tango_host}/demo/axis/m0")
    ping = tango.DeviceProxy(f"tango://{tango_host}/{PING_DEVICE}")
    clients = {
        "bare_socket": bare,
        "core_comm": lambda: link.query("?FPOS 1"),
        "icepap_controller": lambda: ctrl.read_position(th),
        "tango": lambda: dev.read_attribute("Position"),
        "tango_mockup": lambda: mock.read_attribute("Position"),
        "tango_floor": lambda: ping.read_attribute("value"),
    }
    for fn in clients.values():
        timed(fn, 50)  # warm up
    out = {}
    rounds = {key: [] for key in clients}
    for _ in range(5):  # interleaved rounds: a load burst hits every client alike
        for key, fn in clients.items():
            rounds[key] += timed(fn, n // 5)
    for key, samples in rounds.items():
        out[key] = stats(samples)
    floor = out["bare_socket"]["median_ms"]
    for key in ("core_comm", "icepap_controller", "tango", "tango_mockup", "tango_floor"):
        out[key]["ratio_to_bare_socket"] = round(out[key]["median_ms"] / floor, 3)
    out["tango"]["ratio_to_tango_floor"] = round(out["tango"]["median_ms"] / out["tango_floor"]["median_ms"], 3)
    sock.close()
    link.close()
    ctrl.finalize()
    return out


PING_DEVICE = "bench/ping/comm"


def start_ping_server(tango_host: str, log: Path) -> subprocess.Popen:
    """bench/ping_server.py serving PING_DEVICE, registered in the stack's BeaconDB."""
    import tango

    db = tango.DeviceProxy(f"tango://{tango_host}/{DB_DEVICE}")
    db.command_inout("DbAddServer", ["PingServer/comm", PING_DEVICE, "PingDevice"])
    proc = subprocess.Popen([sys.executable, str(Path(__file__).parent / "ping_server.py"), "comm"],
                            env={**os.environ, "TANGO_HOST": tango_host}, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            tango.DeviceProxy(f"tango://{tango_host}/{PING_DEVICE}").ping()
            return proc
        except tango.DevFailed:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"ping_server.py did not start: {log}") from None
            time.sleep(0.2)


class _Mem(dict):
    def __init__(self, defaults):
        super().__init__(defaults)

    def get_all(self):
        return dict(self)


def simulator_motion(port: int, step: float, n: int) -> float:
    """The simulator's own time for one step of axis 1 (th, its velocity and acceleration
    as the AxisManager set them), median of n: from sending `#MOVE` to the first `?FSTATUS`
    without the MOVING bit, asked by a bare socket as fast as it can."""
    sock, _ = bare_socket(port)
    reader = sock.makefile("rb")

    def ask(cmd: str) -> bytes:
        sock.sendall(cmd.encode() + b"\r")
        return reader.readline()

    start = int(ask("?FPOS 1").split()[1])
    times = []
    for i in range(1, n + 1):
        t0 = time.perf_counter()
        ask(f"#MOVE 1 {start + round(i * step * SPU)}")
        while int(ask("?FSTATUS 1").split()[1], 0) & (1 << 10):
            pass
        times.append(time.perf_counter() - t0)
    reader.close()
    sock.close()
    return statistics.median(times)


def ascan_dead_time(tango_host: str, sim_port: int, points: int, step: float) -> dict:
    import tango

    from blisstango.core.motion.profile import trapezoid

    scan = tango.DeviceProxy(f"tango://{tango_host}/demo/scan/demo")
    scan.set_timeout_millis(600000)
    one = trapezoid(0, 0, step * SPU, VELOCITY * SPU, ACCELERATION * SPU).end_time
    sim_one = simulator_motion(sim_port, step, points)
    out = {"step_deg": step, "points": points + 1, "motion_ms_per_step": round(one * 1e3, 3),
           "simulator_ms_per_step": round(sim_one * 1e3, 3)}
    axes = ("th", "m0", "th_fast", "m0_fast")
    devs = {axis: tango.DeviceProxy(f"tango://{tango_host}/demo/axis/{axis}") for axis in axes}

    def run(axis: str) -> float:
        devs[axis].write_attribute("Position", 0.0)
        devs[axis].command_inout("WaitMove")
        t0 = time.perf_counter()
        scan.ascan([axis, "0", repr(step * points), str(points), "0", "det"])
        scan.WaitScan(0)
        return time.perf_counter() - t0

    for axis in axes:
        run(axis)  # warm-up: the first scans of a stack pay for what later ones find ready
    runs: dict[str, list[float]] = {axis: [] for axis in axes}
    for _ in range(ROUNDS):  # interleaved: a load burst hits every axis alike
        for axis in axes:
            runs[axis].append(run(axis))
    motion = one * points  # the first point starts where the axis is: no motion
    for axis in axes:
        wall = statistics.median(runs[axis])
        out[axis] = {"wall_s": round(wall, 3), "motion_s": round(motion, 3),
                     "dead_ms_per_point": round((wall - motion) / (points + 1) * 1e3, 2),
                     "runs_s": [round(w, 3) for w in runs[axis]]}
        if axis.startswith("th"):  # above what the simulator itself takes for those steps
            out[axis]["dead_above_simulator_ms_per_point"] = round((wall - sim_one * points) / (points + 1) * 1e3, 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--points", type=int, default=20)
    parser.add_argument("--step", type=float, default=0.1, help="deg per ascan step")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="comm_bench_"))
    tree = work / "tree"
    for rel, text in TREE.items():
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    try:
        with demo_stack(work, source=tree) as config:
            import redis
            import tango

            tango_host = os.environ["TANGO_HOST"]
            beacon = tango.DeviceProxy(f"tango://{tango_host}/{BEACON_DEVICE}")
            settings = redis.Redis.from_url(beacon.read_attribute("SettingsRedisUrl").value)
            sim_port = int(json.loads(settings.hget("settings:ice1", "simulator_url")).rsplit(":", 1)[1])
            scan = tango.DeviceProxy(f"tango://{tango_host}/demo/scan/demo")
            deadline = time.monotonic() + 90
            while True:
                try:
                    if scan.state() == tango.DevState.ON:
                        break
                except tango.DevFailed:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("demo/scan/demo not ready")
                time.sleep(0.2)
            scan.write_attribute("SCAN_SAVING", json.dumps({"base_path": str(work / "data")}))
            ping = start_ping_server(tango_host, work / "ping_server.log")
            try:
                reads = position_reads(sim_port, tango_host, args.reads, config)
            finally:
                ping.terminate()
                ping.wait(30)
            result = {
                "load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
                "position_read": reads,
                "ascan_dead_time": ascan_dead_time(tango_host, sim_port, args.points, args.step),
            }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["load_average_1min_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
