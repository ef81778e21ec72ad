"""Stress for the intermittent crashes of gevent + PyTango processes: counts how many of
N child processes die, per way Python is entered from a thread it did not start.

    python scripts/thread_state_stress.py [--runs 10] [--events 3000] [CASE ...]

Cases (each child is a fresh process; exit code != 0 is a crash):
  foreign-gevent[-pin]  a C thread (pthread_create) enters Python once through the plain
                        PyGILState_Ensure/Release pair and builds a gevent hub there
  event-gevent[-pin]    a Tango change-event callback (PyTango's event thread) builds a
                        hub, waits on a gevent Event and opens a cooperative socket pair
  exit-subscribed       the process exits while still subscribed to a device pushing
                        change events (Tango calls Python while CPython finalizes;
                        objects with a slow __del__ make finalization last a while)
  exit-unsubscribed     the same, unsubscribing first
  exit-subscribed-atexit  the same, an atexit hook unsubscribing whatever is left

The event cases run against a gevent-mode device server started here (no database),
pushing a change event every 0.5 ms. Run it `nice -n 10`: it loads a core.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time

CASES = ("foreign-gevent", "foreign-gevent-pin", "event-gevent", "event-gevent-pin",
         "exit-subscribed", "exit-unsubscribed", "exit-subscribed-atexit")

SERVER = """
from blisstango.core import green
green.patch()
import sys
import gevent
from tango import GreenMode
from tango.server import Device, attribute, run

class Pusher(Device):
    green_mode = GreenMode.Gevent

    def init_device(self):
        super().init_device()
        self.n = 0
        self.set_change_event("counter", True, False)
        gevent.spawn(self.loop)

    def loop(self):
        while True:
            gevent.sleep(0.0005)
            self.n += 1
            self.push_change_event("counter", self.n)

    @attribute(dtype=int)
    def counter(self):
        return self.n

run((Pusher,), args=["Pusher", "s", "-nodb", "-port", sys.argv[1], "-dlist", "stress/push/1"],
    green_mode=GreenMode.Gevent)
"""

CHILD = """
from blisstango.core import green
green.patch()
import ctypes, socket, sys, time
import gevent, gevent.event
case, port, events = sys.argv[1], sys.argv[2], int(sys.argv[3])
from blisstango.servers.request_thread import pin
pinned = case.endswith("-pin")

def use_gevent():
    if pinned:
        pin()
    gevent.get_hub()
    ev = gevent.event.Event()
    ev.set()
    ev.wait()
    a, b = socket.socketpair()
    a.close()
    b.close()

gevent.sleep(0)  # the main thread's hub runs, as in every process of ours
if case.startswith("foreign"):
    libc = ctypes.CDLL(None)
    start = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)(lambda _arg: use_gevent())
    handle = ctypes.c_ulong()
    assert libc.pthread_create(ctypes.byref(handle), None, start, None) == 0
    libc.pthread_join(handle, None)
    sys.exit(0)

import tango
dev = tango.DeviceProxy(f"tango://127.0.0.1:{port}/stress/push/1#dbase=no")
seen = [0]

def callback(ev):
    seen[0] += 1
    if case.startswith("event"):
        use_gevent()

ids = [dev.subscribe_event("counter", tango.EventType.CHANGE_EVENT, callback)
       for _ in range(1 if case.startswith("event") else 20)]
deadline = time.monotonic() + 120
while seen[0] < events and time.monotonic() < deadline:
    time.sleep(0.01)
if case == "exit-unsubscribed" or case.startswith("event"):
    for i in ids:
        dev.unsubscribe_event(i)
if case == "exit-subscribed-atexit":
    import atexit, gc

    def close_all():
        for proxy in [o for o in gc.get_objects() if isinstance(o, tango.DeviceProxy)]:
            for event_id in list(getattr(proxy, "__get_event_map")()):
                proxy.unsubscribe_event(event_id)

    atexit.register(close_all)

class Slow:
    def __del__(self):
        time.sleep(0.0005)  # a finalization that takes a while, as a test session's does

garbage = [Slow() for _ in range(1000)]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_case(case: str, port: int, runs: int, events: int) -> dict[int, int]:
    """{exit code: count} over `runs` children; a child killed after 120 s counts as -9."""
    codes: dict[int, int] = {}
    for _ in range(runs):
        child = subprocess.Popen([sys.executable, "-c", CHILD, case, str(port), str(events)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            code = child.wait(180)
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
        codes[code] = codes.get(code, 0) + 1
    return codes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", help=f"any of {', '.join(CASES)} (default: all)")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--events", type=int, default=3000,
                        help="events each event-case child receives (exit cases: 500)")
    args = parser.parse_args()
    unknown = sorted(set(args.cases) - set(CASES))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    args.cases = args.cases or list(CASES)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while b"Ready to accept request" not in server.stdout.readline():
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"stress server on port {port} did not start")
        for case in args.cases:
            events = args.events if case.startswith("event") else 500
            t0 = time.monotonic()
            codes = run_case(case, port, args.runs, events)
            crashed = sum(n for code, n in codes.items() if code != 0)
            print(f"{case:20s} crashed {crashed}/{args.runs}  exit codes {codes}  "
                  f"({time.monotonic() - t0:.0f} s)", flush=True)
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
