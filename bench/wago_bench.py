"""Benchmark the Wago server against a bare Modbus client; prints JSON.

    .venv/bin/python bench/wago_bench.py [--rounds 40] [--batch 25]

A stack (`blisstango up`: Redis, BeaconDB, the coupler emulator, the Wago server) of the
demo's wago1 only. Per call, wall clock in this process, round trips interleaved in
rounds so that the machine's load falls on every method alike:

- DevReadPhys of a thermocouple through Tango (cached: the server answers from its
  process image, refreshed by its polling);
- DevReadNoCachePhys of the same thermocouple (the server reads the coupler);
- a read of the thermocouple attribute (the server reads the coupler, as BLISS's does);
- the same two commands with the key packed in a DeviceData: one round trip, as a C++
  client or core's RemoteMca makes it (given a plain value, PyTango's command_inout first
  asks the device for the argument type: command_query, a second round trip per call);
- the peer: a bare pymodbus client in this process reading the same input registers from
  the same emulator (what any Modbus tool pays).

Goals (issue 15): uncached through Tango <= 2x the bare Modbus read; cached <= 0.3 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import tango  # noqa: E402
from helpers.wago import emulator_address, wago_stack  # noqa: E402
from pymodbus.client import ModbusTcpClient  # noqa: E402

THERMOCOUPLE = "thermocouple2"


def bench_tree(work: Path) -> Path:
    tree = work / "beamline"
    (tree / "wago").mkdir(parents=True)
    (tree / "__init__.yml").write_text("tango:\n  domain: bench\n")
    for name in ("__init__.yml", "wago1.yml"):
        shutil.copy(REPO / "examples" / "demo_beamline" / "wago" / name, tree / "wago" / name)
    return tree


def stats(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {"median_ms": round(statistics.median(s) * 1e3, 4),
            "p99_ms": round(s[min(len(s) - 1, int(len(s) * 0.99))] * 1e3, 4), "n": len(s)}


def interleaved(methods: dict, rounds: int, batch: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in methods}
    for fn in methods.values():  # warm-up
        for _ in range(20):
            fn()
    clock = time.perf_counter
    for _ in range(rounds):
        for name, fn in methods.items():
            out = samples[name]
            for _ in range(batch):
                t0 = clock()
                fn()
                out.append(clock() - t0)
    return samples


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--batch", type=int, default=25)
    opts = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wago_bench_"))
    stack = None
    try:
        stack = wago_stack(work, bench_tree(work), {"bench/wago/wago1": (tango.DevState.ON,)})
        dev = stack.device("bench/wago/wago1")
        key = dev.DevName2Key(THERMOCOUPLE)
        host, port = emulator_address(stack)
        offset = dev.DevLog2Hard([key, 0])[0]
        bare = ModbusTcpClient(host, port=port)
        bare.connect()
        expected = list(dev.DevReadNoCachePhys(key))
        assert bare.read_input_registers(offset, count=1).registers[0] / 10 == expected[0]
        packed = tango.DeviceData()
        packed.insert(dev.command_query("DevReadPhys").in_type, key)
        methods = {
            "tango_DevReadPhys_cached": lambda: dev.DevReadPhys(key),
            "tango_DevReadNoCachePhys": lambda: dev.DevReadNoCachePhys(key),
            "tango_DevReadPhys_cached_packed": lambda: dev.command_inout("DevReadPhys", packed),
            "tango_DevReadNoCachePhys_packed": lambda: dev.command_inout("DevReadNoCachePhys", packed),
            "tango_attribute_read": lambda: dev.read_attribute(THERMOCOUPLE),
            "peer_bare_pymodbus_read": lambda: bare.read_input_registers(offset, count=1),
        }
        samples = interleaved(methods, opts.rounds, opts.batch)
        bare.close()
        result = {"load_average": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
                  **{name: stats(s) for name, s in samples.items()}}
        peer = result["peer_bare_pymodbus_read"]["median_ms"]
        result["ratio_uncached_to_bare_modbus"] = round(result["tango_DevReadNoCachePhys"]["median_ms"] / peer, 2)
        result["ratio_uncached_packed_to_bare_modbus"] = round(
            result["tango_DevReadNoCachePhys_packed"]["median_ms"] / peer, 2)
        result["ratio_attribute_to_bare_modbus"] = round(result["tango_attribute_read"]["median_ms"] / peer, 2)
        result["goals"] = {"uncached_ratio_max": 2.0, "cached_median_ms_max": 0.3}
        print(json.dumps(result, indent=2))
    finally:
        if stack is not None:
            stack.down()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
