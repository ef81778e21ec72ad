"""Several hosts vs one host, measured in the same run (issue 18): the demo beamline in
Linux network namespaces (needs root, Debian's iproute2), ascan time per point and m0
Position read latency seen by a client.

* one host: namespace `s` runs `blisstango up` (everything) and the client;
* several hosts: `a` runs Redis, BeaconDB and the unplaced servers, `b` AxisManager,
  `c` ScanServer and NexusWriter (each `blisstango up --tango-host --host`), `d` the client.

Prints JSON; the ratio shows what crossing hosts (veth links: little) adds to our protocol.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers import netns  # noqa: E402
from helpers.config_trees import copy_demo, write  # noqa: E402

BIN = Path(sys.executable).parent
CLIENT = REPO / "tests" / "helpers" / "hosts_client.py"
PORT = 10000
HOSTS = """\
hosts:
  b:
    AxisManager/demo: {level: 1}
  c:
    NexusWriter/default: {level: 1}
    ScanServer/demo: {level: 2}
"""


def client(host: netns.Host, tango_host: str, *args: str) -> dict:
    r = host.run([sys.executable, str(CLIENT), *args], env={"TANGO_HOST": tango_host}, timeout=600)
    if r.returncode != 0 or not r.stdout.strip():
        raise RuntimeError(f"client {args} in {host.name}: {r.stdout}\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def wait_ready(host: netns.Host, tango_host: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client(host, tango_host, "command", "demo/scan/demo", "State").get("value") in ("ON", "STANDBY") \
                    and "value" in client(host, tango_host, "read", "m0/Position"):
                return
        except RuntimeError:
            pass
        time.sleep(1)
    raise TimeoutError(f"beamline at {tango_host} not ready after {timeout} s")


def measure(host: netns.Host, tango_host: str, data: Path, reads: int, points: int, repeat: int) -> dict:
    client(host, tango_host, "saving", str(data))
    latency = min((client(host, tango_host, "latency", "m0/Position", str(reads)) for _ in range(repeat)),
                  key=lambda r: r["median_us"])
    scans = []
    for _ in range(repeat):
        out = client(host, tango_host, "ascan", "m0", "0", "1", str(points - 1), "0.001", "diode")
        if out.get("info", {}).get("end_reason") != "SUCCESS":
            raise RuntimeError(f"ascan failed: {out}")
        scans.append(out["seconds"] / points)
    return {"position_read_median_us": latency["median_us"], "position_read_mean_us": latency["mean_us"],
            "ascan_s_per_point": min(scans), "ascan_s_per_point_all": scans, "count_time_s": 0.001,
            "points": points}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--reads", type=int, default=300)
    p.add_argument("--points", type=int, default=50)
    p.add_argument("--repeat", type=int, default=3)
    opts = p.parse_args()
    if netns.available():
        print(json.dumps({"skipped": netns.available()}))
        return 1
    work = Path(tempfile.mkdtemp(prefix="hosts-bench-"))
    cfg = copy_demo(work / "cfg")
    write(cfg, "tango/globals.yml", HOSTS)
    icepap = cfg / "instruments/icepap.yml"  # simulated on the control host's loopback
    icepap.write_text(icepap.read_text().replace("server: demo", "server: instruments"))
    net = netns.Network(["a", "b", "c", "d", "s"])
    result: dict = {"load_before": os.getloadavg(), "cpus": os.cpu_count()}
    try:
        s = net["s"]
        th = f"{s.address}:{PORT}"
        s.popen([str(BIN / "blisstango"), "up", str(cfg), "--address", s.address, "--port", str(PORT),
                 "--run-dir", str(work / "run-s"), "--no-web", "--foreground"], work / "s.log")
        wait_ready(s, th)
        result["one_host"] = measure(s, th, work / "data-s", opts.reads, opts.points, opts.repeat)
        for proc in s.procs:
            netns._stop_tree(proc.pid)
        a = net["a"]
        th = f"{a.address}:{PORT}"
        a.popen([str(BIN / "blisstango"), "up", str(cfg), "--host", "a", "--address", a.address,
                 "--port", str(PORT), "--run-dir", str(work / "run-a"), "--no-web", "--foreground"],
                work / "a.log")
        for name in "bc":
            deadline = time.monotonic() + 120  # the database first
            while "value" not in client(net["d"], th, "command", "sys/database/2", "State"):
                if time.monotonic() > deadline:
                    raise TimeoutError("BeaconDB on a does not answer")
                time.sleep(1)
            net[name].popen([str(BIN / "blisstango"), "up", "--tango-host", th, "--host", name,
                             "--run-dir", str(work / f"run-{name}"), "--foreground"], work / f"{name}.log")
        wait_ready(net["d"], th)
        result["several_hosts"] = measure(net["d"], th, work / "data-d", opts.reads, opts.points, opts.repeat)
    finally:
        net.delete()
    one, many = result["one_host"], result["several_hosts"]
    result["ratio_several_over_one"] = {
        "position_read": many["position_read_median_us"] / one["position_read_median_us"],
        "ascan_per_point": many["ascan_s_per_point"] / one["ascan_s_per_point"]}
    result["load_after"] = os.getloadavg()
    result["goal"] = "ratios within 1.5"
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
