"""Soak of the whole demo beamline: beamtime compressed, unattended, bounded (issue 19).

    python bench/soak.py --minutes 30        # the acceptance run
    python bench/soak.py --minutes 5         # a quick look

The demo stack (`blisstango up`, every server) runs, for the time asked, at once:
back-to-back scans of every kind through the ScanServer (ct with the MCA, ascan, amesh
with the MCA, timescan with the camera, loopscan of the regulation and Wago counters), moves
of m1 from a second client, change-event subscribers on m0 coming and going, BeaconDB
property writes and reads, valve1 cycles (Wago), and a steady read load on m0's Position.
The peer, measured in the same run under the same read load: Debian's C++ TangoTest.

Every process (each server, both Redis servers, the peer) is sampled for RSS, open file
descriptors and threads, and our servers for their greenlets (each writes its count:
servers/serve.report_greenlets, BLISSTANGO_GREENLETS set); the JSON gives the figures at
the end of warm-up and at the end, and the growth per hour after warm-up (least squares
over the samples). Every saved scan is checked at the end: its NeXus entry closed, every
measurement as long as the points the data Redis says the scan took. Prints one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import psutil
import redis
import tango

from blisstango.core.beacon import BEACON_DEVICE

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo_stack import BIN, demo_stack, free_port, started, wait_device  # noqa: E402

TANGOTEST = "/usr/lib/tango/TangoTest"
#: the scans run in turn: (command, arguments); ct is not saved (no file to check)
SCANS = [
    ("ct", ["0.05", "diode", "mca1"]),
    ("ascan", ["m0", "0", "2", "20", "0.02", "diode"]),
    ("amesh", ["sx", "0", "1", "4", "sy", "0", "1", "3", "0.02", "diode", "mca1"]),
    ("timescan", ["0.05", "cam1", "npoints=20"]),
    ("loopscan", ["20", "0.02", "sample_tc", "wago1", "diode2"]),
    ("dscan", ["m0", "-0.5", "0.5", "10", "0.02", "diode"]),
]
READ_PERIOD = 0.02  # s between reads of the read load (50 reads/s on each of ours and the peer)


def proxy(name: str, timeout_ms: int = 10000) -> tango.DeviceProxy:
    dev = tango.DeviceProxy(name)
    dev.set_timeout_millis(timeout_ms)
    return dev


def wait_started(name: str, timeout: float = 120) -> tango.DeviceProxy:
    return wait_device(name, timeout, ready=started)


def stack_processes(run_dir: Path) -> dict[str, int]:
    out = subprocess.run([str(BIN / "blisstango"), "status", "--run-dir", str(run_dir), "--json"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    st = json.loads(out)
    procs = {p["name"]: p["pid"] for p in st["processes"] if p["pid"]}
    for kind, pid in zip(("redis-settings", "redis-data"), st["redis"]["pids"]):
        if pid:
            procs[kind] = pid
    return procs


def sample(pids: dict[str, int], greenlets: Path | None = None) -> dict[str, dict]:
    out = {}
    for name, pid in pids.items():
        try:
            p = psutil.Process(pid)
            with p.oneshot():
                out[name] = {"pid": pid, "rss_mb": p.memory_info().rss / 2**20, "fds": p.num_fds(),
                             "threads": p.num_threads()}
        except psutil.NoSuchProcess:
            out[name] = {"pid": pid, "gone": True}
            continue
        # our servers write their greenlet count there (servers/serve.report_greenlets)
        counts = list(greenlets.glob(f"*-{pid}.greenlets")) if greenlets else []
        if counts:
            try:
                out[name]["greenlets"] = int(counts[0].read_text())
            except (OSError, ValueError):
                pass
    return out


class Load:
    """The background activities, each a thread looping until stop; errors are counted
    by activity (a soak reports them, it does not stop on them)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.counts: dict[str, int] = {}
        self.errors: dict[str, list[str]] = {}
        self.threads: list[threading.Thread] = []

    def run(self, name: str, step, period: float) -> None:
        def loop():
            while not self.stop.is_set():
                try:
                    step()
                    self.counts[name] = self.counts.get(name, 0) + 1
                except Exception as exc:  # noqa: BLE001 - reported in the JSON
                    errs = self.errors.setdefault(name, [])
                    if len(errs) < 5:
                        errs.append(f"{type(exc).__name__}: {str(exc)[:300]}")
                    else:
                        errs[-1] = f"... {len(errs)} + more"
                self.stop.wait(period)
        t = threading.Thread(target=loop, name=name, daemon=True)
        t.start()
        self.threads.append(t)

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)


