"""The demo's alignment scan, driven the way any Tango client would drive it.

An ascan of m0 over the simulated diode and the camera cam1 on demo/scan/demo; the table
of points and the progress bar come from RecordData/Progress change events only; the
peaks (diode, and cam1's `beam` ROI) are computed from the points received; the HDF5 path
is printed once the NexusWriter has finished (the frames are referenced from it).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import numpy as np
import tango

from blisstango.clients.scan_events import RecordFollower, ScanRecord
from blisstango.core.scanning.peak import _half_crossings, _peak

SCAN_DEVICE = "demo/scan/demo"
WRITER_DEVICE = "demo/writer/default"
ASCAN = ["m0", "0", "5", "25", "0.02", "diode", "cam1"]
BEAM = "cam1:roi_counters:beam_sum"


def wait_state(dev: tango.DeviceProxy, states: tuple, timeout: float) -> None:
    """Poll until the device is in one of `states` (a server still starting may refuse)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if dev.state() in states:
                return
        except tango.DevFailed:
            pass
        if time.monotonic() > deadline:
            try:
                status = dev.status()
            except tango.DevFailed as exc:
                status = exc.args[0].desc.strip()
            raise TimeoutError(f"{dev.dev_name()} not in {', '.join(map(str, states))} after {timeout:.0f} s: "
                               f"{status}")
        time.sleep(0.1)


class LiveTable:
    """Prints each new point as a table row and a progress bar under it."""

    def __init__(self, out=sys.stdout) -> None:
        self.out = out
        self.printed = 0
        self.lock = threading.Lock()
        self.tty = out.isatty()
        self.progress = 0.0  # from the device's Progress change events

    def on_progress(self, ev) -> None:
        if not ev.err:
            self.progress = float(ev.attr_value.value)

    def _bar(self, rec: ScanRecord) -> str:
        pct = self.progress
        full = int(pct / 100 * 30)
        return f"  [{'#' * full}{'.' * (30 - full)}] {pct:5.1f}%  {rec.npoints}/{rec.expected} points"

    def __call__(self, rec: ScanRecord, msg: dict) -> None:
        with self.lock:
            if msg.get("event") == "start":
                print(f"scan {rec.number}: {rec.title}", file=self.out)
                print(f"  {'#':>4} {'m0 (mm)':>10} {'diode':>12} {'cam1 beam':>14}", file=self.out)
                return
            m0, diode = rec.data.get("axis:m0", []), rec.data.get("simulation:diode", [])
            beam = rec.data.get(BEAM, [])
            ready = min(len(m0), len(diode), len(beam))
            if self.printed >= ready and msg.get("event") != "end":
                return
            if self.tty and self.printed:
                print("\x1b[1A\x1b[2K", end="", file=self.out)  # redraw the bar below the rows
            while self.printed < ready:
                i = self.printed
                print(f"  {i:>4} {m0[i]:>10.4f} {diode[i]:>12.1f} {beam[i]:>14.1f}", file=self.out)
                self.printed += 1
            print(self._bar(rec), file=self.out, flush=True)


def wait_written(writer, key: str, timeout: float = 30.0) -> dict:
    """The NexusWriter's progress of scan `key` once its state is DONE (or FAULT)."""
    deadline = time.monotonic() + timeout
    last: dict = {}
    while time.monotonic() < deadline:
        try:
            last = json.loads(writer.ScanProgress(key))
            if last.get("state") in ("DONE", "FAULT", "SKIPPED"):
                return last
        except tango.DevFailed:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"NexusWriter did not finish scan {key} within {timeout:.0f} s (last: {last})")


def run_alignment(data_dir: Path) -> dict:
    """Run the demo ascan; returns {scan, peak, cen, fwhm, file, entry, points}."""
    dev = tango.DeviceProxy(SCAN_DEVICE)
    dev.set_timeout_millis(60000)
    wait_state(dev, (tango.DevState.ON, tango.DevState.ALARM), 60)
    dev.write_attribute("SCAN_SAVING", json.dumps({"base_path": str(data_dir)}))
    table = LiveTable()
    follower = RecordFollower(dev, on_message=table)
    progress_id = dev.subscribe_event("Progress", tango.EventType.CHANGE_EVENT, table.on_progress)
    try:
        number = dev.ascan(ASCAN)
        rec = follower.wait_end(number, 60)
    finally:
        dev.unsubscribe_event(progress_id)
        follower.close()
    if rec.end_reason != "SUCCESS":
        raise RuntimeError(f"scan {number} ended {rec.end_reason}: {rec.error}")
    x = np.asarray(rec.data["axis:m0"], dtype=float)
    y = np.asarray(rec.data["simulation:diode"], dtype=float)
    lo, hi = _half_crossings(x, y)
    beam = np.asarray(rec.data[BEAM], dtype=float)
    result = {"scan": number, "peak": _peak(x, y), "cen": (lo + hi) / 2, "fwhm": abs(hi - lo),
              "points": len(x), "beam_peak": _peak(x, beam)}
    info = json.loads(dev.ScanInfo)
    written = wait_written(tango.DeviceProxy(WRITER_DEVICE), info["key"])
    if written.get("state") != "DONE":
        raise RuntimeError(f"NexusWriter could not write scan {number}: {written.get('error')}")
    result.update(file=written["file"], entry=written["entry"])
    return result
