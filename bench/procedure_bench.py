"""RunProcedure round trip and Output event latency, next to Sardana's RunMacro on its
Door, both on the same BeaconDB in the same run; prints JSON.

    .venv/bin/python bench/procedure_bench.py [--runs 100] [--sardana-venv DIR]

Our side: `blisstango up` of a small tree (BeaconDB, NexusWriter, ScanServer of session
`bench` whose setup file defines `empty()` and `stamp()`), the session's Procedures
device bench/procedure/bench. The peer: Sardana's MacroServer server (MacroServer +
Door devices, registered in the same BeaconDB, macros `empty_macro` and `stamp_macro`),
run from a venv of its own (`python3 -m venv DIR && DIR/bin/pip install sardana`; also
$SARDANA_VENV). One plain PyTango client measures both the same way:

- round trip: from the command call until the client's State change event says the run
  has ended (RUNNING then ON), for an empty procedure / macro; also how long the
  command itself takes to return;
- Output latency: the procedure prints time.time() (Sardana: self.output), the client
  subtracts it from the time its Output change event arrives (one host, one clock);
- abort: a run busy in a loop of 50 ms sleeps (it printed "busy"), from AbortProcedure
  (AbortMacro) until the State event says it has ended; also how long the command takes
  to return. Ours alone (Sardana has no scan without a Pool): abort of a procedure in the
  middle of a loopscan (its table has rows), until State ON.

The two take turns run by run (which goes first alternates), so both see the same load.
Ours also by command alone: RunProcedure then WaitProcedure (a client without events).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

from demo_stack import demo_stack

from blisstango.clients.demo_scan import wait_state

SETUP = '''
import time as _time


def empty():
    pass


def stamp():
    print(repr(_time.time()))


def busy():
    print("busy")
    for _ in range(1200):
        sleep(0.05)


def busy_scan():
    loopscan(100000, 0.01, flat)
'''
MACROS = '''
import time

from sardana.macroserver.macro import macro


@macro()
def empty_macro(self):
    pass


@macro()
def stamp_macro(self):
    self.output(repr(time.time()))


@macro()
def busy_macro(self):
    self.output("busy")
    for _ in range(1200):
        time.sleep(0.05)
        self.checkPoint()
'''


def _tree(root: Path) -> Path:
    (root / "sessions").mkdir(parents=True)
    (root / "__init__.yml").write_text("tango:\n  domain: bench\n")
    (root / "sessions" / "bench.yml").write_text(textwrap.dedent("""\
        - name: bench
          plugin: session
          setup-file: ./bench_setup.py
          config-objects: [flat]
        """))
    (root / "counters").mkdir()
    (root / "counters" / "flat.yml").write_text(textwrap.dedent("""\
        - name: flat
          plugin: counters
          class: SimulationCounter
          curve: flat
          background: 100.0
        """))
    (root / "sessions" / "bench_setup.py").write_text(SETUP)
    return root


def _stats(values: list[float]) -> dict:
    values = sorted(values)
    return {"n": len(values), "median": round(statistics.median(values), 3),
            "p90": round(values[int(0.9 * (len(values) - 1))], 3), "min": round(values[0], 3),
            "max": round(values[-1], 3)}


class Watch:
    """State and Output change events of one device, time-stamped on arrival."""

    def __init__(self, dev) -> None:
        import tango

        self.dev = dev
        self.states: list[tuple[float, object]] = []
        self.outputs: list[tuple[float, list[str]]] = []
        self.cond = threading.Condition()
        self.ids = [dev.subscribe_event("State", tango.EventType.CHANGE_EVENT, self._state),
                    dev.subscribe_event("Output", tango.EventType.CHANGE_EVENT, self._output)]

    def _state(self, ev) -> None:
        if not ev.err:
            with self.cond:
                self.states.append((time.perf_counter(), ev.attr_value.value))
                self.cond.notify_all()

    def _output(self, ev) -> None:
        now = time.time()
        if not ev.err and ev.attr_value is not None and ev.attr_value.value is not None:
            with self.cond:
                self.outputs.append((now, list(ev.attr_value.value)))
                self.cond.notify_all()

    def wait_end(self, mark: int, timeout: float = 30.0) -> float:
        """perf_counter of the first ON state event after a RUNNING one, past `mark`."""
        import tango

        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                seen_running = False
                for t, state in self.states[mark:]:
                    if state == tango.DevState.RUNNING:
                        seen_running = True
                    elif seen_running and state == tango.DevState.ON:
                        return t
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.dev.name()}: no RUNNING -> ON state events within {timeout} s "
                                       f"({self.states[mark:]})")
                self.cond.wait(left)

    def wait_stamp(self, mark: int, timeout: float = 30.0) -> float:
        """Arrival time minus the time printed in the first stamp line past `mark`."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for arrival, lines in self.outputs[mark:]:
                    for line in lines:
                        try:
                            return arrival - float(line)
                        except ValueError:
                            continue
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.dev.name()}: no stamp in Output events within {timeout} s")
                self.cond.wait(left)

    def wait_line(self, mark: int, predicate, timeout: float = 60.0) -> None:
        """Until an Output event past `mark` has a line for which predicate(line) is true."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not any(predicate(line) for _, lines in self.outputs[mark:] for line in lines):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.dev.name()}: no such Output line within {timeout} s")
                self.cond.wait(left)

    def close(self) -> None:
        for i in self.ids:
            self.dev.unsubscribe_event(i)


class System:
    """One side of the comparison: its device, how it starts a run, its two procedures."""

    def __init__(self, name: str, dev, run, abort, empty: str, stamp: str, busy: str) -> None:
        self.name, self.dev, self.run, self.abort = name, dev, run, abort
        self.empty, self.stamp, self.busy = empty, stamp, busy
        self.watch = Watch(dev)
        self.calls: list[float] = []
        self.trips: list[float] = []
        self.latencies: list[float] = []
        self.aborts: dict[str, list[float]] = {}

    def round_trip(self, record: bool = True) -> None:
        mark = len(self.watch.states)
        t0 = time.perf_counter()
        self.run(self.dev, self.empty)
        called = time.perf_counter()
        ended = self.watch.wait_end(mark)
        if record:
            self.calls.append((called - t0) * 1000)
            self.trips.append((ended - t0) * 1000)

    def output_latency(self) -> None:
        mark, smark = len(self.watch.states), len(self.watch.outputs)
        self.run(self.dev, self.stamp)
        self.latencies.append(self.watch.wait_stamp(smark) * 1000)
        self.watch.wait_end(mark)

    def abort_latency(self, procedure: str, running, key: str = "abort") -> None:
        """Start `procedure`, wait until an Output line satisfies running(line), abort it:
        how long the command takes to return and until the State event says it ended."""
        mark, omark = len(self.watch.states), len(self.watch.outputs)
        self.run(self.dev, procedure)
        self.watch.wait_line(omark, running)
        t0 = time.perf_counter()
        self.abort(self.dev)
        called = time.perf_counter()
        ended = self.watch.wait_end(mark)
        self.aborts.setdefault(f"{key}_ms", []).append((ended - t0) * 1000)
        self.aborts.setdefault(f"{key}_command_return_ms", []).append((called - t0) * 1000)

    def result(self) -> dict:
        return {"round_trip_ms": _stats(self.trips), "command_return_ms": _stats(self.calls),
                "output_latency_ms": _stats(self.latencies),
                **{k: _stats(v) for k, v in self.aborts.items()}}

    def close(self) -> None:
        self.watch.close()


def measure(systems: list[System], runs: int) -> None:
    """The systems take turns (which goes first alternates), so both see the same load."""
    for system in systems:
        for _ in range(3):   # warm up (first runs import, fill caches)
            system.round_trip(record=False)
    for i in range(runs):
        for system in (systems if i % 2 == 0 else systems[::-1]):
            system.round_trip()
    for i in range(max(10, runs // 5)):
        for system in (systems if i % 2 == 0 else systems[::-1]):
            system.output_latency()
    for i in range(max(5, runs // 20)):
        for system in (systems if i % 2 == 0 else systems[::-1]):
            system.abort_latency(system.busy, lambda line: line == "busy")
    for _ in range(max(5, runs // 20)):   # ours alone: abort in the middle of a scan
        systems[0].abort_latency("busy_scan", lambda line: line.split()[:1] == ["3"], key="abort_in_scan")


def ours():
    import tango

    dev = tango.DeviceProxy("bench/procedure/bench")
    dev.set_timeout_millis(30000)
    wait_state(dev, (tango.DevState.ON,), 90)
    return System("blisstango_procedures", dev, lambda d, name: d.RunProcedure([name]),
                  lambda d: d.AbortProcedure(), "empty", "stamp", "busy")


def command_round_trip(dev, runs: int) -> dict:
    """RunProcedure then WaitProcedure: a client that waits by command, not by events."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        dev.RunProcedure(["empty"])
        dev.WaitProcedure(10.0)
        times.append((time.perf_counter() - t0) * 1000)
    return _stats(times)