def background(load: Load, peer: str) -> None:
    m0, m1 = proxy("demo/axis/m0"), proxy("demo/axis/m1", 60000)
    tt = proxy(peer)
    db = tango.Database()
    valve = proxy("demo/valve/valve1")
    load.run("read m0 Position", lambda: m0.read_attribute("Position"), READ_PERIOD)
    load.run("read TangoTest double_scalar", lambda: tt.read_attribute("double_scalar"), READ_PERIOD)

    def move():
        m1.write_attribute("Position", random.uniform(0.0, 2.0))
        while m1.state() == tango.DevState.MOVING:
            time.sleep(0.05)
    load.run("move m1 (second client)", move, 0.5)

    def subscriber():  # a GUI panel opened, then closed
        dev = proxy("demo/axis/m0")
        events = []
        eid = dev.subscribe_event("Position", tango.EventType.CHANGE_EVENT, events.append)
        time.sleep(1.0)
        dev.unsubscribe_event(eid)
    load.run("event subscriber", subscriber, 0.5)

    def properties():
        n = load.counts.get("BeaconDB property write+read", 0)
        db.put_property("soak", {"n": [str(n)]})
        got = db.get_property("soak", ["n"])["n"]
        if list(got) != [str(n)]:
            raise AssertionError(f"free property soak/n read {list(got)} after writing {n}")
    load.run("BeaconDB property write+read", properties, 0.5)

    def valve_cycle():
        valve.Open() if random.random() < 0.5 else valve.Close()
        time.sleep(1.5)  # the valve travels 1 s
    load.run("valve1 cycle", valve_cycle, 1.0)


#: the kill phase (--kills N): each process of the stack, as `blisstango status` names it,
#: killed -9 N times at a random moment of a scan that needs it (or of a plain one)
PLAIN = ("loopscan", ["150", "0.02", "diode"])
VICTIMS = {
    "AxisManager/demo": ("ascan", ["m0", "0", "4", "150", "0.02", "diode"]),
    "Mca/default": ("loopscan", ["150", "0.02", "mca1"]),
    "Regulation/demo": ("loopscan", ["150", "0.02", "sample_tc"]),
    "Wago/wago1": ("loopscan", ["150", "0.02", "wago1"]),
    "wago-emulator/wago1": ("loopscan", ["150", "0.02", "wago1"]),
    "LimaBridge/cam1": ("timescan", ["0.05", "cam1", "npoints=100"]),
    "LimaSimulator/cam1_sim": ("timescan", ["0.05", "cam1", "npoints=100"]),
    "ScanServer/demo": PLAIN,
    "NexusWriter/default": PLAIN,
    "BeaconDB": PLAIN,
    "redis-settings": PLAIN,
    "redis-data": PLAIN,
}
NEXT = ("loopscan", ["3", "0.01", "diode"])


def wait_stack(run_dir: Path, names: list[str], timeout: float = 90.0) -> None:
    """Until every one of `names` has a live pid and the scan and axis devices answer
    started: the stack has recovered without anybody doing anything."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            pids = stack_processes(run_dir)
            if all(psutil.pid_exists(pids.get(n, 0) or -1) for n in names):
                for dev in ("demo/scan/demo", "demo/axis/m0", "demo/mca/mca1", "demo/lima/cam1",
                            "demo/wago/wago1"):
                    if not started(proxy(dev, 3000).state()):
                        raise RuntimeError(f"{dev} not started")
                return
        except (subprocess.SubprocessError, tango.DevFailed, RuntimeError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the stack did not recover within {timeout} s")
        time.sleep(0.5)


def kill_phase(run_dir: Path, data: redis.Redis, kills: int) -> dict:
    """Each victim killed -9 `kills` times mid-scan. Per victim: how many scans ended
    (never hung) and how fast after the kill, how many named the lost server when they
    failed, whether the stack recovered and the next scan succeeded untouched, and every
    saved scan's file checked against the data Redis."""
    scan_dev = proxy("demo/scan/demo", 120000)
    report = {}
    for victim, (command, args) in VICTIMS.items():
        row = {"kills": 0, "scan_hung": 0, "ended_after_s_max": 0.0, "failed_naming_server": 0,
               "failed_without_naming": [], "recovered": 0, "next_scan_ok": 0, "next_scan_errors": [],
               "files_incomplete": []}
        for _ in range(kills):
            try:
                kill_round(victim, command, args, run_dir, data, scan_dev, row)
            except Exception as exc:  # noqa: BLE001 - a round that went wrong is reported, the rest go on
                row.setdefault("round_errors", []).append(f"{type(exc).__name__}: {str(exc)[:200]}")
        report[victim] = row
    return report


