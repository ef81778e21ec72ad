"""Benchmark the MCA path end to end; prints JSON with its peers measured in the same run.

    .venv/bin/python bench/mca_bench.py [--points 3000] [--count-time 0.0005] [--ascan 200]

spectra: `timescan <count_time> mca1 npoints=P` on the demo's ScanServer (demo stack of
`blisstango up`: mca1 = 4 elements x 4096 bins uint32 served by the Mca server, Redis and
the NexusWriter on), once with mca1 in GATE mapping mode (one trigger pulse per point,
spectra read in blocks), in SYNC mode with count time 0 (each pixel lasts from one pulse to
the next: the loop's own pace) and in SOFTWARE mode (one acquisition per point). Figures:
spectra/s per element during the scan, and from the command until the NexusWriter has the
entry DONE; every spectrum is checked in the data Redis (sealed point count) and in the
file ((P, 4096) per element): `lost` must be 0.

writer_replay: the NexusWriter's library (ScanWriter) writing the GATE scan again from the
data Redis into a new file: the file writing speed alone. h5py_peer: the same P x 4
spectra appended by h5py in a bare loop (one resizable chunked dataset per element, as the
writer lays them out) to a file on the same disk.

ascan_dead_time: `ascan m0 0 1 N 0.01 mca1` (SOFTWARE) and the same with the diode
instead of mca1 (the scan framework's own cost): wall time per point minus the count time.
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
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from demo_stack import demo_stack  # noqa: E402

ELEMENTS, BINS = 4, 4096


def _run(dev, follower, command: str, args: list[str]) -> tuple[int, float]:
    t0 = time.monotonic()
    number = getattr(dev, command)(args)
    rec = follower.wait_end(number, 900)
    assert rec.end_reason == "SUCCESS", rec.error
    return number, t0


def _sealed(data, key: str, channel: str) -> int:
    """Points of a channel in the data Redis (its seal's total)."""
    from blisstango.core.data.layout import channel_key

    last = data.xrevrange(channel_key(key, channel), count=1)
    fields = last[0][1] if last else {}
    return int(fields.get(b"end", -1))


def spectra(workdir: Path, points: int, count_time: float, ascan_points: int) -> dict:
    import h5py
    import redis
    import tango

    from blisstango.clients.demo_scan import wait_state, wait_written
    from blisstango.clients.scan_events import RecordFollower
    from blisstango.core.data import ScanReader

    dev = tango.DeviceProxy("demo/scan/demo")
    dev.set_timeout_millis(600000)
    wait_state(dev, (tango.DevState.ON,), 90)
    dev.write_attribute("SCAN_SAVING", json.dumps({"base_path": str(workdir / "data")}))
    mca = tango.DeviceProxy("demo/mca/mca1")
    m0 = tango.DeviceProxy("demo/axis/m0")
    m0.write_attribute("Acceleration", 1e7)
    m0.write_attribute("Velocity", 1e5)
    data = redis.Redis.from_url(tango.DeviceProxy(BEACON_DEVICE).read_attribute("DataRedisUrl").value)
    writer = tango.DeviceProxy("demo/writer/default")
    follower = RecordFollower(dev)
    out: dict = {}
    try:
        for mode in ("GATE", "SYNC", "SOFTWARE"):
            mca.write_attribute("TriggerMode", mode)
            n = max(100, points // 5) if mode == "SOFTWARE" else points
            ct = 0.0 if mode == "SYNC" else count_time   # SYNC: each point lasts until the next pulse
            _, t0 = _run(dev, follower, "timescan", [str(ct), "mca1", f"npoints={n}"])
            key = json.loads(dev.ScanInfo)["key"]
            info = ScanReader(data, key).info
            scan_s = info["end_time"] - info["start_time"]
            done = wait_written(writer, key, 600)
            total = time.monotonic() - t0
            in_redis = [_sealed(data, key, f"mca1:spectrum_det{e}") for e in range(ELEMENTS)]
            with h5py.File(done["file"], "r") as f:
                shapes = [tuple(f[f"{done['entry']}/measurement/spectrum_det{e}"].shape) for e in range(ELEMENTS)]
            if mode == "GATE":
                out["writer_replay"] = _replay(data, key, workdir, n)
            out[f"timescan_{mode.lower()}"] = {
                "points": n, "count_time": ct,
                "spectra_per_s_per_element": n / scan_s,
                "spectra_per_s_per_element_to_file_done": n / total,
                "mb_per_s_to_file_done": n * ELEMENTS * BINS * 4 / total / 1e6,
                "redis_points": in_redis, "file_shapes": shapes,
                "lost": sum(n - r for r in in_redis) + sum(n - s[0] for s in shapes)}
        mca.write_attribute("TriggerMode", "SOFTWARE")
        for counter in ("mca1", "diode"):
            _run(dev, follower, "ascan", ["m0", "0", "1", str(ascan_points), "0.01", counter])
            info = ScanReader(data, json.loads(dev.ScanInfo)["key"]).info
            per_point = (info["end_time"] - info["start_time"]) / (ascan_points + 1)
            out[f"ascan_{counter}"] = {"points": ascan_points + 1, "ms_per_point": 1e3 * per_point,
                                       "dead_ms_per_point": 1e3 * (per_point - 0.01)}
    finally:
        follower.close()
    return out


def _replay(data, key: str, workdir: Path, points: int) -> dict:
    """The NexusWriter's library writing the whole scan again from the data Redis into a
    new file: its own speed, whatever the acquisition's."""
    from blisstango.core.data import ScanReader
    from blisstango.core.data.nexus import ScanWriter

    target = workdir / "replay.h5"
    writer = ScanWriter(ScanReader(data, key), filename_map=lambda _path: str(target))
    t0 = time.monotonic()
    state = writer.run()
    seconds = time.monotonic() - t0
    target.unlink(missing_ok=True)
    return {"state": state.value, "points": points, "spectra_per_s_per_element": points / seconds,
            "mb_per_s": points * ELEMENTS * BINS * 4 / seconds / 1e6}


def h5py_peer(workdir: Path, points: int) -> dict:
    """Bare h5py: P points x 4 spectra appended one point at a time (chunked like the writer)."""
    import h5py

    from blisstango.core.data.nexus.entry import rows_per_chunk

    rng = np.random.default_rng(0)
    block = rng.poisson(3.0, size=(64, ELEMENTS, BINS)).astype(np.uint32)
    path = workdir / "peer.h5"
    t0 = time.monotonic()
    with h5py.File(path, "w") as f:
        dsets = [f.create_dataset(f"det{e}", shape=(0, BINS), maxshape=(None, BINS), dtype=np.uint32,
                                  chunks=(rows_per_chunk(np.dtype(np.uint32), (BINS,)), BINS))
                 for e in range(ELEMENTS)]
        for i in range(points):
            point = block[i % 64]
            for e, ds in enumerate(dsets):
                ds.resize((i + 1, BINS))
                ds[i] = point[e]
        f.flush()
        os.fsync(f.id.get_vfd_handle())
    seconds = time.monotonic() - t0
    path.unlink()
    return {"points": points, "spectra_per_s_per_element": points / seconds,
            "mb_per_s": points * ELEMENTS * BINS * 4 / seconds / 1e6}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=3000)
    parser.add_argument("--count-time", type=float, default=0.0005)
    parser.add_argument("--ascan", type=int, default=200)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="mca_bench_"))
    with demo_stack(workdir):
        through = spectra(workdir, args.points, args.count_time, args.ascan)
    peer = h5py_peer(workdir, args.points)
    gate = through["timescan_gate"]
    result = {"load_average": os.getloadavg(), "cpus": os.cpu_count(), "through_tango": through,
              "h5py_peer": peer,
              "file_writing_over_h5py": through["writer_replay"]["spectra_per_s_per_element"]
              / peer["spectra_per_s_per_element"],
              "acquisition_to_file_over_h5py": gate["spectra_per_s_per_element_to_file_done"]
              / peer["spectra_per_s_per_element"],
              "mca_dead_ms_above_diode": through["ascan_mca1"]["dead_ms_per_point"]
              - through["ascan_diode"]["dead_ms_per_point"]}
    print(json.dumps(result, indent=2))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
