"""Scan: runs an AcquisitionChain, publishes its data, always stops every node.

Order (DESIGN.md §5): prepare leaves first up to the top masters, nodes of one level in
parallel greenlets; start in the same order (slaves before masters); each top master
then loops in its own greenlet (before_iteration, trigger, after_iteration) until its
iterations are done, a gentle stop, an error or an abort; hardware readers are joined;
finally every node is stopped, top masters first (motion stops before detectors).
"""

from __future__ import annotations

import enum
import getpass
import logging
import time
from collections.abc import Iterable

import gevent
import gevent.event
import numpy as np

from ..data.interrupted import runner_tag
from ..data.publisher import ScanPublisher
from .acquisition import AcquisitionMaster, AcquisitionObject, AcquisitionSlave
from .chain import AcquisitionChain
from .context import ScanContext, current_context
from .presets import ScanPreset, WatchdogCallback

log = logging.getLogger(__name__)


class EndReason(enum.StrEnum):
    SUCCESS = "SUCCESS"
    USER_STOP = "USER_STOP"  # gentle stop: the current point was finished
    USER_ABORT = "USER_ABORT"  # abort or Ctrl-C: everything stopped at once
    FAILURE = "FAILURE"  # an exception in a node, a preset or the watchdog


class ScanState(enum.StrEnum):
    IDLE = "IDLE"
    PREPARING = "PREPARING"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    DONE = "DONE"


class ScanAborted(Exception):
    """The scan was aborted (abort() or Ctrl-C)."""


class ScanData:
    """Channel data of a finished (or running) scan, by full or short channel name."""

    def __init__(self, scan: Scan) -> None:
        self._scan = scan

    def _resolve(self, name: str) -> str:
        chans = self._scan._channels
        if name in chans:
            return name
        matches = [n for n in chans if n.rsplit(":", 1)[-1] == name or n.split(":", 1)[-1] == name]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise KeyError(f"scan {self._scan.name}: no channel {name!r}; channels are {sorted(chans)}")
        raise KeyError(f"scan {self._scan.name}: {name!r} is ambiguous: {sorted(matches)}")

    def __getitem__(self, name: str) -> np.ndarray:
        ch = self._scan._channels[self._resolve(name)]
        parts, _ = ch.blocks()
        if ch.kind == "ref":
            return parts[0] if parts else []
        if not parts:
            return np.empty((0, *[max(s, 0) for s in ch.shape]), dtype=ch.dtype)
        if len(parts) == 1:
            return parts[0]
        if len({p.shape[1:] for p in parts}) == 1:
            return np.concatenate(parts)
        return [pt for p in parts for pt in p]

    def __contains__(self, name: str) -> bool:
        try:
            self._resolve(name)
            return True
        except KeyError:
            return False

    def keys(self) -> list[str]:
        return list(self._scan._channels)