def kill_round(victim: str, command: str, args: list[str], run_dir: Path, data: redis.Redis,
               scan_dev: tango.DeviceProxy, row: dict) -> None:
    """One kill of `victim` in the middle of a scan, and what followed (into row)."""
    wait_stack(run_dir, list(VICTIMS))
    pid = stack_processes(run_dir)[victim]
    getattr(scan_dev, command)(args)
    time.sleep(random.uniform(0.3, 1.5))
    os.kill(pid, 9)
    killed = time.monotonic()
    row["kills"] += 1
    if victim != "ScanServer/demo":  # its successor closes the scan (InterruptedScan)
        try:
            scan_dev.WaitScan(60)
            row["ended_after_s_max"] = max(row["ended_after_s_max"], round(time.monotonic() - killed, 2))
            info = json.loads(scan_dev.ScanInfo)
            if info.get("end_reason") == "FAILURE":
                server = victim.split("/")[0] if "/" in victim else victim
                if server in (info.get("error") or ""):
                    row["failed_naming_server"] += 1
                elif len(row["failed_without_naming"]) < 3:
                    row["failed_without_naming"].append((info.get("error") or "")[:200])
            elif info.get("end_reason") == "SUCCESS":
                row["scans_ended_success"] = row.get("scans_ended_success", 0) + 1
            if info.get("end_reason") == "SUCCESS" and info.get("save") and info.get("filename"):
                if (problem := check_file(data, info)) and len(row["files_incomplete"]) < 3:
                    row["files_incomplete"].append(problem)
        except tango.DevFailed:
            row["scan_hung"] += 1
    try:
        wait_stack(run_dir, list(VICTIMS))
        row["recovered"] += 1
        getattr(scan_dev, NEXT[0])(NEXT[1])
        scan_dev.WaitScan(60)
        info = json.loads(scan_dev.ScanInfo)
        if info.get("end_reason") == "SUCCESS":
            row["next_scan_ok"] += 1
        elif len(row["next_scan_errors"]) < 3:
            row["next_scan_errors"].append(f"{info.get('end_reason')}: {(info.get('error') or '')[:200]}")
    except (tango.DevFailed, TimeoutError) as exc:
        if len(row["next_scan_errors"]) < 3:
            row["next_scan_errors"].append(str(exc)[:200])


def growth(series: list[tuple[float, float]]) -> float | None:
    """Slope per hour of (t s, value) by least squares; None with fewer than 3 samples."""
    if len(series) < 3:
        return None
    t, v = np.array(series).T
    return float(np.polyfit(t, v, 1)[0] * 3600)