def start_sardana(venv: Path, workdir: Path):
    """Sardana's MacroServer + Door registered in our BeaconDB, run from its own venv:
    (System or None, process or None, info)."""
    import tango

    python = venv / "bin" / "python"
    server = venv / "bin" / "MacroServer"
    if not server.exists():
        return None, None, {"available": False,
                            "reason": f"no {server}: python3 -m venv {venv} && {venv}/bin/pip install sardana"}
    version = subprocess.run([str(python), "-c", "import sardana; print(sardana.__version__)"],
                             capture_output=True, text=True).stdout.strip()
    macros = workdir / "macros"
    macros.mkdir()
    (macros / "bench_macros.py").write_text(MACROS)
    db = tango.Database()
    for name, klass in (("bench/macroserver/1", "MacroServer"), ("bench/door/1", "Door")):
        info = tango.DbDevInfo()
        info.name, info._class, info.server = name, klass, "MacroServer/bench"
        db.add_device(info)
    db.put_device_property("bench/macroserver/1", {"MacroPath": [str(macros)], "PoolNames": []})
    db.put_device_property("bench/door/1", {"MacroServerName": ["bench/macroserver/1"]})
    log = open(workdir / "MacroServer.log", "w")
    proc = subprocess.Popen([str(server), "bench"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    door = tango.DeviceProxy("bench/door/1")
    door.set_timeout_millis(30000)
    wait_state(door, (tango.DevState.ON,), 120)
    system = System("sardana_door", door, lambda d, name: d.RunMacro([name]), lambda d: d.AbortMacro(),
                    "empty_macro", "stamp_macro", "busy_macro")
    return system, proc, {"available": True, "version": version}


def stop(proc) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--sardana-venv", default=os.environ.get("SARDANA_VENV", ""),
                        help="venv with sardana installed (default $SARDANA_VENV; none: ours alone)")
    parser.add_argument("--port", type=int, default=0, help="TANGO_HOST port (default: a free one)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="procedure_bench_"))
    result: dict = {"cpus": os.cpu_count(), "runs": args.runs}
    proc = None
    systems: list[System] = []
    with demo_stack(workdir, source=_tree(workdir / "tree"), port=args.port, up_args=("--no-web",)):
        result["load_average_before"] = os.getloadavg()
        try:
            systems.append(ours())
            peer_info = {"available": False, "reason": "no --sardana-venv / $SARDANA_VENV given"}
            if args.sardana_venv:
                peer, proc, peer_info = start_sardana(Path(args.sardana_venv), workdir)
                if peer is not None:
                    systems.append(peer)
            measure(systems, args.runs)
            for system in systems:
                result[system.name] = system.result()
            result["blisstango_procedures"]["run_then_wait_command_ms"] = command_round_trip(systems[0].dev,
                                                                                             args.runs)
            result["sardana_door"] = {**peer_info, **result.get("sardana_door", {})}
        finally:
            for system in systems:
                system.close()
            if proc is not None:
                stop(proc)
    peer = result["sardana_door"]
    if peer.get("available"):
        mine = result["blisstango_procedures"]
        result["sardana_over_blisstango"] = {
            k: round(peer[k]["median"] / mine[k]["median"], 2)
            for k in ("round_trip_ms", "output_latency_ms", "abort_ms")}
    result["load_average_after"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
