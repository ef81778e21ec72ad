"""SoftLoop timing jitter in the Regulation server, against a bare simple-pid loop in a
process of its own measured at the same time; prints JSON.

    .venv/bin/python bench/regulation_bench.py [--seconds-10hz 30] [--seconds-100hz 10]

The demo stack is started with `blisstango up` (Redis, BeaconDB, AxisManager,
Regulation, ScanServer, NexusWriter). The loop sample_temp regulates the simulated
furnace at 40 degC at 10 Hz, then at 100 Hz; for each, its sampling period errors
(actual time between two samples minus the nominal period, as the loop records them:
`timing` attribute after `reset_timing`) and the peer's (bench/regulation_peer.py) are
measured over the same window, once with the host otherwise idle and once while the
ScanServer runs `timescan 0.0008 diode` (about 1,000 points/s: events, Redis and
the NexusWriter's HDF5 file all on). The scan's achieved rate is reported beside.
Goal: p99 <= 2 ms at 100 Hz with the scan running.
"""

from __future__ import annotations

from blisstango.core import green
from blisstango.core.beacon import BEACON_DEVICE

green.patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from demo_stack import demo_stack, wait_device  # noqa: E402

PEER = Path(__file__).with_name("regulation_peer.py")


def _scan_rate(data, key: str) -> dict:
    """Points the timescan recorded and their rate (from its elapsed_time channel)."""
    from blisstango.core.data import ScanReader

    elapsed = ScanReader(data, key).read_all("timer:elapsed_time")
    span = float(elapsed[-1] - elapsed[0]) if len(elapsed) > 1 else 0.0
    return {"points": int(len(elapsed)), "points_per_s": (len(elapsed) - 1) / span if span else None}


def window(loop, scan, data, frequency: float, seconds: float, with_scan: bool, count_time: float) -> dict:
    """One measurement window: the loop at `frequency`, the peer beside, the scan or not."""
    loop.write_attribute("sampling_frequency", frequency)
    time.sleep(0.5)
    peer = subprocess.Popen([sys.executable, str(PEER), "--frequency", str(frequency), "--seconds", str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    scan_info = None
    if with_scan:
        number = scan.timescan([str(count_time), "diode", f"npoints={int(seconds * 1000 * 3)}"])
        time.sleep(0.5)   # the scan is running: measure from here
    loop.command_inout("reset_timing")
    time.sleep(seconds)
    soft = json.loads(loop.timing)
    if with_scan:
        scan.StopScan()
        scan.WaitScan(0)
        scan_info = {"scan": number, **_scan_rate(data, json.loads(scan.ScanInfo)["key"])}
    bare = json.loads(peer.communicate(timeout=seconds + 30)[0])
    out = {"softloop_in_server": soft, "bare_simple_pid_process": bare}
    if scan_info:
        out["timescan"] = scan_info
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds-10hz", type=float, default=30.0)
    parser.add_argument("--seconds-100hz", type=float, default=10.0)
    parser.add_argument("--count-time", type=float, default=0.0008,
                        help="timescan count time (0.0008 s gives about 1,000 points/s here)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="regulation_bench_"))
    result: dict = {"load_average_before": os.getloadavg(), "cpus": os.cpu_count()}
    with demo_stack(workdir):
        import tango

        def answers(state) -> bool:
            return state in (tango.DevState.ON, tango.DevState.OFF, tango.DevState.ALARM)

        scan = wait_device("demo/scan/demo", 90, ready=answers, timeout_ms=60000)
        loop = wait_device("demo/loop/sample_temp", 90, ready=answers, timeout_ms=60000)
        scan.write_attribute("SCAN_SAVING", json.dumps({"base_path": str(workdir / "data")}))
        import redis

        data = redis.Redis.from_url(tango.DeviceProxy(BEACON_DEVICE).read_attribute("DataRedisUrl").value)
        loop.write_attribute("setpoint", 40.0)
        loop.command_inout("axis_wait", 60.0)
        for frequency, seconds in ((10.0, args.seconds_10hz), (100.0, args.seconds_100hz)):
            for with_scan in (False, True):
                key = f"{int(frequency)}hz_{'timescan_1000pts' if with_scan else 'idle'}"
                result[key] = window(loop, scan, data, frequency, seconds, with_scan, args.count_time)
        loop.command_inout("stop_regulation")
    result["load_average_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
