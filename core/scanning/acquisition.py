"""Acquisition objects: the nodes of a chain (masters trigger, slaves acquire).

Life of a node in a scan: prepare() once, start() once, then trigger() for every point
when it is software-triggered (hardware-triggered nodes acquire on their own after
start() and deliver in wait_reading()), stop() always at the end, even after an error.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from time import perf_counter

import gevent

from .channels import AcquisitionChannel


class TriggerMode(enum.StrEnum):
    SOFTWARE = "software"  # the parent master calls trigger() for every point
    HARDWARE = "hardware"  # the device is triggered by a signal; the node only reads


class NodeStats:
    """Count, total, min and max duration of each kind of call on a node.

    Per-point callers take `slot(kind)` once and update its [count, total, min, max] list
    in place with `record(slot, duration)` (no dict lookup per point)."""

    def __init__(self) -> None:
        self._calls: dict[str, list[float]] = {}

    def slot(self, kind: str) -> list:
        s = self._calls.get(kind)
        if s is None:
            s = self._calls[kind] = [0, 0.0, float("inf"), float("-inf")]
        return s

    def add(self, kind: str, duration: float) -> None:
        record(self.slot(kind), duration)

    def add_many(self, kind: str, count: int, total: float, lo: float, hi: float) -> None:
        """Merge statistics a loop accumulated in local variables."""
        if count:
            s = self.slot(kind)
            s[0] += count
            s[1] += total
            s[2] = min(s[2], lo)
            s[3] = max(s[3], hi)

    def timed(self, kind: str, fn: Callable, *args):
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.add(kind, time.perf_counter() - t0)

    def total(self, kind: str) -> float:
        s = self._calls.get(kind)
        return s[1] if s else 0.0

    def as_dict(self) -> dict:
        return {k: {"count": c, "total": t, "min": lo, "max": hi, "mean": t / c}
                for k, (c, t, lo, hi) in self._calls.items() if c}


def record(slot: list, duration: float) -> None:
    """Add one duration to a NodeStats slot."""
    slot[0] += 1
    slot[1] += duration
    if duration < slot[2]:
        slot[2] = duration
    if duration > slot[3]:
        slot[3] = duration


class AcquisitionObject:
    """Base of masters and slaves. `device` is what the node drives (axis, controller)."""

    def __init__(self, device=None, *, name: str | None = None, npoints: int = 1,
                 trigger_mode: TriggerMode = TriggerMode.SOFTWARE) -> None:
        self.device = device
        self.name = name or getattr(device, "name", None) or type(self).__name__
        self.npoints = int(npoints)
        self.trigger_mode = TriggerMode(trigger_mode)
        self.channels: list[AcquisitionChannel] = []
        self.parent: AcquisitionMaster | None = None
        self.stats = NodeStats()

    # overridable steps ----------------------------------------------------------
    def bind_scan(self, scan) -> None:
        """The scan this node runs in, once it has its number and file (before prepare):
        a node that saves data of its own (a detector's images) learns where."""

    def prepare(self) -> None:
        """Configure the device for the whole scan (called once, leaves first)."""

    def start(self) -> None:
        """Arm the device (called once, slaves before masters)."""

    def trigger(self) -> None:
        """Acquire one point (software trigger)."""

    def stop(self) -> None:
        """Stop the device; must be safe to call at any time, also after an error."""

    def wait_ready(self) -> None:
        """Block until the node can take the next trigger."""

    def trigger_callable(self) -> Callable[[], None]:
        """What a master calls per point (trigger, or a faster equivalent bound once the
        node is started)."""
        return self.trigger

    @property
    def trigger_yields(self) -> bool:
        """May trigger() block (sleep, I/O)? Masters trigger several such children in
        parallel greenlets and call the others directly. True unless a node knows better."""
        return True

    def wait_reading(self) -> None:
        """Block until every point the node will deliver has been emitted."""

    def request_stop(self) -> None:
        """A gentle stop was asked: finish the current point, then end."""

    # ----------------------------------------------------------------------------
    def add_channel(self, name: str, dtype="float64", shape=(), unit: str | None = None,
                    kind: str = "data", info: dict | None = None) -> AcquisitionChannel:
        ch = AcquisitionChannel(name, dtype, shape, unit, kind, info)
        self.channels.append(ch)
        return ch

    def description(self) -> dict:
        return {"name": self.name, "class": type(self).__name__, "trigger_mode": self.trigger_mode.value,
                "npoints": self.npoints, "channels": [c.name for c in self.channels]}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class AcquisitionSlave(AcquisitionObject):
    """A leaf: reads data when triggered (or on its own for hardware triggers).

    A hardware-triggered slave overrides reading(): it is spawned after start() and
    joined by wait_reading(); an error in it fails the scan.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._reader: gevent.Greenlet | None = None

    def reading(self) -> None:
        """Read the device until npoints were delivered (hardware-triggered slaves)."""

    def spawn_reading(self) -> gevent.Greenlet:
        self._reader = gevent.spawn(self.stats.timed, "read", self.reading)
        return self._reader

    def wait_reading(self) -> None:
        if self._reader is not None:
            self._reader.get()

    def stop(self) -> None:
        if self._reader is not None and not self._reader.ready():
            self._reader.kill()


class AcquisitionMaster(AcquisitionObject):
    """A node with children; trigger_slaves() triggers its software-triggered children."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.slaves: list[AcquisitionObject] = []
        self._soft_n = 0
        self._run_triggers: Callable[[], None] | None = None  # built by _plan_triggers()

    def iterations(self) -> int:
        """How many times a scan calls trigger() on this node as a top master (0 = until
        stopped)."""
        return self.npoints

    def trigger_slaves(self) -> None:
        """Trigger every software-triggered child and wait for all of them.

        Children that may block (trigger_yields) run in parallel greenlets when there are
        several; the others, and a single blocking one, are called directly in this
        greenlet (no greenlet per point: their calls cannot overlap anyway)."""
        run = self._run_triggers
        if run is None or self._soft_n != len(self.slaves):
            run = self._plan_triggers()
        run()

    def reset_trigger_plan(self) -> None:
        """Forget how children are triggered (a Scan calls it once every node is started:
        trigger modes, count times, statistics and trigger callables are then final)."""
        self._run_triggers = None

    def _plan_triggers(self) -> Callable[[], None]:
        soft = [s for s in self.slaves if s.trigger_mode is TriggerMode.SOFTWARE]
        self._soft_n = len(self.slaves)
        yielding = [s for s in soft if s.trigger_yields]
        spawned = yielding if len(yielding) > 1 else []
        direct = tuple((s.trigger_callable(), s.stats.slot("trigger")) for s in soft if s not in spawned)
        waiting = [s for s in soft if type(s).wait_ready is not AcquisitionObject.wait_ready]
        clock = perf_counter

        def run_direct() -> None:
            for trigger, slot in direct:
                t0 = clock()
                trigger()
                d = clock() - t0
                slot[0] += 1  # inlined record(): this runs once per point
                slot[1] += d
                if d < slot[2]:
                    slot[2] = d
                if d > slot[3]:
                    slot[3] = d

        def run_all() -> None:
            tasks = [gevent.spawn(s.stats.timed, "trigger", s.trigger) for s in spawned]
            try:
                run_direct()
                if tasks:
                    gevent.joinall(tasks, raise_error=True)
            finally:
                gevent.killall([t for t in tasks if not t.ready()])
            for s in waiting:
                s.wait_ready()

        self._run_triggers = run = run_direct if not spawned and not waiting else run_all
        return run
