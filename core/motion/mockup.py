"""Mockup controller: simulated steppers that behave like hardware.

Motion follows a trapezoidal profile in real time; the position is readable during
motion; the hardware position is persisted (settings `<controller>.<axis>`) so that a
restart does not teleport the motor (a move interrupted by a restart is taken as
finished, as real hardware would finish it); hardware limit switches (`hw_low_limit`,
`hw_high_limit`, dial units) stop motion and show LIMNEG/LIMPOS; a home switch at
`home_switch` (dial); optional encoder (`noise`, dial units, gaussian); injected faults.
Like a trajectory generator it knows when a move ends and says so (Motion.expected_end).
Controller key `read_latency` (s, default 0): every read of position, state or encoder
takes that long, the hardware sampled half way (BLISS's mockup sleeps 5 ms per read),
so benchmarks can show what a slow controller costs. `push_end: true` makes it a
controller that signals the end of each motion itself (as one with a "motion done"
event line): the axis is told at once and reads no state while it moves.
`settling_time` (s, default 0): after its trajectory the motor stays MOVING that long (a
closed loop entering its in-position window); `report_end: false`: the controller does
not tell when its trajectory ends (the axis predicts it from velocity and acceleration).
"""

from __future__ import annotations

import math
import random
import time
from typing import TYPE_CHECKING

import gevent

from . import write_behind
from .controller import Controller
from .errors import MotionError
from .monitor import sleep_until
from .profile import Profile, decelerate, ramp_to, trapezoid
from .state import AxisState

if TYPE_CHECKING:
    from .axis import Axis, Motion
    from .encoder import Encoder
    from .shutter import Shutter

FAULT_KINDS = ("fault", "stall", "encoder_slip", "start_error")


class _Motor:
    """State of one simulated motor, in steps."""

    def __init__(self, steps: float, velocity: float, acceleration: float) -> None:
        self.steps = steps
        self.velocity = velocity
        self.acceleration = acceleration
        self.profile: Profile | None = None
        self.kind = "move"
        self.off = False
        self.fault = False
        self.stall_at: float | None = None  # steps
        self.encoder_slip = 0.0  # dial units
        self.start_error: str | None = None
        self.at_home = False
        self.low: float = -math.inf
        self.high: float = math.inf
        self.home_steps = 0.0
        self.settled_at = 0.0  # time.monotonic() the last motion ended, settling included


def _stops_at(m: _Motor, profile: Profile) -> float | None:
    """When the simulated motor stops on this profile: its end, a limit switch or the
    stall point it meets first (None: never, a jog with nothing ahead)."""
    d = profile.direction
    ends = [profile.end_time] if math.isfinite(profile.end_time) else []
    switch = m.high if d > 0 else m.low
    if math.isfinite(switch):
        ends.append(profile.time_at(switch))
    if m.stall_at is not None:
        ends.append(profile.time_at(m.stall_at))
    ends = [t for t in ends if t is not None]
    return min(ends) if ends else None


