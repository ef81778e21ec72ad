"""NexusWriter throughput from a real data Redis into HDF5; prints JSON.

    .venv/bin/python bench/nexus_bench.py [--points 20000]

catch_up: a finished scan (4 scalar channels, one point per stream entry batch as a
  fast scan publishes them) is written by an in-process WriterService started after
  the scan: points/s = points / time to a complete entry.
live: the same scan published as fast as core.data allows (one point per push) while
  a writer process follows it: publish rate, and how long after the scan's end the
  file is complete (lag).
spectra: 1,024-point int32 spectra (4 KiB per point), catch-up rate in points/s and MB/s.
"""

from __future__ import annotations

from blisstango.core import green

green.patch()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import numpy as np  # noqa: E402
import redis  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers.nexus import WriterProcess, wait_complete  # noqa: E402

from blisstango.core.beacon.redis_server import RedisSupervisor  # noqa: E402
from blisstango.core.data import ScanPublisher  # noqa: E402
from blisstango.core.data.nexus import WriterService  # noqa: E402


def publish(conn, session, filename, npoints, spectrum=0) -> tuple[str, float]:
    pub = ScanPublisher(conn, session, {"scan_nb": 1, "title": "timescan", "filename": filename,
                                        "writer": "nexus", "save": True})
    names = ["timer:elapsed_time", "timer:epoch", "sim:diode", "sim:diode2"]
    for n in names:
        pub.add_channel(n, "float64", ())
    if spectrum:
        pub.add_channel("mca:spectrum", "int32", (spectrum,))
    key = pub.create()
    pub.set_state("STARTED")
    t0 = time.perf_counter()
    spec = np.arange(spectrum, dtype="i4").reshape(1, spectrum) if spectrum else None
    for i in range(npoints):
        for n in names:
            pub.push(n, np.array([float(i)]))
        if spectrum:
            pub.push("mca:spectrum", spec)
        if i % 200 == 0:
            gevent.sleep(0)  # a real scan yields at every point; let the flusher run
    pub.close()
    return key, time.perf_counter() - t0


def catch_up(conn, tmp: Path, npoints: int, spectrum: int = 0) -> dict:
    session = f"cu{spectrum}"
    path = tmp / f"{session}.h5"
    key, _ = publish(conn, session, str(path), npoints, spectrum)
    t0 = time.perf_counter()
    svc = WriterService(conn, [session]).start()
    w = svc.wait_scan(key, timeout=600)
    dt = time.perf_counter() - t0
    svc.stop()
    assert w.state.value == "DONE", w.error
    out = {"points": npoints, "seconds": round(dt, 3), "points_per_s": round(npoints / dt)}
    if spectrum:
        out["MB_per_s"] = round(npoints * spectrum * 4 / dt / 1e6, 1)
    return out


def live(url: str, conn, tmp: Path, npoints: int) -> dict:
    session = "live"
    writer = WriterProcess(url, session, str(tmp / "scans"), str(tmp / "live"), tmp / "live.log").start()
    try:
        _key, pub_dt = publish(conn, session, str(tmp / "scans" / "live.h5"), npoints)
        t_end = time.perf_counter()
        wait_complete(tmp / "live" / "live.h5", "1.1", timeout=600)
        lag = time.perf_counter() - t_end
    finally:
        writer.stop()
    total = pub_dt + lag
    return {"points": npoints, "publish_s": round(pub_dt, 3), "file_complete_after_end_s": round(lag, 3),
            "points_per_s_end_to_end": round(npoints / total)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=20000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        with RedisSupervisor(tmp / "run") as sup:
            conn = redis.Redis.from_url(sup.data_url)
            result = {"catch_up_4_scalars": catch_up(conn, tmp, args.points),
                      "live_4_scalars": live(sup.data_url, conn, tmp, args.points),
                      "catch_up_4_scalars_plus_1024_spectrum": catch_up(conn, tmp, args.points // 4, 1024)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
