"""Benchmark 2D detectors end to end; prints JSON with the peers measured in the same run.

    .venv/bin/python bench/lima_bench.py [--frames-1k 300] [--frames-2k 80] [--reads 40] [--points 200]

saving: a LimaSimulator camera (`blisstango up` on a bench tree) acquires N frames of
1024x1024 and of 2048x2048 uint16 at its top rate with HDF5 saving on (Lima layout,
frames written by pwrite, each file fdatasync'ed before the acquisition is Ready).
Figures: frames/s and MB/s from startAcq until acq_status is Ready again (every frame
saved and on disk); lost = frames acquired minus frames found in the files (must be 0).
Peer: `dd if=/dev/zero bs=<frame> count=N conv=fdatasync` to the same folder.

read_image: readImage(-1) of a 1024x1024 uint16 frame (2 MB), repeated, from a plain
synchronous client: through the LimaBridge (ReadImage: the frame from the camera's buffer,
two Tango hops; and a saved frame, read by the bridge from its file), straight from the
LimaCCDs device (one hop, Lima's DevEncoded), and the peers: a bare PyTango device whose
command returns the same bytes, as DevEncoded (what Lima's readImage is) and as an
unsigned char array (what the bridge's ReadImage is).

ascan_dead_time: `ascan m0 0 1 N 0.001 cam1` on the demo's ScanServer (m0 made fast so
that motion is negligible) and the peer, the same ascan with the diode instead of cam1:
wall time per point (from the scan's start and end times, best of two) minus the
exposure; camera_cost_above_exposure_ms = the difference.
"""

from __future__ import annotations

from blisstango.core import green

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

import h5py  # noqa: E402
import numpy as np  # noqa: E402
from demo_stack import blisstango, free_port, wait_device  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEMO = REPO / "examples" / "demo_beamline"

CAMERAS = """\
- name: cam_1k
  plugin: lima_simulator
  width: 1024
  height: 1024
  readout_time: 0.0
  max_frame_rate: 100000
  buffer_max_memory: {mem}
  beam: {{x: 512, y: 512, sigma_x: 20, sigma_y: 20, flux: 1.0e9}}
- name: cam_2k
  plugin: lima_simulator
  width: 2048
  height: 2048
  readout_time: 0.0
  max_frame_rate: 100000
  buffer_max_memory: {mem}
  beam: {{x: 1024, y: 1024, sigma_x: 40, sigma_y: 40, flux: 1.0e9}}
- name: bridge_1k
  plugin: lima
  tango_url: demo/limaccds/cam_1k
"""


class _Stack:
    def __init__(self, workdir: Path, config: Path) -> None:
        self.workdir, self.config = workdir, config
        self.port = free_port()
        self.run_dir = workdir / "run"

    def __enter__(self):
        blisstango("up", str(self.config), "--detach", "--port", str(self.port), "--run-dir", str(self.run_dir))
        os.environ["TANGO_HOST"] = f"127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run([str(BIN / "blisstango"), "down", "--run-dir", str(self.run_dir)], capture_output=True,
                       timeout=120)

    def device(self, name: str, wait: float = 60.0):
        import tango

        dev = tango.DeviceProxy(f"tango://127.0.0.1:{self.port}/{name}")
        dev.set_timeout_millis(30000)
        deadline = time.monotonic() + wait
        while True:
            try:
                dev.ping()
                return dev
            except tango.DevFailed:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def _bench_tree(workdir: Path, mem_mb: int) -> Path:
    cfg = workdir / "config"
    cfg.mkdir(parents=True)
    shutil.copy(DEMO / "__init__.yml", cfg / "__init__.yml")
    (cfg / "detectors").mkdir()
    (cfg / "detectors" / "bench.yml").write_text(CAMERAS.format(mem=mem_mb))
    return cfg