def check_file(conn: redis.Redis, scan: dict) -> str | None:
    """None when the scan's entry is closed and every 1-D measurement has the points the
    data Redis says it took; else what is wrong."""
    raw = conn.get(f"scan:{scan['key']}")
    if raw is None:
        return f"scan {scan['key']}: no info in the data Redis any more"
    info = json.loads(raw)
    entry = f"{info['scan_nb']}.1"
    deadline = time.monotonic() + 60
    while True:
        try:
            with h5py.File(info["filename"], "r", locking=False) as f:
                if entry in f and "end_time" in f[entry]:
                    meas = f[entry]["measurement"]
                    short = {n: meas[n].shape[0] for n in meas
                             if isinstance(meas[n], h5py.Dataset) and meas[n].ndim == 1
                             and meas[n].shape[0] != info["npoints_done"]}
                    if info.get("end_reason") != "SUCCESS":
                        return f"{entry}: ended {info.get('end_reason')}: {info.get('error')}"
                    return f"{entry}: measurements {short} != {info['npoints_done']} points" if short else None
        except OSError:
            pass
        if time.monotonic() > deadline:
            return f"{info['filename']} {entry}: not closed within 60 s"
        time.sleep(0.5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="length of the soak (default 30)")
    ap.add_argument("--warmup", type=float, default=None, help="s before the reference sample "
                    "(default: a fifth of the run, at most 5 min)")
    ap.add_argument("--sample", type=float, default=10.0, help="s between samples")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--kills", type=int, default=0, help="then kill -9 each process this many times "
                    "mid-scan (the fault matrix's long form; issue 19 asks 10)")
    opts = ap.parse_args()
    work = opts.workdir or Path(tempfile.mkdtemp(prefix="soak_"))
    greenlets = work / "greenlets"
    os.environ["BLISSTANGO_GREENLETS"] = str(greenlets)  # the stack's servers inherit it
    total = opts.minutes * 60
    warmup = opts.warmup if opts.warmup is not None else min(300.0, total / 5)
    with demo_stack(work) as _config:
        run_dir = work / "run"
        scan_dev = wait_started("demo/scan/demo")
        scan_dev.set_timeout_millis(120000)
        for name in ("demo/axis/m0", "demo/mca/mca1", "demo/lima/cam1", "demo/valve/valve1", "demo/wago/wago1"):
            wait_started(name)
        scan_dev.write_attribute("SCAN_SAVING", json.dumps({"base_path": str(work / "data")}))
        port = free_port()
        peer_log = open(work / "tangotest.log", "w")  # noqa: SIM115 - open for the peer's life
        peer_proc = subprocess.Popen([TANGOTEST, "soak", "-nodb", "-dlist", "sys/tg_test/1",
                                      "-ORBendPoint", f"giop:tcp:127.0.0.1:{port}"],
                                     stdout=peer_log, stderr=subprocess.STDOUT)
        load = Load()
        try:
            peer = f"tango://127.0.0.1:{port}/sys/tg_test/1#dbase=no"
            wait_started(peer, 30)
            pids = stack_processes(run_dir)
            pids["peer TangoTest (C++)"] = peer_proc.pid
            data = redis.Redis.from_url(proxy(BEACON_DEVICE).read_attribute("DataRedisUrl").value)
            background(load, peer)
            t0 = time.monotonic()
            samples: list[tuple[float, dict, float]] = []
            scans: list[dict] = []
            scan_errors: list[str] = []
            next_sample = 0.0
            i = 0
            while (now := time.monotonic() - t0) < total:
                if now >= next_sample:
                    samples.append((now, sample(pids, greenlets), data.info("memory")["used_memory"] / 2**20))
                    next_sample = now + opts.sample
                command, args = SCANS[i % len(SCANS)]
                i += 1
                try:
                    getattr(scan_dev, command)(args)
                    scan_dev.WaitScan(120)
                    info = json.loads(scan_dev.ScanInfo)
                    if info.get("end_reason") != "SUCCESS":
                        scan_errors.append(f"{command}: {info.get('end_reason')}: {info.get('error')}")
                    if info.get("save") and info.get("filename"):
                        scans.append({"key": info["key"], "command": command})
                except tango.DevFailed as exc:
                    scan_errors.append(f"{command}: {exc.args[0].desc.strip()[:300]}")
            samples.append((time.monotonic() - t0, sample(pids, greenlets), data.info("memory")["used_memory"] / 2**20))
            load.join()
            restarts = {p["name"]: p["restarts"] for p in json.loads(subprocess.run(
                [str(BIN / "blisstango"), "status", "--run-dir", str(run_dir), "--json"],
                capture_output=True, text=True, timeout=60).stdout)["processes"] if p["restarts"]}
            problems = [p for p in (check_file(data, s) for s in scans) if p]
            faults = kill_phase(run_dir, data, opts.kills) if opts.kills else None
        finally:
            load.stop.set()
            peer_proc.kill()
            peer_proc.wait()
            peer_log.close()

    after = [s for s in samples if s[0] >= warmup] or samples[-2:]
    ref, end = after[0], samples[-1]
    processes = {}
    for name in pids:
        first, last = ref[1].get(name, {}), end[1].get(name, {})
        if first.get("gone") or last.get("gone") or not first or not last:
            processes[name] = {"gone": True, "pid_at_start": first.get("pid"), "pid_at_end": last.get("pid")}
            continue
        series = [(t, s[name]) for t, s, _ in after if name in s and not s[name].get("gone")]
        processes[name] = {
            "rss_mb": [round(first["rss_mb"], 1), round(last["rss_mb"], 1)],
            "rss_mb_per_hour": round(growth([(t, v["rss_mb"]) for t, v in series]) or 0.0, 2) + 0.0,
            "fds": [first["fds"], last["fds"]],
            "fds_per_hour": round(growth([(t, v["fds"]) for t, v in series]) or 0.0, 1) + 0.0,
            "threads": [first["threads"], last["threads"]],
        }
        if "greenlets" in first and "greenlets" in last:
            processes[name]["greenlets"] = [first["greenlets"], last["greenlets"]]
            processes[name]["greenlets_per_hour"] = round(growth(
                [(t, v["greenlets"]) for t, v in series if "greenlets" in v]) or 0.0, 1) + 0.0
    print(json.dumps({
        "minutes": opts.minutes,
        "warmup_s": warmup,
        "samples_after_warmup": len(after),
        "measured_s": round(end[0] - ref[0], 1),
        "scans_run": i,
        "scans_saved_checked": len(scans),
        "scan_errors": scan_errors[:20],
        "files_incomplete": problems[:20],
        "background": load.counts,
        "background_errors": load.errors,
        "restarts": restarts,
        "redis_data_used_mb": [round(ref[2], 1), round(end[2], 1)],  # scans kept 24 h, within maxmemory
        "processes": processes,
        "kill_phase": faults,
        "peer": "peer TangoTest (C++): sys/tg_test/1 under the same 50 reads/s as m0's Position",
        "workdir": str(work),
    }, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
