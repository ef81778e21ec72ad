"""SoftLoop: the PID runs here (simple-pid, as BLISS), reading an Input and driving an
Output at `sampling_frequency`.

Samples are scheduled on absolute times (t0 + k / f), so a late sample does not push the
next ones back, and the PID gets the real time between samples. The PID output range
(`pid_range`, usually [0, 1]) maps linearly onto the Output's limits; inside the idle band
(deadband x deadband_idle_factor around the working setpoint) the output is left alone.
Three consecutive failures of the input read or of the output write stop the loop with
the output at its safe value and the reason in `fault`.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.lock
from simple_pid import PID

from .errors import RegulationValueError
from .loop import Loop


class SoftLoop(Loop):
    """A Loop whose PID is computed in this process."""

    is_soft = True

    def __init__(self, config: dict[str, Any], input: Any, output: Any,
                 settings_factory: Callable[[str, dict], Any] | None = None,
                 clock: Callable[[], float] = time.monotonic, manual: bool = False) -> None:
        """manual: no sampling task; the owner calls step() (simulations, predictions)."""
        self._pid = PID(sample_time=None, time_fn=clock)
        super().__init__(None, config, input, output, settings_factory, clock)
        self.controller = _SoftController(self)
        self.manual = manual
        self._hw_ramp = False
        self._apply_pid_parameters()
        #: period errors (s) of the last samples: actual - nominal period
        self.period_errors: collections.deque[float] = collections.deque(maxlen=20000)
        self._last_sample_time: float | None = None

    def initialize(self) -> None:
        if not self.restart_safe:
            raise RegulationValueError(f"{self.name}: restart_safe: false needs a controller that regulates on "
                                       "its own; the PID of a SoftLoop stops with its server (remove the key)")
        super().initialize()

    # -- the PID lives here ----------------------------------------------------------------
    def _apply_pid_parameters(self) -> None:
        pid = self._pid
        pid.tunings = (self.kp, self.ki, self.kd)
        pid.output_limits = self.pid_range

    def _set_param(self, key: str, value: float, hw_method: str | None) -> None:
        super()._set_param(key, value, None)
        self._apply_pid_parameters()

    @Loop.pid_range.setter  # type: ignore[attr-defined]
    def pid_range(self, value: tuple[float, float]) -> None:
        Loop.pid_range.fset(self, value)  # type: ignore[attr-defined]
        self._apply_pid_parameters()

    @property
    def pid(self) -> PID:
        return self._pid

    def _start_regulation_hw(self, start: float, sp: float) -> None:
        """Bumpless start: the PID's integral starts from where the output is."""
        pid = self._pid
        pid.set_auto_mode(False)
        try:
            current = self.output.to_pid(self.pid_range, self.output.read())
        except Exception:  # noqa: BLE001 - an unreadable output starts from the low end
            current = self.pid_range[0]
        pid.setpoint = start
        pid.set_auto_mode(True, last_output=current)
        self._last_sample_time = None
        self._next = self.clock()

    def _stop_regulation_hw(self) -> None:
        self._pid.set_auto_mode(False)

    def _send_working_setpoint(self) -> None:
        pass  # read by each sample

    def _ensure_task(self) -> None:
        if not self.manual:
            super()._ensure_task()

    # -- sampling ----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while self._regulating:
                self.step()
                period = 1.0 / self.sampling_frequency
                self._next += period
                now = self.clock()
                if self._next < now - period:  # more than a period late: no burst to catch up
                    self._next = now
                gevent.sleep(max(0.0, self._next - now))
        finally:
            if self._task is gevent.getcurrent():
                self._task = None

    def step(self) -> None:
        """One sample: read the input, compute the PID, drive the output."""
        now = self.clock()
        last = self._last_sample_time
        if last is not None:
            self.period_errors.append((now - last) - 1.0 / self.sampling_frequency)
        self._last_sample_time = now
        wsp = self._ramp.value(now)
        if wsp is None:
            wsp = self.setpoint
        self._pid.setpoint = wsp
        if not self.input.allow_regulation():
            return
        x = self._guarded("input", self.input.read)
        if x is None:
            return
        self._last_input = x
        dt = now - last if last is not None else 1.0 / self.sampling_frequency
        y = self.output.from_pid(self.pid_range, self._pid(x, dt=max(dt, 1e-6)))
        if abs(x - wsp) > self.deadband * self.deadband_idle_factor or self._last_output is None:
            sent = self._guarded("output", lambda: self.output.set_value(y))
            if sent is None:
                return
            self._last_output = sent
        self._observe(x, now)
        self._emit("sample", now, x, self._last_output, wsp)

    def timing(self) -> dict[str, float]:
        """Sampling period error statistics (ms) over the recent samples."""
        errors = sorted(abs(e) for e in self.period_errors)
        if not errors:
            return {"samples": 0}
        pick = lambda q: errors[min(len(errors) - 1, int(q * len(errors)))] * 1e3  # noqa: E731
        return {"samples": len(errors), "period_ms": 1e3 / self.sampling_frequency,
                "p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": errors[-1] * 1e3}

    def reset_timing(self) -> None:
        self.period_errors.clear()
        self._last_sample_time = None


class _SoftController:
    """The 'controller' of a SoftLoop: the loop's own process; no hardware to serialize."""

    def __init__(self, loop: SoftLoop) -> None:
        self.name = f"{loop.name} (software)"
        self.lock = gevent.lock.DummySemaphore()

    def __getattr__(self, name: str) -> Any:
        def not_here(*_args: Any) -> Any:
            raise NotImplementedError(name)

        return not_here
