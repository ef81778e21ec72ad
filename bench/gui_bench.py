"""Benchmark of the Taurus GUI against Taurus's own `taurus form`; prints JSON.

    .venv/bin/python bench/gui_bench.py [--runs 3] [--points 10000] [--count-time 0.001]

startup: wall clock (and the process' CPU time: on a loaded machine the wall clock
measures the other processes too) from starting the process to every panel showing values
(`blisstango gui -s demo`'s code, build_gui, in a process of its own, Qt offscreen):
every Taurus label has a value, the synoptic a colour per item, the MCA its spectra,
the regulation trends a first point, the scan plot the last scan. The peer, measured in
the same run: a TaurusForm of the same attributes (what `taurus form <attrs>` shows),
from its process start to every row showing a value. The demo stack (`blisstango up`)
runs the whole time; an ascan was made first so that the plot has a scan to show.

plot_latency: the standalone plot window (`blisstango plot -s demo`'s code) following a
`timescan <count_time> diode npoints=<points>` run by another client: for each RecordData
event, the time from the server's push (the event's timestamp) to the end of the paint
that shows its points; p50/p99 over the scan and over its first and last thirds (a
growing backlog shows as a last third slower than the first), the scan's own rate, and
the time from the scan's end to the last point on screen.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers.demo_stack import DemoStack  # noqa: E402
from helpers.gui import GuiProcess  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (what the start-up costs whatever the
    machine's load: the wall clock of a loaded machine measures the other processes too)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def startup(stack: DemoStack, workdir: Path, what: str, arg: str) -> dict:
    t0 = time.time()
    with GuiProcess(what, arg, stack.tango_host, workdir) as gui:
        reply = gui.request({"eval": "len(taurus.Factory('tango').getExistingAttributes())",
                             "until": "showing_values()", "timeout": 120}, 120)
        if not reply["ok"]:
            raise RuntimeError(f"{what}: not every value shown after 120 s")
        cpu = cpu_seconds(gui.proc.pid)
        models = gui.eval("sorted(n for n, a in taurus.Factory('tango').getExistingAttributes().items() "
                          "if a.hasListeners())")
        return {"seconds": reply["at"] - t0, "cpu_s": cpu, "window_built_s": gui.startup, "attributes": len(models),
                "models": models}


def plot_latency(stack: DemoStack, workdir: Path, points: int, count_time: float) -> dict:
    scan = stack.device("demo/scan/demo", timeout_ms=30000)
    with GuiProcess("plot", "demo", stack.tango_host, workdir) as plot:
        n = scan.timescan([str(count_time), "diode", f"npoints={points}"])
        reply = plot.request({"eval": "time.time()", "until": f"panel('').view is not None and "
                              f"panel('').view.number == {n} and panel('').view.ended and "
                              f"panel('').view.npoints == {points}", "timeout": 600}, 600)
        if not reply["ok"]:
            raise RuntimeError("the plot never showed the whole timescan")
        shown_at = plot.eval("panel('').plot.latencies[-1][1]",
                             until="not panel('').plot._pending_stamps", timeout=30)
        pairs = plot.eval("list(panel('').plot.latencies)")
        drawn = plot.eval("len(panel('').plot.curve_data('simulation:diode')[1])")
    assert scan.WaitScan(60)
    info = json.loads(scan.ScanInfo)
    elapsed = scan.read_attribute("elapsed_time").value
    lat = [1e3 * (p - s) for s, p in pairs]
    third = max(1, len(lat) // 3)
    first, last = lat[:third], lat[-third:]
    end_stamp = max(s for s, _ in pairs)
    return {
        "points": points, "count_time": count_time, "points_drawn": drawn,
        "scan_rate_points_per_s": points / float(elapsed[-1]) if len(elapsed) else None,
        "events": len(lat), "latency_ms_p50": percentile(lat, 50), "latency_ms_p99": percentile(lat, 99),
        "latency_ms_max": max(lat), "first_third_ms_p50": percentile(first, 50),
        "first_third_ms_p99": percentile(first, 99), "last_third_ms_p50": percentile(last, 50),
        "last_third_ms_p99": percentile(last, 99),
        "backlog_grows": percentile(last, 50) > 2 * percentile(first, 50) + 50,
        "end_to_last_point_on_screen_ms": 1e3 * (shown_at - end_stamp),
        "end_reason": info.get("end_reason"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--points", type=int, default=10000)
    parser.add_argument("--count-time", type=float, default=0.0002)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gui_bench") as tmp:
        tmp = Path(tmp)
        stack = DemoStack(tmp / "stack").up()
        try:
            scan = stack.device("demo/scan/demo", timeout_ms=30000)
            scan.ascan(["m0", "0", "1", "10", "0.01", "diode"])
            assert scan.WaitScan(60)
            ours = [startup(stack, tmp / f"gui{i}", "gui", "demo") for i in range(args.runs)]
            models = tmp / "models.txt"
            models.write_text("\n".join(m for m in ours[0]["models"]))
            peer = [startup(stack, tmp / f"form{i}", "form", str(models)) for i in range(args.runs)]
            latency = plot_latency(stack, tmp / "plot", args.points, args.count_time)
        finally:
            stack.down()
    result = {
        "startup": {
            "blisstango_gui_s": [round(r["seconds"], 3) for r in ours],
            "blisstango_gui_median_s": round(statistics.median(r["seconds"] for r in ours), 3),
            "window_built_s": [round(r["window_built_s"], 3) for r in ours],
            "blisstango_gui_cpu_s": [round(r["cpu_s"], 3) for r in ours],
            "attributes": ours[0]["attributes"],
            "peer_taurus_form_s": [round(r["seconds"], 3) for r in peer],
            "peer_taurus_form_median_s": round(statistics.median(r["seconds"] for r in peer), 3),
            "peer_taurus_form_cpu_s": [round(r["cpu_s"], 3) for r in peer],
            "load_average_1min": os.getloadavg()[0],
            "peer_attributes": peer[0]["attributes"],
        },
        "plot_latency": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in latency.items()},
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
