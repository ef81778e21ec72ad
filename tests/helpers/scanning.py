"""Scanning test helpers: recording acquisition nodes that log every call (to check the engine's order)."""

from __future__ import annotations

import gevent

from blisstango.core.scanning import AcquisitionMaster, AcquisitionSlave


class Recorder:
    """Shared call log: entries are (node name, call)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def of(self, call: str) -> list[str]:
        return [n for n, c in self.calls if c == call]


class _Recorded:
    """Logs each call to the shared Recorder and raises in the call it is told to fail on."""

    def _fails(self, call: str) -> bool:
        return self.fail_on == call

    def _log(self, call):
        self.rec.calls.append((self.name, call))
        if self._fails(call):
            raise RuntimeError(f"{self.name} failed in {call}")

    def prepare(self):
        gevent.sleep(self.delay)
        self._log("prepare")

    def start(self):
        self._log("start")

    def stop(self):
        self._log("stop")


class RecMaster(_Recorded, AcquisitionMaster):
    def __init__(self, name, rec: Recorder, npoints=3, fail_on=None, delay=0.0):
        super().__init__(None, name=name, npoints=npoints)
        self.rec, self.fail_on, self.delay = rec, fail_on, delay
        self.ch = self.add_channel(f"{name}:index", int)
        self._i = 0

    def trigger(self):
        self._log("trigger")
        self.ch.emit(self._i)
        self._i += 1
        self.trigger_slaves()


class RecSlave(_Recorded, AcquisitionSlave):
    """fail_at: fail only at that trigger count (None: at any)."""

    def __init__(self, name, rec: Recorder, npoints=3, fail_on=None, fail_at=None, delay=0.0):
        super().__init__(None, name=name, npoints=npoints)
        self.rec, self.fail_on, self.fail_at, self.delay = rec, fail_on, fail_at, delay
        self.ch = self.add_channel(f"{name}:value", float)
        self.ntrig = 0

    def _fails(self, call: str) -> bool:
        return self.fail_on == call and (self.fail_at is None or self.fail_at == self.ntrig)

    def trigger(self):
        self.ntrig += 1
        self._log("trigger")
        gevent.sleep(self.delay)
        self.ch.emit(float(self.ntrig))