def _wait_ready(cam, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while cam.acq_status == "Running":
        if time.monotonic() > deadline:
            raise TimeoutError("acquisition still running")
        time.sleep(0.002)


def saving(stack: _Stack, name: str, frames: int, folder: Path) -> dict:
    cam = stack.device(f"demo/limaccds/{name}")
    w, h = (int(v) for v in cam.image_max_dim)
    folder.mkdir(parents=True, exist_ok=True)
    for attr, value in (("acq_mode", "SINGLE"), ("acq_trigger_mode", "INTERNAL_TRIGGER"), ("acq_nb_frames", frames),
                        ("acq_expo_time", 1e-5), ("latency_time", 0.0), ("saving_directory", str(folder)),
                        ("saving_prefix", f"{name}_"), ("saving_suffix", ".h5"), ("saving_format", "HDF5"),
                        ("saving_frame_per_file", 50), ("saving_next_number", 0), ("saving_mode", "AUTO_FRAME"),
                        ("saving_overwrite_policy", "OVERWRITE")):
        cam.write_attribute(attr, value)
    cam.prepareAcq()
    t0 = time.perf_counter()
    cam.startAcq()
    _wait_ready(cam, 600)
    seconds = time.perf_counter() - t0
    assert cam.acq_status == "Ready", cam.acq_status_fault_error
    stored = 0
    for path in sorted(folder.glob(f"{name}_*.h5")):
        with h5py.File(path, "r") as f:
            stored += f["/entry_0000/measurement/data"].shape[0]
    acquired = int(cam.last_image_acquired) + 1
    nbytes = frames * w * h * 2
    out = {"frames": frames, "frame_bytes": w * h * 2, "seconds": round(seconds, 3),
           "frames_per_s": round(frames / seconds, 1), "MB_per_s": round(nbytes / seconds / 1e6, 1),
           "lost": acquired - stored, "saved": stored}
    shutil.rmtree(folder)
    return out


def dd_peer(folder: Path, frame_bytes: int, frames: int) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "dd.bin"
    t0 = time.perf_counter()
    subprocess.run(["dd", "if=/dev/zero", f"of={target}", f"bs={frame_bytes}", f"count={frames}",
                    "conv=fdatasync"], check=True, capture_output=True)
    seconds = time.perf_counter() - t0
    target.unlink()
    return {"seconds": round(seconds, 3), "MB_per_s": round(frame_bytes * frames / seconds / 1e6, 1)}


def _bare_device(nbytes: int):
    """A bare PyTango device returning nbytes, as Lima's DevEncoded and as an unsigned char
    array (what the bridge's ReadImage returns): the transfer peers."""
    import tango
    from tango.server import Device, command

    payload = bytearray(nbytes)
    chars = np.zeros(nbytes, dtype=np.uint8)

    class BareBytes(Device):
        @command(dtype_in=int, dtype_out=tango.DevEncoded)
        def readImage(self, index):
            return "DATA_ARRAY", payload

        @command(dtype_in=int, dtype_out=tango.DevVarCharArray)
        def readChars(self, index):
            return chars

    return BareBytes


def read_image(stack: _Stack, reads: int) -> dict:
    import tango
    from tango.test_context import DeviceTestContext

    cam = stack.device("demo/limaccds/cam_1k")
    bridge = stack.device("demo/lima/bridge_1k")
    deadline = time.monotonic() + 60
    while bridge.state() != tango.DevState.ON and time.monotonic() < deadline:
        time.sleep(0.2)
    for attr, value in (("acq_trigger_mode", "INTERNAL_TRIGGER"), ("acq_nb_frames", 1), ("acq_expo_time", 0.001),
                        ("saving_mode", "MANUAL")):
        cam.write_attribute(attr, value)
    cam.prepareAcq()
    cam.startAcq()
    _wait_ready(cam, 30)
    size = len(cam.readImage(-1)[1])

    def rate(call) -> dict:
        call()
        t0 = time.perf_counter()
        for _ in range(reads):
            call()
        dt = time.perf_counter() - t0
        return {"reads": reads, "ms_per_read": round(1e3 * dt / reads, 2), "MB_per_s": round(size * reads / dt / 1e6, 1)}

    out = {"frame_bytes": size,
           "through_bridge": rate(lambda: bridge.ReadImage(-1)),
           "limaccds_direct": rate(lambda: cam.readImage(-1))}
    # a saved frame: the bridge reads it from its file instead of Lima's DevEncoded transfer
    folder = Path(tempfile.mkdtemp(prefix="lima_bench_read_"))
    try:
        bridge.Prepare(json.dumps({"nb_frames": 1, "expo_time": 0.001, "saving": {"directory": str(folder)}}))
        bridge.Start()
        deadline = time.monotonic() + 30
        while json.loads(bridge.Progress)["status"] != "Ready" and time.monotonic() < deadline:
            time.sleep(0.01)
        out["through_bridge_saved_frame"] = rate(lambda: bridge.ReadImage(-1))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    saved_stdout = os.dup(1)
    os.dup2(2, 1)  # the peer's process prints on its inherited stdout: keep stdout pure JSON
    try:
        ctx = DeviceTestContext(_bare_device(size), process=True)
        ctx.start()
    finally:
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
    with ctx as bare:
        bare.set_timeout_millis(30000)
        out["bare_pytango_peer_devencoded"] = rate(lambda: bare.readImage(-1))
        out["bare_pytango_peer_uchar_array"] = rate(lambda: bare.readChars(-1))
    out["bridge_vs_devencoded_peer"] = round(out["through_bridge"]["MB_per_s"] /
                                             out["bare_pytango_peer_devencoded"]["MB_per_s"], 2)
    out["bridge_vs_uchar_peer"] = round(out["through_bridge"]["MB_per_s"] /
                                        out["bare_pytango_peer_uchar_array"]["MB_per_s"], 2)
    out["bridge_saved_frame_vs_uchar_peer"] = round(out["through_bridge_saved_frame"]["MB_per_s"] /
                                                    out["bare_pytango_peer_uchar_array"]["MB_per_s"], 2)
    return out


def ascan_dead_time(workdir: Path, points: int) -> dict:
    """`ascan m0 0 1 N 0.001 cam1` on the demo's ScanServer, and the same with the diode
    (the scan framework's own cost): per point, wall time minus the exposure."""
    import redis
    import tango

    from blisstango.clients.scan_events import RecordFollower
    from blisstango.core.beacon import BEACON_DEVICE
    from blisstango.core.data import ScanReader

    config = workdir / "config"
    shutil.copytree(DEMO, config)
    with _Stack(workdir, config) as stack:
        dev = wait_device("demo/scan/demo", timeout_ms=600000)
        wait_device("demo/lima/cam1", timeout_ms=600000)
        dev.write_attribute("SCAN_SAVING", json.dumps({"base_path": str(workdir / "data")}))
        m0 = stack.device("demo/axis/m0")
        m0.write_attribute("Acceleration", 1e7)  # motion time negligible: what is left is dead time
        m0.write_attribute("Velocity", 1e5)
        data = redis.Redis.from_url(tango.DeviceProxy(BEACON_DEVICE).read_attribute("DataRedisUrl").value)
        follower = RecordFollower(dev)
        out: dict = {"points": points + 1, "exposure_s": 0.001}
        try:
            for label, counters in (("diode_peer", ["diode"]), ("cam1", ["cam1"]), ("cam1_and_diode", ["cam1", "diode"])):
                best = None
                for _ in range(2):
                    number = dev.ascan(["m0", "0", "1", str(points), "0.001", *counters])
                    rec = follower.wait_end(number, 600)
                    assert rec.end_reason == "SUCCESS", rec.error
                    info = ScanReader(data, rec.key).info
                    per_point = (info["end_time"] - info["start_time"]) / (points + 1)
                    best = per_point if best is None else min(best, per_point)
                out[label] = {"ms_per_point": round(1e3 * best, 2), "dead_ms_per_point": round(1e3 * (best - 0.001), 2)}
        finally:
            follower.close()
        out["camera_cost_above_exposure_ms"] = round(out["cam1"]["dead_ms_per_point"] -
                                                     out["diode_peer"]["dead_ms_per_point"], 2)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames-1k", type=int, default=300)
    p.add_argument("--frames-2k", type=int, default=80)
    p.add_argument("--reads", type=int, default=40)
    p.add_argument("--points", type=int, default=200)
    p.add_argument("--skip-ascan", action="store_true")
    args = p.parse_args()
    result: dict = {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="lima_bench_") as tmp:
        work = Path(tmp)
        mem = max(args.frames_1k * 2, args.frames_2k * 8) + 64  # every frame fits: lost frames are the writer's
        with _Stack(work / "saving", _bench_tree(work / "saving", mem)) as stack:
            data = work / "saving" / "data"
            for name, frames, size in (("cam_1k", args.frames_1k, 1024), ("cam_2k", args.frames_2k, 2048)):
                fig = saving(stack, name, frames, data / name)
                fig["dd_peer"] = dd_peer(data / "dd", fig["frame_bytes"], frames)
                fig["ratio_to_dd"] = round(fig["MB_per_s"] / fig["dd_peer"]["MB_per_s"], 2)
                result[f"saving_{size}x{size}_uint16"] = fig
            result["read_image_1024x1024_uint16"] = read_image(stack, args.reads)
        if not args.skip_ascan:
            result["ascan_dead_time"] = ascan_dead_time(work / "demo", args.points)
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