class Mockup(Controller):
    """Simulated stepper controller; see the module docstring for the YAML keys."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._motors: dict[str, _Motor] = {}
        self._hw_settings: dict[str, object] = {}
        self._persisted: dict[str, float] = {}  # last steps persisted (or pending) per axis
        self._shutters: dict[str, str] = {}
        self.read_latency = float(self.config.get("read_latency", 0.0) or 0.0)
        if not math.isfinite(self.read_latency) or self.read_latency < 0:
            raise MotionError(f"{self.name}: read_latency must be a number of seconds >= 0, "
                              f"got {self.config.get('read_latency')!r}")

        self.pushes_motion_end = bool(self.config.get("push_end", False))
        self.report_end = bool(self.config.get("report_end", True))
        self.settling_time = float(self.config.get("settling_time", 0.0) or 0.0)
        self._pushers: dict[str, gevent.Greenlet] = {}

    def _wire(self) -> None:
        """Half of a read's round trip (read_latency): the request, or the reply."""
        if self.read_latency:
            gevent.sleep(self.read_latency / 2)

    # -- hardware model ------------------------------------------------------------
    def initialize_axis(self, axis: Axis) -> None:
        spu = axis.steps_per_unit
        c = axis.config
        hw = self.settings_factory(f"{self.name}.{axis.name}",
                                   {"steps": float(c.get("hw_position", 0.0)) * spu})
        self._hw_settings[axis.name] = hw
        m = _Motor(float(hw["steps"]), 1.0, 1.0)
        dial_low = float(c.get("hw_low_limit", -math.inf))
        dial_high = float(c.get("hw_high_limit", math.inf))
        m.low, m.high = sorted((dial_low * spu, dial_high * spu))  # switches live in steps
        m.home_steps = float(c.get("home_switch", 0.0)) * spu
        self._motors[axis.name] = m

    # -- the "motion done" signal of push_end ------------------------------------------
    def _signal_end(self, axis: Axis) -> None:
        """(Re)arm the end-of-motion signal of an axis whose profile just changed."""
        if not self.pushes_motion_end:
            return
        old = self._pushers.pop(axis.name, None)
        if old is not None:
            old.kill(block=False)
        self._pushers[axis.name] = gevent.spawn(self._push_end, axis)

    def _push_end(self, axis: Axis) -> None:
        m = self._motor(axis)
        while m.profile is not None:
            when = _stops_at(m, m.profile)
            if when is None:
                return  # a jog with no switch ahead: a stop re-arms the signal
            # (rounding may leave the motor a hair short of a switch at `when`)
            sleep_until(max(when, time.monotonic() + 5e-5))
            self._update(axis)
        sleep_until(m.settled_at)
        self._pushers.pop(axis.name, None)
        self.motion_ended(axis)

    def _motor(self, axis: Axis) -> _Motor:
        return self._motors[axis.name]

    def _persist(self, axis: Axis, steps: float, later: bool = False) -> None:
        """Keep the hardware position in settings (later: a motion's, see write_behind)."""
        steps = float(steps)
        if later and self._persisted.get(axis.name) == steps:
            return  # the end of a move persists the target its start already persisted
        self._persisted[axis.name] = steps
        write_behind.store(self._hw_settings[axis.name], "steps", steps, later=later)

    def _update(self, axis: Axis) -> _Motor:
        """Advance the simulation to now: end of profile, limit switches, stall."""
        m = self._motor(axis)
        if m.profile is None:
            return m
        now = time.monotonic()
        p, _ = m.profile.at(now)
        d = m.profile.direction
        done = now >= m.profile.end_time
        if d > 0 and p >= m.high:
            p, done = m.high, True
        elif d < 0 and p <= m.low:
            p, done = m.low, True
        if m.stall_at is not None and (p - m.stall_at) * d >= 0 and (m.profile.at(m.profile.start_time)[0] - m.stall_at) * d < 0:
            p, done = m.stall_at, True
            m.fault, m.stall_at = True, None
        m.steps = p
        if done:
            if m.kind == "home" and not m.fault:
                m.at_home = True
            m.settled_at = min(now, _stops_at(m, m.profile) or now) + self.settling_time
            m.profile = None
            self._persist(axis, p, later=True)
        return m

    def ended_at(self, axis: Axis) -> float:
        """When the axis' last motion ended, settling included (time.monotonic()): what a
        test compares the end of a move with."""
        return self._update(axis).settled_at

    def read_position(self, axis: Axis) -> float:
        self._wire()
        steps = self._update(axis).steps
        self._wire()
        return steps

    def set_position(self, axis: Axis, steps: float) -> float:
        m = self._update(axis)
        if m.profile is not None:
            raise MotionError(f"{axis.name}: cannot set the position while moving")
        shift = steps - m.steps
        m.steps = steps
        m.low, m.high, m.home_steps = m.low + shift, m.high + shift, m.home_steps + shift
        self._persist(axis, steps)
        return steps

    def read_velocity(self, axis: Axis) -> float:
        return self._motor(axis).velocity

    def set_velocity(self, axis: Axis, steps_per_s: float) -> None:
        self._motor(axis).velocity = steps_per_s

    def read_acceleration(self, axis: Axis) -> float:
        return self._motor(axis).acceleration

    def set_acceleration(self, axis: Axis, steps_per_s2: float) -> None:
        self._motor(axis).acceleration = steps_per_s2

    def state(self, axis: Axis) -> AxisState:
        self._wire()
        try:
            return self._state(axis)
        finally:
            self._wire()

    def _state(self, axis: Axis) -> AxisState:
        m = self._update(axis)
        if m.off:
            return AxisState("OFF")
        if m.fault:
            return AxisState("FAULT")
        if m.profile is not None or m.settled_at > time.monotonic():
            return AxisState("MOVING")
        st = AxisState("READY")
        if m.steps >= m.high:
            st.set("LIMPOS")
        if m.steps <= m.low:
            st.set("LIMNEG")
        if m.at_home:
            st.set("HOME")
        return st

    def _check_startable(self, axis: Axis) -> _Motor:
        m = self._update(axis)
        if m.start_error:
            raise MotionError(f"{axis.name}: controller {self.name} refused the start: {m.start_error}")
        if m.off or m.fault:
            raise MotionError(f"{axis.name}: controller {self.name} cannot move an axis in {'OFF' if m.off else 'FAULT'}")
        if m.profile is not None or m.settled_at > time.monotonic():
            raise MotionError(f"{axis.name}: controller {self.name} says the axis is already moving")
        return m

    def prepare_move(self, motion: Motion) -> None:
        self._check_startable(motion.axis)

    def start_all(self, *motions: Motion) -> None:
        now = time.monotonic()
        for mo in motions:
            m = self._check_startable(mo.axis)
            m.kind, m.at_home = "move", False
            m.profile = trapezoid(now, m.steps, mo.target_steps, m.velocity, m.acceleration)
            mo.started_at = now
            if self.report_end:  # its trajectory's end (settling is not known in advance)
                mo.expected_end = m.profile.end_time
            # hardware finishes a move on its own: a restart finds it at the target
            self._persist(mo.axis, mo.target_steps, later=True)
            self._signal_end(mo.axis)

    def start_one(self, motion: Motion) -> None:
        self.start_all(motion)

    def stop(self, axis: Axis) -> None:
        m = self._update(axis)
        if m.profile is None:
            return
        now = time.monotonic()
        p, v = m.profile.at(now)
        m.profile = decelerate(now, p, v, m.acceleration)
        self._persist(axis, m.profile.end_position)
        self._signal_end(axis)

    def abort(self, axis: Axis) -> None:
        m = self._update(axis)
        if m.profile is not None:
            m.profile = None
            self._persist(axis, m.steps)
            self._signal_end(axis)

    def start_jog(self, axis: Axis, velocity: float, direction: int, stop_at: float | None = None) -> None:
        m = self._check_startable(axis)
        m.kind, m.at_home = "jog", False
        m.profile = ramp_to(time.monotonic(), m.steps, 0.0, direction * velocity, m.acceleration, stop_at)
        self._signal_end(axis)

    def set_jog_velocity(self, axis: Axis, velocity: float, direction: int, stop_at: float | None = None) -> None:
        m = self._update(axis)
        if m.profile is None:
            raise MotionError(f"{axis.name}: not jogging")
        now = time.monotonic()
        p, v = m.profile.at(now)
        m.profile = ramp_to(now, p, v, direction * velocity, m.acceleration, stop_at)
        self._signal_end(axis)

    def home_search(self, axis: Axis, switch: int) -> None:
        m = self._check_startable(axis)
        m.kind, m.at_home = "home", False
        m.profile = trapezoid(time.monotonic(), m.steps, m.home_steps, m.velocity, m.acceleration)
        self._signal_end(axis)

    def set_on(self, axis: Axis) -> None:
        self._motor(axis).off = False

    def set_off(self, axis: Axis) -> None:
        self._motor(axis).off = True

    # -- encoders ---------------------------------------------------------------------
    def read_encoder(self, encoder: Encoder) -> float:
        axis = encoder.axis
        if axis is None:
            return 0.0
        self._wire()
        m = self._update(axis)
        self._wire()
        noise = float(encoder.config.get("noise", 0.0))
        dial = m.steps / axis.steps_per_unit + m.encoder_slip
        if noise:
            dial += random.gauss(0.0, noise)
        return dial * encoder.steps_per_unit

    def set_encoder(self, encoder: Encoder, steps: float) -> None:
        axis = encoder.axis
        if axis is not None:
            m = self._update(axis)
            m.encoder_slip = steps / encoder.steps_per_unit - m.steps / axis.steps_per_unit

    # -- faults (for tests and demos) ---------------------------------------------------------
    def inject_fault(self, axis_name: str, kind: str, value: float | str | None = None) -> None:
        """kind: 'fault' (FAULT state), 'stall' (next motion stops at dial `value`, FAULT),
        'encoder_slip' (encoder off by `value` dial units), 'start_error' (starts refused)."""
        axis = self.axes[axis_name]
        self._ensure_axis_init(axis)
        m = self._update(axis)
        if kind == "fault":
            m.fault = True
        elif kind == "stall":
            m.stall_at = float(value) * axis.steps_per_unit  # type: ignore[arg-type]
        elif kind == "encoder_slip":
            m.encoder_slip = float(value)  # type: ignore[arg-type]
        elif kind == "start_error":
            m.start_error = str(value or "injected start error")
        else:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")

    def clear_faults(self, axis_name: str) -> None:
        m = self._update(self.axes[axis_name])
        m.fault, m.stall_at, m.encoder_slip, m.start_error = False, None, 0.0, None

    # -- shutters --------------------------------------------------------------------------------
    def shutter_open(self, shutter: Shutter) -> None:
        self._shutters[shutter.name] = "OPEN"

    def shutter_close(self, shutter: Shutter) -> None:
        self._shutters[shutter.name] = "CLOSED"

    def shutter_state(self, shutter: Shutter) -> str:
        return self._shutters.get(shutter.name, "CLOSED")
