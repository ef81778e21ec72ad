"""How soon after the motor stops does a scan step go on? In-process (core alone); prints JSON.

    .venv/bin/python bench/motion_end_bench.py [--points 50]

Each case runs an ascan of `points` steps with a counter that records, at every point,
how long ago the simulated motor physically stopped (its trajectory's end, settling
included): late_ms. Steps of 30 ms (0.1 mm as a 30 ms triangle) and the demo's realistic
steps (0.1 mm at 5 mm/s and 50 mm/s2: 89 ms). Cases:

- reported: the Mockup tells when its trajectory ends (as the IcePAP controller does);
- predicted: it does not, the axis predicts the trapezoid from velocity and acceleration;
- settling_4ms: the motor stays MOVING 4 ms after its trajectory (a closed loop);
- pushed: the controller signals the end itself (no state read while moving);
- slow_5ms: every read of the controller takes 5 ms (BLISS's mockup sleeps that long);
- polled (the peer, measured in the same run): a controller whose end cannot be known,
  polled every polling_time = 20 ms: what every step cost before issue 20.

dead_ms_per_point = (scan wall time - motion profile time, settling included) / steps,
with count time 0.
"""

from __future__ import annotations

from blisstango.core import green

green.patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from blisstango.core.beacon.settings import LocalSettings  # noqa: E402
from blisstango.core.counters import SamplingCounter, SamplingCounterController  # noqa: E402
from blisstango.core.motion.mockup import Mockup  # noqa: E402
from blisstango.core.motion.profile import trapezoid  # noqa: E402
from blisstango.core.scanning import ScanContext  # noqa: E402
from blisstango.core.scanning.scans import ascan  # noqa: E402

STEP = 0.1
STEPS = {"30ms": {"velocity": 50.0, "acceleration": 4 * STEP / 0.030 ** 2},
         "realistic": {"velocity": 5.0, "acceleration": 50.0}}
CASES = {"reported": {}, "predicted": {"report_end": False}, "settling_4ms": {"settling_time": 0.004},
         "pushed": {"push_end": True}, "slow_5ms": {"read_latency": 0.005},
         "polled": {"report_end": False}}


class Lateness(SamplingCounterController):
    """At every point: how long ago the motor stopped (s)."""

    def __init__(self, ctrl: Mockup, axis) -> None:
        super().__init__("late")
        self.ctrl, self.axis = ctrl, axis
        SamplingCounter("since_end", self)

    def read_all(self, *counters):
        return [time.monotonic() - self.ctrl.ended_at(self.axis)]


class PolledOnly(Mockup):
    """Keeps its velocity to itself and tells no end: the axis can only poll it."""

    hardware_owns_velocity = True


def _stats(values: list[float]) -> dict:
    v = sorted(values)
    return {"min": round(v[0], 3), "p50": round(v[len(v) // 2], 3), "p90": round(v[int(len(v) * 0.9)], 3),
            "max": round(v[-1], 3), "mean": round(sum(v) / len(v), 3)}


def run_case(case: str, step: str, points: int) -> dict:
    keys = dict(CASES[case])
    dyn = STEPS[step]
    cls = PolledOnly if case == "polled" else Mockup
    axis = {"name": f"{case}_{step}", "steps_per_unit": 10000, "polling_time": 0.02, **dyn}
    ctrl = cls(f"{case}_{step}_ctrl", keys, axes=[axis], settings_factory=LocalSettings)
    ax = ctrl.axes[axis["name"]]
    if case == "polled":
        ax.velocity, ax.acceleration = dyn["velocity"], dyn["acceleration"]
    ax.position  # noqa: B018 - initialised outside the timing
    counter = Lateness(ctrl, ax)
    t0 = time.perf_counter()
    scan = ascan(ax, 0.0, points * STEP, points, 0.0, counter, context=ScanContext("bench"), save=False)
    wall = time.perf_counter() - t0
    late = [1e3 * x for x in list(scan.get_data("since_end"))[1:]]
    settling = float(keys.get("settling_time", 0.0))
    motion = points * (trapezoid(0.0, 0.0, STEP, dyn["velocity"], dyn["acceleration"]).end_time + settling)
    return {"step_ms": round(1e3 * motion / points, 2), "late_ms": _stats(late),
            "dead_ms_per_point": round(1e3 * (wall - motion) / points, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=50)
    args = parser.parse_args()
    load_before = os.getloadavg()
    out = {step: {case: run_case(case, step, args.points) for case in CASES} for step in STEPS}
    result = {"load_average_before": load_before, "load_average_after": os.getloadavg(),
              "cpus": os.cpu_count(), "points": args.points, **out,
              "peer_bliss_2_4_from_issue_20": {
                  "note": "measured by the issue's author on this machine, not in this run: BLISS 2.4 "
                          "in-process, 40 steps of 0.1 mm at 5 mm/s, 50 mm/s2, mockup read delays removed",
                  "dead_ms_per_point_polling_20ms": 26, "dead_ms_per_point_polling_1ms": 7.4}}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
