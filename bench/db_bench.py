"""Benchmark BeaconDB against PyTango's sqlite DataBaseds in the same run; prints JSON.

    .venv/bin/python bench/db_bench.py [--devices 2000] [--calls 400] [--seconds 3]
                                       [--ping-devices 500] [--yaml-devices 10000]

Per database: median / p99 latency (ms) of DbGetDeviceProperty (5 properties),
DbImportDevice, DbPutDeviceProperty, DbGetDeviceExportedList("*") with N devices
registered; read throughput (calls/s) with 1 and 4 client processes and the server's
CPU time per read (independent of how busy the machine is); time until a
server with 500 devices (bench/ping_server.py) answers ping on all of them. For BeaconDB also
the load time of a 10,000-device YAML tree (when the config layer is available).

Server cache: start-up time of the same 500-device server (each device with 5 device
properties and 3 attribute properties) against BeaconDB serving DbGetDataForServerCache
and against BeaconDB --no-server-cache (the per-item fallback); median of --repeats.
``--only server-cache`` runs just that part.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import psutil  # noqa: E402
import tango  # noqa: E402
from helpers.procs import kill_tree, start  # noqa: E402
from helpers.tango_db import BeaconDBProcess, SqliteDBProcess  # noqa: E402

PROPS = ["p0", "p1", "p2", "p3", "p4"]
IOR = "IOR:" + "0" * 200


def populate(db: tango.Database, n: int) -> list[str]:
    names = [f"bench/dev/{i}" for i in range(n)]
    for s in range(0, n, 100):
        args = [f"Bench/{s // 100}"]
        for name in names[s:s + 100]:
            args += [name, "BenchClass"]
        db.command_inout("DbAddServer", args)
    for name in names:
        db.command_inout("DbPutDeviceProperty",
                         [name, "5"] + [x for p in PROPS for x in (p, "1", f"value of {p}")])
        db.command_inout("DbExportDevice", [name, IOR, "benchhost", "1234", "6"])
    return names


def latency(fn, calls: int) -> dict:
    times = []
    for i in range(calls):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"median_ms": round(statistics.median(times), 3),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 3)}


def worker(port: int, n: int, seconds: float) -> None:
    """Client process: mixed reads for `seconds`, prints the call count."""
    db = tango.Database("127.0.0.1", port)
    count, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        name = f"bench/dev/{count % n}"
        if count % 2:
            db.command_inout("DbGetDeviceProperty", [name] + PROPS)
        else:
            db.command_inout("DbImportDevice", name)
        count += 1
    print(count)


def throughput(port: int, n: int, clients: int, seconds: float, server_pid: int) -> dict:
    """Reads per second from `clients` processes, and the server's CPU time per read: the
    figure that does not depend on how many cores the clients leave to the server."""
    server = psutil.Process(server_pid)
    cpu0 = sum(server.cpu_times()[:2])
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", str(port), str(n), str(seconds)],
                              stdout=subprocess.PIPE, text=True) for _ in range(clients)]
    total = sum(int(p.communicate()[0].split()[-1]) for p in procs)
    cpu = sum(server.cpu_times()[:2]) - cpu0
    return {"reads_per_s": round(total / seconds, 1), "server_cpu_us_per_read": round(cpu / total * 1e6, 1)}


def ping_time(db_proc, workdir: Path, ndev: int) -> float | None:
    """Seconds from starting a server with ndev devices until every one answers ping.

    The server is bench/ping_server.py (PyTango, one attribute per device): Debian's
    TangoTest allocates ~10 MB per device, too much for 500 on a shared machine.
    """
    db = tango.Database("127.0.0.1", db_proc.port)
    db.set_timeout_millis(120_000)  # registering 500 devices at once takes PyTango's DB long
    names = [f"ping/test/{i}" for i in range(ndev)]
    db.command_inout("DbAddServer", ["PingServer/ping"] + [x for nm in names for x in (nm, "PingDevice")])
    env = {**os.environ, "TANGO_HOST": db_proc.tango_host}
    t0 = time.perf_counter()
    proc = start([sys.executable, str(Path(__file__).parent / "ping_server.py"), "ping"],
                 workdir / f"ping_server_{db_proc.port}.log", env=env)
    try:
        probe = subprocess.run([sys.executable, __file__, "--pinger", db_proc.tango_host, str(ndev)],
                               env=env, capture_output=True, text=True, timeout=900)
        if probe.returncode != 0:
            return None
        return round(time.perf_counter() - t0, 2)
    finally:
        kill_tree(proc.pid)


def pinger(ndev: int) -> None:
    pending = [f"ping/test/{i}" for i in range(ndev)]
    deadline = time.monotonic() + 500
    while pending and time.monotonic() < deadline:
        still = []
        for name in pending:
            try:
                tango.DeviceProxy(name).ping()
            except tango.DevFailed:
                still.append(name)
        pending = still
        if pending:
            time.sleep(0.2)
    sys.exit(1 if pending else 0)


def yaml_mode(workdir: Path, ndev: int, calls: int) -> dict:
    """BeaconDB on a YAML tree of ndev plain devices (500 per file): in-process load of the
    tree and its Tango view, process start until DbInfo answers, and write latency."""
    from blisstango.core.config.tango_view import bench_tree_load

    tree = workdir / "yaml_tree"
    out = {f"tree_load_{ndev}_devices_s": round(bench_tree_load(tree, ndev), 3)}
    t0 = time.perf_counter()
    proc = BeaconDBProcess(workdir / "beacondb_yaml", config=tree).start()
    out[f"process_start_{ndev}_devices_s"] = round(time.perf_counter() - t0, 2)
    try:
        db = tango.Database("127.0.0.1", proc.port)
        assert len(db.command_inout("DbGetDeviceWideList", "bench/dev/*")) == ndev
        out["DbGetDeviceProperty_2"] = latency(
            lambda i: db.command_inout("DbGetDeviceProperty", [f"bench/dev/{i % ndev}", "p0", "p1"]), calls)
        out["DbPutDeviceProperty_into_500_device_file"] = latency(
            lambda i: db.command_inout("DbPutDeviceProperty", [f"bench/dev/{i % 500}", "1", "p0", "1", str(i)]),
            max(10, calls // 10))
    finally:
        proc.stop()
    return out


def server_cache_start(workdir: Path, ndev: int, repeats: int) -> dict:
    """Start-up (until every device answers ping) with and without the server cache."""
    out = {}
    for label, extra in (("with_cache", []), ("without_cache", ["--no-server-cache"])):
        proc = BeaconDBProcess(workdir / f"beacondb_{label}", extra=["--no-redis", *extra]).start()
        try:
            db = tango.Database("127.0.0.1", proc.port)
            db.set_timeout_millis(60_000)
            names = [f"ping/test/{i}" for i in range(ndev)]
            db.command_inout("DbAddServer", ["PingServer/ping"] + [x for nm in names for x in (nm, "PingDevice")])
            for name in names:
                db.command_inout("DbPutDeviceProperty",
                                 [name, "5"] + [x for p in PROPS for x in (p, "1", f"value of {p}")])
                db.command_inout("DbPutDeviceAttributeProperty2",
                                 [name, "1", "value", "3", "min_value", "1", "0", "max_value", "1", "10",
                                  "unit", "1", "mm"])
            times = [ping_time(proc, workdir, ndev) for _ in range(repeats)]
            out[label] = {"runs_s": times,
                          "median_s": statistics.median(t for t in times if t is not None)}
        finally:
            proc.stop()
    out["speedup"] = round(out["without_cache"]["median_s"] / out["with_cache"]["median_s"], 2)
    return out


def measure(kind: str, cls, args, workdir: Path) -> dict:
    proc = cls(workdir / kind).start()
    try:
        db = tango.Database("127.0.0.1", proc.port)
        db.set_timeout_millis(60_000)
        t0 = time.perf_counter()
        names = populate(db, args.devices)
        out = {"populate_s": round(time.perf_counter() - t0, 2)}
        n = len(names)
        out["DbGetDeviceProperty_5"] = latency(
            lambda i: db.command_inout("DbGetDeviceProperty", [names[i % n]] + PROPS), args.calls)
        out["DbImportDevice"] = latency(lambda i: db.command_inout("DbImportDevice", names[i % n]), args.calls)
        out["DbPutDeviceProperty"] = latency(
            lambda i: db.command_inout("DbPutDeviceProperty", [names[i % n], "1", "p0", "1", str(i)]),
            args.calls)
        out["DbGetDeviceExportedList_all"] = latency(
            lambda i: db.command_inout("DbGetDeviceExportedList", "*"), max(10, args.calls // 10))
        out["read_throughput_1_client"] = throughput(proc.port, n, 1, args.seconds, proc.proc.pid)
        out["read_throughput_4_clients"] = throughput(proc.port, n, 4, args.seconds, proc.proc.pid)
        out[f"ping_{args.ping_devices}_devices_s"] = ping_time(proc, workdir, args.ping_devices)
        return out
    finally:
        proc.stop()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--pinger":
        os.environ["TANGO_HOST"] = sys.argv[2]
        pinger(int(sys.argv[3]))
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--devices", type=int, default=2000)
    p.add_argument("--calls", type=int, default=400)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--ping-devices", type=int, default=500)
    p.add_argument("--yaml-devices", type=int, default=10000)
    p.add_argument("--repeats", type=int, default=3, help="server starts per mode (server cache)")
    p.add_argument("--only", choices=["server-cache"], default=None)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="db_bench_") as tmp:
        work = Path(tmp)
        cache = server_cache_start(work, args.ping_devices, args.repeats)
        if args.only == "server-cache":
            print(json.dumps({f"server_start_{args.ping_devices}_devices": cache}, indent=2))
            return
        result = {"devices": args.devices,
                  "beacondb": measure("beacondb", BeaconDBProcess, args, work),
                  "pytango_sqlite": measure("sqlite", SqliteDBProcess, args, work)}
        result["beacondb_yaml_mode"] = yaml_mode(work, args.yaml_devices, args.calls)
        result[f"server_start_{args.ping_devices}_devices"] = cache
    b, s = result["beacondb"], result["pytango_sqlite"]
    result["ratios_beacondb_over_sqlite"] = {
        **{f"{k}": round(b[k]["reads_per_s"] / s[k]["reads_per_s"], 2)
           for k in ("read_throughput_4_clients", "read_throughput_1_client")},
        "server_cpu_per_read_4_clients": round(s["read_throughput_4_clients"]["server_cpu_us_per_read"]
                                               / b["read_throughput_4_clients"]["server_cpu_us_per_read"], 2),
        **{k: round(s[k]["median_ms"] / b[k]["median_ms"], 2) for k in
           ("DbGetDeviceProperty_5", "DbImportDevice", "DbPutDeviceProperty", "DbGetDeviceExportedList_all")},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