class Scan:
    """One run of a chain. run() blocks; start() returns at once (wait() to join)."""

    def __init__(self, chain: AcquisitionChain, name: str = "scan", scan_info: dict | None = None, *,
                 context: ScanContext | None = None, save: bool = True,
                 presets: Iterable[ScanPreset] = (), watchdog: WatchdogCallback | None = None) -> None:
        self.chain = chain
        self.name = name
        self.context = context or current_context()
        self.save = save
        self.presets: list[ScanPreset] = list(presets)
        self.watchdog = watchdog
        self.scan_info: dict = dict(scan_info or {})
        self.state = ScanState.IDLE
        self._created = gevent.event.Event()  # set when it is preparing, or its task is over
        self.end_reason: EndReason | None = None
        self.error: BaseException | None = None
        self.scan_number: int | None = None
        self.publisher: ScanPublisher | None = None
        self._channels = {}
        self._task: gevent.Greenlet | None = None
        self._loops: list[gevent.Greenlet] = []
        self._stop_requested = False
        self._aborting = False
        self.iterations_done = 0
        self.data = ScanData(self)

    # ------------------------------------------------------------------ public
    @property
    def key(self) -> str | None:
        """Key of the scan in the data Redis (None when not published)."""
        return self.publisher.key if self.publisher else None

    def get_data(self, name: str | None = None):
        return self.data if name is None else self.data[name]

    def add_preset(self, preset: ScanPreset) -> None:
        self.presets.append(preset)

    def run(self) -> Scan:
        """Run to the end; re-raises the error of a failed scan, ScanAborted on abort."""
        self.start()
        try:
            self.wait()
        except KeyboardInterrupt:
            self.abort()
            raise
        return self

    def start(self) -> gevent.Greenlet:
        if self._task is not None:
            raise RuntimeError(f"scan {self.name} was already started")
        self._task = gevent.spawn(self._run)
        # ended before it was created (an error, killed before it ran): the waiter wakes
        # once the task is over, and finds it ready with its error
        self._task.link(lambda _: self._created.set())
        return self._task

    def wait_created(self, timeout: float | None = None) -> bool:
        """Until the scan is created (published, its presets' before_scan run: the locks
        taken) and preparing, or its task is over (it failed before that: see `error`);
        False on timeout. What a server waits for before it says the scan started."""
        return self._created.wait(timeout)

    def wait(self, timeout: float | None = None) -> None:
        self._task.join(timeout)
        if not self._task.ready():
            raise TimeoutError(f"scan {self.name} still running after {timeout} s")
        if self.end_reason is EndReason.USER_ABORT:
            raise ScanAborted(f"scan {self.name} was aborted")
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        """Gentle stop: finish the current point of each top master, then stop."""
        self._stop_requested = True
        for node in self.chain.nodes:
            node.request_stop()

    def abort(self) -> None:
        """Stop everything now (motion included); blocks until the nodes are stopped."""
        if self._task is None or self._task.ready():
            return
        if self._aborting or self.state in (ScanState.STOPPING, ScanState.DONE):
            self._task.join()  # already aborting or stopping every node: a second kill would
            return             # interrupt that stopping
        self._aborting = True
        self._task.kill(ScanAborted(f"scan {self.name} aborted"), block=True)

    @property
    def statistics(self) -> dict:
        """Per node: {prepare|start|trigger|read|stop: {count,total,min,max,mean}}."""
        return {n.name: n.stats.as_dict() for n in self.chain.nodes}

    # ------------------------------------------------------------------ engine
    def _run(self) -> None:
        watchdog = None
        try:
            self._create()
            for p in self.presets:
                p.before_scan(self)
            self.state = ScanState.PREPARING
            self._created.set()
            self._per_level(reversed(self.chain.levels()), "prepare")
            self._publish_state("PREPARED", later=True)  # sent with STARTED: one round trip
            self.state = ScanState.STARTING
            self._per_level(reversed(self.chain.levels()), "start")
            for node in self.chain.nodes:
                if isinstance(node, AcquisitionMaster):
                    node.reset_trigger_plan()
            start_time = time.time()
            self.state = ScanState.RUNNING
            if self.watchdog is not None:
                watchdog = gevent.spawn(self._watchdog_loop, gevent.getcurrent())
            self._loops = [gevent.spawn(self._loop, top) for top in self.chain.top_masters]
            # STARTED goes out through the flusher, after the loops' start: the first point
            # waits neither for its round trip nor for building it (~0.7 ms of CPU here),
            # and the flusher still sends it before any point
            self._publish_state("STARTED", background=True, start_time=start_time)
            gevent.joinall(self._loops, raise_error=True)
            if not self._stop_requested:  # after a gentle stop, readers are stopped with the rest
                for node in self.chain.nodes:
                    node.wait_reading()
            self.end_reason = EndReason.USER_STOP if self._stop_requested else EndReason.SUCCESS
        except (ScanAborted, gevent.GreenletExit, KeyboardInterrupt):
            self.end_reason = EndReason.USER_ABORT
        except BaseException as exc:  # the scan records any error as its end reason
            self.end_reason = EndReason.FAILURE
            self.error = exc
        finally:
            self.state = ScanState.STOPPING
            if watchdog is not None:
                watchdog.kill()
            gevent.killall([g for g in self._loops if not g.ready()])
            self._stop_nodes()
            for p in self.presets:
                self._guard(p.after_scan, self)
            if self.watchdog is not None:
                self._guard(self.watchdog.on_scan_end, self)
            self._close()
            self.state = ScanState.DONE
            self.context.last_scan = self

    def _create(self) -> None:
        ctx = self.context
        saving = ctx.scan_saving
        if saving is not None:
            paths = saving.get()
            self.scan_number = saving.next_scan_number() if self.save else None
            self.scan_info.setdefault("filename", paths["filename"] if self.save else None)
            self.scan_info.setdefault("writer", paths["writer"])
        else:
            self.scan_number = ctx.next_local_number()
        for node in self.chain.nodes:
            node.bind_scan(self)
        for ch in self.chain.channels:
            if ch.name in self._channels:
                raise ValueError(f"scan {self.name}: two nodes publish a channel named {ch.name!r}")
            self._channels[ch.name] = ch
            ch.reset()
        info = dict(self.scan_info)
        info.update(title=info.get("title", self.name), name=self.name, scan_nb=self.scan_number,
                    save=self.save, user=getpass.getuser(), runner=runner_tag(),
                    chain=self.chain.description())
        self.scan_info = info
        if ctx.data_redis is not None:
            self.publisher = ScanPublisher(ctx.data_redis, ctx.session, info, **ctx.publisher_options)
            for ch in self._channels.values():
                self.publisher.add_channel(ch.name, ch.dtype, ch.shape, ch.unit, ch.kind, **ch.info)
            self.publisher.create()
            for ch in self._channels.values():
                self.publisher.attach(ch.name, ch)

    def _per_level(self, levels, step: str) -> None:
        for level in levels:
            if len(level) == 1:
                node = level[0]
                node.stats.timed(step, getattr(node, step))
                self._after_step(node, step)
                continue
            tasks = [gevent.spawn(n.stats.timed, step, getattr(n, step)) for n in level]
            try:
                gevent.joinall(tasks, raise_error=True)
            finally:
                gevent.killall([t for t in tasks if not t.ready()])
            for n in level:
                self._after_step(n, step)

    def _after_step(self, node: AcquisitionObject, step: str) -> None:
        if step == "start" and isinstance(node, AcquisitionSlave) and node.trigger_mode.value == "hardware":
            g = node.spawn_reading()
            g.link_exception(self._fail_from)

    def _loop(self, top) -> None:
        total = top.iterations()
        i = 0
        clock = time.perf_counter
        yielded = clock()
        presets, trigger = self.presets, top.trigger
        # trigger statistics kept in locals (one point costs no call, no lookup), merged
        # into the node's statistics when the loop ends for any reason
        n, tsum, tmin, tmax = 0, 0.0, float("inf"), float("-inf")
        try:
            while not self._stop_requested and (total == 0 or i < total):
                for p in presets:
                    p.before_iteration(self, i)
                t0 = clock()
                trigger()
                t1 = clock()
                d = t1 - t0
                n += 1
                tsum += d
                if d < tmin:
                    tmin = d
                if d > tmax:
                    tmax = d
                for p in presets:
                    p.after_iteration(self, i)
                i += 1
                if i > self.iterations_done:
                    self.iterations_done = i
                if t1 - yielded > 0.005:
                    # a master that never yields must not starve the flusher, readers, stop
                    # or abort: idle() lets the loop poll and run timers (sleep(0) may not)
                    gevent.idle()
                    yielded = clock()
        finally:
            top.stats.add_many("trigger", n, tsum, tmin, tmax)

    def _fail_from(self, greenlet: gevent.Greenlet) -> None:
        """A reader or the watchdog failed: interrupt the scan with its error (not while the
        nodes are already being stopped)."""
        if self.state in (ScanState.PREPARING, ScanState.STARTING, ScanState.RUNNING):
            self._task.kill(greenlet.exception, block=False)

    def _watchdog_loop(self, run_task) -> None:
        while True:
            gevent.sleep(self.watchdog.period)
            try:
                self.watchdog.on_timer(self)
            except StopIteration:
                self.stop()
            except BaseException as exc:
                if self.state is ScanState.RUNNING:
                    run_task.kill(exc, block=False)
                return

    def _stop_nodes(self) -> None:
        """Stop every node, top masters first; an error in one never skips the others."""
        for level in self.chain.levels():
            tasks = [gevent.spawn(n.stats.timed, "stop", n.stop) for n in level]
            gevent.joinall(tasks)
            for n, t in zip(level, tasks):
                if t.exception is not None:
                    log.error("scan %s: stopping %s failed: %s", self.name, n.name, t.exception)
                    if self.error is None and self.end_reason is not EndReason.USER_ABORT:
                        self.end_reason, self.error = EndReason.FAILURE, t.exception

    def _guard(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as exc:
            log.error("scan %s: %s failed: %s", self.name, getattr(fn, "__qualname__", fn), exc)
            if self.error is None and self.end_reason is not EndReason.USER_ABORT:
                self.end_reason, self.error = EndReason.FAILURE, exc

    def _publish_state(self, state: str, later: bool = False, background: bool = False, **info) -> None:
        if self.publisher is not None:
            self.publisher.set_state(state, later=later, background=background, **info)

    def _close(self) -> None:
        if self.publisher is None:
            return
        end = {"end_reason": self.end_reason.value if self.end_reason else None,
               "error": f"{type(self.error).__name__}: {self.error}" if self.error else None,
               "end_time": time.time(), "npoints_done": self.iterations_done,
               "statistics": self.statistics}
        try:
            self.publisher.close(**end)  # STOPPED and CLOSED in one round trip
        except Exception as exc:
            log.error("scan %s: publishing the end to the data Redis failed: %s", self.name, exc)

    def __repr__(self) -> str:
        return f"<Scan {self.scan_number} {self.name} {self.state.value} {self.end_reason}>"
