"""The peer of regulation_bench: a bare simple-pid loop in a process of its own (no
gevent, no Tango, no Redis), on a first-order plant computed in place, sampling at
absolute times with time.sleep. Prints JSON: the sampling period error statistics.

    python bench/regulation_peer.py --frequency 100 --seconds 10
"""

from __future__ import annotations

import argparse
import json
import math
import time

from simple_pid import PID


def stats(errors: list[float], frequency: float) -> dict:
    e = sorted(abs(x) for x in errors)
    pick = lambda q: e[min(len(e) - 1, int(q * len(e)))] * 1e3  # noqa: E731
    return {"samples": len(e), "period_ms": 1e3 / frequency, "p50_ms": pick(0.5), "p99_ms": pick(0.99),
            "max_ms": e[-1] * 1e3}


def run(frequency: float, seconds: float) -> dict:
    period = 1.0 / frequency
    pid = PID(0.05, 0.02, 0.0, setpoint=40.0, sample_time=None, output_limits=(0.0, 1.0))
    temp, tau, gain = 25.0, 2.5, 100.0
    errors: list[float] = []
    t0 = time.monotonic()
    next_t, last = t0, None
    while True:
        now = time.monotonic()
        if last is not None:
            errors.append((now - last) - period)
        dt = period if last is None else now - last
        last = now
        power = pid(temp, dt=max(dt, 1e-6))
        target = 25.0 + gain * power
        temp = target + (temp - target) * math.exp(-dt / tau)
        if now - t0 >= seconds:
            break
        next_t += period
        if next_t < now - period:
            next_t = now
        time.sleep(max(0.0, next_t - time.monotonic()))
    return stats(errors, frequency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frequency", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(json.dumps(run(args.frequency, args.seconds)))


if __name__ == "__main__":
    main()
