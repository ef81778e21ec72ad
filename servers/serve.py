"""What every blisstango server's `main()` does once its module has patched gevent: run
its device classes under the server's own name, in gevent green mode (or synchronous)."""

from __future__ import annotations

import ctypes
import functools
import gc
import os
import sys
import threading
import time
import tracemalloc
from typing import Any

import tango
from tango import GreenMode
from tango.server import run

from blisstango.core.comm.address import orb_endpoint_args

#: glibc mallopt parameters (malloc.h)
M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8
#: allocations from this size get their own mapping, returned to the system when freed
MMAP_THRESHOLD = 256 * 1024
#: malloc arenas (glibc's default: 8 per core, one per thread that allocates at once)
ARENA_MAX = 2

#: seconds a thread holding the GIL keeps it while another waits (Python's default: 5 ms)
SWITCH_INTERVAL = 0.001


def serve(name: str, classes: tuple, argv: list[str] | None = None,
          green_mode: GreenMode = GreenMode.Gevent, serial_model: tango.SerialModel | None = None,
          **run_options: Any) -> int:
    """Run the Tango server `name <instance> [options]` (argv[0] becomes `name`, so the
    server registers under it however it was started); returns the exit status.
    The server listens on one address, core.comm.address's (loopback when TANGO_HOST
    is local, the interface towards a remote database otherwise), never on all.
    green_mode Synchronous is for a server whose work runs in threads of its own (a
    detector simulator), its requests served in omniORB's threads. serial_model: Tango's
    (a gevent server's devices with PushedUnderMonitor want BY_DEVICE)."""
    # requests wait for the GIL in omniORB's threads while the hub runs Python: without
    # this, a reply can sit up to 5 ms (the default interval) behind the hub's next work
    # (BeaconDB does the same)
    sys.setswitchinterval(SWITCH_INTERVAL)
    bound_malloc()
    trace_memory(name, os.environ.get("BLISSTANGO_TRACEMALLOC", ""))
    report_greenlets(name, os.environ.get("BLISSTANGO_GREENLETS", ""))
    args = list(sys.argv if argv is None else argv)
    args[0] = name
    args = orb_endpoint_args(args)
    if serial_model is not None:
        run_options["pre_init_callback"] = _serialised(serial_model, run_options.get("pre_init_callback"))
    run(classes, args=args, green_mode=green_mode, **run_options)
    return 0


def _serialised(model: tango.SerialModel, then=None):
    """Pre-init step setting Tango's serialisation model after PyTango's own choice (it
    runs green servers NO_SYNC), with servers.executor's QueueExecutor: BY_DEVICE is what
    makes pushing events safe (servers.pusher), and that executor lets go of the monitor
    while a command waits in the hub, so a long command (WaitMove) blocks neither reads
    nor events."""
    from . import executor

    def pre_init() -> None:
        executor.install(lets_go_of_monitor=model == tango.SerialModel.BY_DEVICE)
        tango.Util.instance().set_serial_model(model)
        if then is not None:
            then()

    return pre_init


def bound_malloc() -> None:
    """Keep a long-running server's freed memory returnable to the system (issue 19's soak).

    glibc gives each of a server's threads (omniORB's pool, ZMQ, a camera's acquisition,
    processing and saving threads) an arena of its own, up to 8 per core, and raises its
    mmap threshold after every large block freed, so large buffers (frames, event
    payloads) come from the arenas after the first: their freed space stays with the
    process, spread over the arenas. Measured (issue 19): the LimaSimulator grew 34 MB/h
    in a 30-min soak with its Python heap flat (tracemalloc), malloc holding 86 MB over 16
    arenas for 36 MB in use; with two arenas and a fixed threshold (large blocks mapped
    and unmapped) it stays flat (128.9 -> 129.1 MB over 210 scans). The glibc
    variables MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_ still win when set."""
    mallopt = getattr(_glibc(), "mallopt", None)
    if mallopt is None:  # not glibc
        return
    if "MALLOC_ARENA_MAX" not in os.environ:
        mallopt(M_ARENA_MAX, ARENA_MAX)
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library, loaded once (None when it is not glibc)."""
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def freeze_startup_objects() -> None:
    """Everything built so far (Tango, numpy, the configuration, the devices, a loaded
    session) lives as long as the server: out of the garbage collector's sight, a full
    collection costs a millisecond or two instead of tens (a PID sample would wait for it).

    The second collection matters as much: Python runs a full collection only once the
    objects promoted since the last one exceed a quarter of those it then kept, and that
    count still included the frozen ones. Collected again, it counts only the few left,
    so full collections come every few tens of thousands of allocations and free the
    reference cycles a finished scan leaves (chain, channels, closures, a killed
    greenlet's traceback) with the data they hold: the ScanServer's heap grew ~160 KB
    per MCA ascan, freed only at the rare full collection."""
    gc.unfreeze()  # a second start-up (a device's Init): what the first froze may be garbage now
    gc.collect()
    gc.freeze()
    gc.collect()


def release_freed_memory() -> tuple[int, float]:
    """Collect the garbage and give the free pages inside malloc's arenas back to the
    system (malloc_trim): (objects collected, seconds taken). For the end of a unit of
    work whose objects hold each other (a scan): their memory is freed only by a full
    collection, and what it frees leaves holes in the heap that glibc keeps (measured on
    the ScanServer: RSS +70-200 KB per MCA ascan with the Python heap flat; one trim gave
    back 10 MB)."""
    t0 = time.perf_counter()
    freed = gc.collect()
    trim = getattr(_glibc(), "malloc_trim", None)
    if trim is not None:  # glibc only
        trim(0)
    return freed, time.perf_counter() - t0


def report_greenlets(name: str, folder: str, period: float = 10.0) -> None:
    """Diagnosis (issue 19's soak): with BLISSTANGO_GREENLETS=<folder> set, write the
    number of greenlet objects of this process (those made after start-up: the frozen
    ones are out of the collector's sight) to <folder>/<name>-<pid>.greenlets every
    `period` s. Greenlets that pile up are work left behind, not only memory."""
    if not folder:
        return
    import greenlet

    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{name}-{os.getpid()}.greenlets")

    def count() -> None:
        while True:
            n = sum(1 for o in gc.get_objects() if isinstance(o, greenlet.greenlet))
            with open(path + ".tmp", "w") as f:
                f.write(str(n))
            os.replace(path + ".tmp", path)
            time.sleep(period)

    threading.Thread(target=count, name="report_greenlets", daemon=True).start()


def trace_memory(name: str, folder: str, period: float = 60.0) -> None:
    """Diagnosis only (a growing server): with BLISSTANGO_TRACEMALLOC=<folder> set, trace
    Python's allocations (15 frames) and dump a snapshot there every `period` s
    (<name>-<pid>-<n>.snap; compare two with tracemalloc.Snapshot.load(...).compare_to)."""
    if not folder:
        return
    tracemalloc.start(15)
    os.makedirs(folder, exist_ok=True)

    def dump() -> None:
        n = 0
        while True:
            time.sleep(period)
            tracemalloc.take_snapshot().dump(os.path.join(folder, f"{name}-{os.getpid()}-{n:03d}.snap"))
            n += 1

    threading.Thread(target=dump, name="trace_memory", daemon=True).start()
