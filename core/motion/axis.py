"""Axis: BLISS motor semantics on top of a Controller that speaks steps.

user = sign * dial + offset; dial = steps / steps_per_unit. Software limits are kept
in dial units (so they follow an offset change, as in BLISS) and shown in user units.
Every motion goes through one path (`start_motions`) whether it is a single move, a
group move or a calc move: all checks first, then all starts, then one monitoring
greenlet per axis, so one slow axis never blocks another.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event

from .axis_settings import DEFAULT_TOLERANCE, SETTING_KEYS, AxisSettings  # noqa: F401 - re-exported
from .errors import EncoderDiscrepancyError, LimitError, MotionError
from .jog import JogAndHome
from .monitor import Watcher, predict_end
from .motion import HookRun, Motion, run_pre_hooks, start_motions  # noqa: F401 - re-exported
from .motion import finite as _finite
from .state import AxisState

if TYPE_CHECKING:
    from .controller import Controller
    from .encoder import Encoder


#: a move shorter than this (controller steps: float noise, not a step) starts no motion
ALREADY_THERE_STEPS = 1e-6

#: the longest time an axis may take to reach its velocity, or to stop from it: a Stop must
#: end in a time a person waits for (an acceleration of 1e-300 would make it never end)
MAX_ACCTIME = 60.0


class Axis(JogAndHome, AxisSettings):
    """A motor as BLISS users know it; see module docstring for conventions."""

    def __init__(self, name: str, controller: Controller, config: dict) -> None:
        self.name = name
        self.controller = controller
        self.config = dict(config)
        self.unit: str = str(self.config.get("unit", "") or "")
        self.steps_per_unit = float(self.config.get("steps_per_unit", 1.0))
        if self.steps_per_unit == 0 or not math.isfinite(self.steps_per_unit):
            raise MotionError(f"{name}: steps_per_unit must be finite and non-zero, got {self.steps_per_unit}")
        self.tolerance = float(self.config.get("tolerance", DEFAULT_TOLERANCE))
        hp = self.config.get("home_position")
        self.home_position: float | None = None if hp is None else float(hp)
        self.polling_time = float(self.config.get("polling_time", 0.02))
        self.encoder: Encoder | None = None
        self.check_encoder = bool(self.config.get("check_encoder", True))
        self.motion_hooks: list[Any] = []
        self.position_changed: list[Callable[[float], None]] = []
        self.state_changed: list[Callable[[AxisState], None]] = []
        self._settings_obj: Any = None
        self._cache: dict[str, Any] | None = None
        self._moving = False
        self._stop_requested = False
        self._task: gevent.Greenlet | None = None
        self._done = gevent.event.Event()
        self._done.set()
        self._end_told = gevent.event.Event()  # Controller.motion_ended (pushed ends)
        self._error: BaseException | None = None
        self._last_state: AxisState | None = None
        self._jogging = False
        self._jog_velocity: float | None = None
        self._set_position: float | None = None
        self.last_motion_start: float | None = None  # monotonic time the hardware started
        self._state_read_time = 0.0  # how long the controller took to answer the last state read
        #: when the current move should end (time.monotonic(); None: unknown, or no move):
        #: the controller's word or the trapezoid (core.motion.monitor.predict_end)
        self.expected_end: float | None = None
        #: user position read as the last move ended (None while moving, or unread): what
        #: a server answers a move waited for with, without asking the hardware again
        self.end_position: float | None = None
        #: the Beacon lock owner this process moves the axis for (AxisProtocol): kept for the
        #: caller; a local axis checks no lock (its server, the AxisManager, does)
        self.owner: str | None = None

    def __repr__(self) -> str:
        return f"<Axis {self.name} ({type(self.controller).__name__} {self.controller.name})>"

    @property
    def reals(self) -> list[Axis]:
        """The axes that move when this one moves: none for a real axis (CalcAxis: its reals)."""
        return []

    # -- settings --------------------------------------------------------------------
    def _hw(self) -> Controller:
        self.controller._ensure_axis_init(self)
        return self.controller

    # -- unit conversions --------------------------------------------------------------
    @property
    def sign(self) -> int:
        return int(self._get("sign"))

    @sign.setter
    def sign(self, value: int) -> None:
        """Change the sign, keeping the user position (the offset is recomputed)."""
        v = _finite(self.name, "sign", value)
        if v not in (1.0, -1.0):
            raise MotionError(f"{self.name}: sign must be 1 or -1, got {value!r}")
        self._refuse_if_moving("change the sign")
        user = self.position
        self._put("sign", int(v))
        self._put("offset", user - int(v) * self.dial)
        self._notify_position()

    @property
    def offset(self) -> float:
        return float(self._get("offset"))

    @offset.setter
    def offset(self, value: float) -> None:
        self._put("offset", _finite(self.name, "offset", value))
        self._notify_position()

    def dial2user(self, dial: float) -> float:
        return self.sign * dial + self.offset

    def user2dial(self, user: float) -> float:
        return (user - self.offset) / self.sign

    # -- positions ---------------------------------------------------------------------
    @property
    def dial(self) -> float:
        return self._hw().read_position(self) / self.steps_per_unit

    @property
    def position(self) -> float:
        return self.dial2user(self.dial)

    @property
    def set_position(self) -> float:
        """Last requested user target (the position when nothing was requested yet)."""
        return self.position if self._set_position is None else self._set_position

    def position_to(self, user: float) -> None:
        """BLISS `axis.position = x`: define the current user position (offset changes)."""
        user = _finite(self.name, "position", user)
        self._refuse_if_moving("set its position")
        self._put("offset", user - self.sign * self.dial)
        self._set_position = user
        self._notify_position()

    def dial_to(self, dial: float) -> None:
        """BLISS `axis.dial = x`: redefine the hardware position, keeping the user position."""
        dial = _finite(self.name, "dial position", dial)
        self._refuse_if_moving("set its dial position")
        user = self.position
        self._hw().set_position(self, dial * self.steps_per_unit)
        self._put("offset", user - self.sign * dial)
        self._put("dial_position", dial)
        self._notify_position()

    @property
    def measured_position(self) -> float:
        """Encoder position in user units (the motor position if there is no encoder)."""
        if self.encoder is None:
            return self.position
        return self.dial2user(self.encoder.read())

    # -- velocity / acceleration ----------------------------------------------------------
    def _positive(self, what: str, value: Any) -> float:
        v = _finite(self.name, what, value)
        if v <= 0:
            raise MotionError(f"{self.name}: {what} must be positive, got {v}")
        return v

    def _check_ramp(self, velocity: float, acceleration: float) -> None:
        """MotionError when reaching `velocity` (or stopping from it) at `acceleration`
        would take longer than MAX_ACCTIME."""
        t = velocity / acceleration
        if t > MAX_ACCTIME:
            u = self.unit or "unit"
            raise MotionError(f"{self.name}: velocity {velocity:g} {u}/s with acceleration {acceleration:g} "
                              f"{u}/s2 takes {t:.3g} s to reach speed or to stop; at most {MAX_ACCTIME:g} s "
                              f"is accepted")

    @property
    def velocity(self) -> float:
        if self.controller.hardware_owns_velocity:
            return self._hw().read_velocity(self) / abs(self.steps_per_unit)
        return float(self._get("velocity"))

    @velocity.setter
    def velocity(self, value: float) -> None:
        v = self._positive("velocity", value)
        self._check_ramp(v, self.acceleration)
        self._hw().set_velocity(self, v * abs(self.steps_per_unit))
        self._put("velocity", v)

    @property
    def acceleration(self) -> float:
        if self.controller.hardware_owns_velocity:
            return self._hw().read_acceleration(self) / abs(self.steps_per_unit)
        return float(self._get("acceleration"))

    @acceleration.setter
    def acceleration(self, value: float) -> None:
        a = self._positive("acceleration", value)
        self._check_ramp(self.velocity, a)
        self._hw().set_acceleration(self, a * abs(self.steps_per_unit))
        self._put("acceleration", a)

    @property
    def acctime(self) -> float:
        """Time to reach velocity from rest: velocity / acceleration."""
        return self.velocity / self.acceleration

    @acctime.setter
    def acctime(self, value: float) -> None:
        t = self._positive("acctime", value)
        self.acceleration = self.velocity / t

    # -- limits / backlash -----------------------------------------------------------------
    @property
    def dial_limits(self) -> tuple[float, float]:
        lo, hi = self._get("low_limit"), self._get("high_limit")
        return (-math.inf if lo is None else float(lo), math.inf if hi is None else float(hi))

    @property
    def limits(self) -> tuple[float, float]:
        """Software limits in user units (low, high)."""
        a, b = (self.dial2user(d) if math.isfinite(d) else self.sign * d for d in self.dial_limits)
        return (min(a, b), max(a, b))

    @limits.setter
    def limits(self, value: tuple[float, float]) -> None:
        low, high = (float(v) for v in value)
        for what, v in (("low limit", low), ("high limit", high)):
            if math.isnan(v):
                raise MotionError(f"{self.name}: {what} {v} is not a number")
        if low > high:
            raise MotionError(f"{self.name}: low limit {low} is above high limit {high}")
        dials = [self.user2dial(v) if math.isfinite(v) else self.sign * v for v in (low, high)]
        dlo, dhi = min(dials), max(dials)
        self._put("low_limit", dlo if math.isfinite(dlo) else None)
        self._put("high_limit", dhi if math.isfinite(dhi) else None)

    @property
    def low_limit(self) -> float:
        return self.limits[0]

    @low_limit.setter
    def low_limit(self, value: float) -> None:
        self.limits = (value, self.limits[1])

    @property
    def high_limit(self) -> float:
        return self.limits[1]

    @high_limit.setter
    def high_limit(self, value: float) -> None:
        self.limits = (self.limits[0], value)

    @property
    def backlash(self) -> float:
        """Backlash in user units: the final approach is always made in its direction."""
        return float(self._get("backlash"))

    @backlash.setter
    def backlash(self, value: float) -> None:
        self._put("backlash", _finite(self.name, "backlash", value))

    def check_limits(self, user: float, what: str = "") -> None:
        low, high = self.limits
        label = f"{what} " if what else ""
        if user > high:
            raise LimitError(f"{self.name}: {label}{user} is above the high limit {high}")
        if user < low:
            raise LimitError(f"{self.name}: {label}{user} is below the low limit {low}")

    # -- state ------------------------------------------------------------------------------
    @property
    def is_moving(self) -> bool:
        return self._moving

    @property
    def state(self) -> AxisState:
        if self._moving:
            return AxisState("MOVING")
        st = self._hw().state(self)
        self._notify_state(st)
        return st

    def hw_state(self) -> AxisState:
        return self._hw().state(self)

    def _notify_state(self, st: AxisState) -> None:
        if self._last_state is not None and st == self._last_state:
            return
        self._last_state = st.copy()
        for cb in list(self.state_changed):
            try:
                cb(st)
            except Exception:  # a broken listener must not break motion
                pass

    def _notify_position(self, pos: float | None = None) -> None:
        if not self.position_changed:
            return
        if pos is None:
            pos = self.position
        for cb in list(self.position_changed):
            try:
                cb(pos)
            except Exception:
                pass

    def _refuse_if_moving(self, action: str) -> None:
        if self._moving:
            raise MotionError(f"{self.name}: cannot {action} while moving")

    def on(self) -> None:
        self._hw().set_on(self)
        self.state  # noqa: B018 - refreshes listeners

    def off(self) -> None:
        self._refuse_if_moving("switch off")
        self._hw().set_off(self)
        self.state  # noqa: B018

    # -- motion preparation -------------------------------------------------------------------
    def _steps_direction(self, user_delta: float) -> float:
        """Direction in hardware steps of a user displacement (limit switches are in steps)."""
        return self.sign * user_delta * math.copysign(1.0, self.steps_per_unit)

    def _check_can_move(self, direction: float) -> AxisState:
        st = self._hw().state(self)
        if "OFF" in st:
            raise MotionError(f"{self.name}: axis is OFF, switch it on first")
        if "FAULT" in st:
            raise MotionError(f"{self.name}: controller reports FAULT, cannot move")
        if "DISABLED" in st:
            raise MotionError(f"{self.name}: axis is DISABLED")
        if "LIMPOS" in st and direction > 0:
            raise LimitError(f"{self.name}: on the positive hardware limit, cannot move further")
        if "LIMNEG" in st and direction < 0:
            raise LimitError(f"{self.name}: on the negative hardware limit, cannot move further")
        return st

    def check_encoder_discrepancy(self) -> None:
        """Refuse to move if the encoder disagrees with the motor by more than its tolerance."""
        if self.encoder is None or not self.check_encoder:
            return
        enc = self.encoder.read()
        dial = self.dial
        if abs(enc - dial) > self.encoder.tolerance:
            raise EncoderDiscrepancyError(
                f"{self.name}: encoder {self.encoder.name} reads {enc} (dial) but the motor is at "
                f"{dial}: discrepancy {abs(enc - dial):.6g} above tolerance {self.encoder.tolerance}")

    def prepare_motion(self, user_target: float, relative: bool = False) -> Motion:
        """All checks for a move to user_target, without moving: returns the first leg."""
        if self._moving:
            raise MotionError(f"{self.name}: already moving")
        target = _finite(self.name, "target", user_target)
        current = self.position
        if relative:
            target = (self._set_position if self._set_position is not None else current) + target
        self.check_limits(target)
        backlash = self.backlash
        user_delta = target - current
        first = target
        if backlash and user_delta and math.copysign(1, user_delta) != math.copysign(1, backlash):
            first = target - backlash
            self.check_limits(first, "backlash start")
        self._check_can_move(self._steps_direction(first - current))
        self.check_encoder_discrepancy()
        m = Motion(self, self.user2dial(first), target,
                   backlash_dial=self.user2dial(target) if first != target else None)
        m.start_dial = self.user2dial(current)
        m.already_there = m.backlash_dial is None and \
            abs(m.target_dial - m.start_dial) * abs(self.steps_per_unit) < ALREADY_THERE_STEPS
        return m

    # -- motion ---------------------------------------------------------------------------------
    def move(self, user_target: float, wait: bool = True, relative: bool = False) -> None:
        """Move to user_target (user units); checks everything before anything moves."""
        motion = self.prepare_motion(user_target, relative=relative)
        start_motions([motion])
        if wait:
            self.wait_move()

    def rmove(self, delta: float, wait: bool = True) -> None:
        self.move(delta, wait=wait, relative=True)

    def _stays(self, motion: Motion) -> None:
        """A move to where the axis already is (ALREADY_THERE_STEPS): no hardware
        motion, no MOVING; the target becomes the set position, where it is the end
        position (a scan step of zero length costs no motion's start and end)."""
        self._set_position = motion.user_target
        self.end_position = self.dial2user(motion.start_dial)
        self.expected_end = None

    def _begin(self, motion: Motion) -> None:
        """Mark moving (before the hardware starts) so no second motion can begin."""
        self._moving = True
        self._stop_requested = False
        self._error = None
        self._done.clear()
        self._end_told.clear()
        if motion.kind == "move":
            self._set_position = motion.user_target

    def _started(self, motion: Motion) -> None:
        self.last_motion_start = motion.started_at
        self.end_position = None
        self.expected_end = predict_end(self, motion)
        self._notify_state(AxisState("MOVING"))
        self._task = gevent.spawn(self._run, motion)

    def _abort_begin(self) -> None:
        self._moving = False
        self._done.set()

    def _run(self, motion: Motion) -> None:
        final: AxisState | None = None
        try:
            if motion.kind == "home":
                self._monitor(motion, home=True)
                if not self._stop_requested and self.home_position is not None:
                    self._hw().set_position(self, self.home_position * self.steps_per_unit)
            else:
                final = self._monitor(motion, end=self.expected_end)
                if motion.backlash_dial is not None and not self._stop_requested:
                    self._notify_position()  # where the first leg ended (the overshoot)
                    leg = Motion(self, motion.backlash_dial, motion.user_target)
                    leg.start_dial = motion.target_dial
                    ctrl = self._hw()
                    ctrl.prepare_move(leg)
                    self._end_told.clear()
                    ctrl.start_one(leg)
                    if leg.started_at is None:
                        leg.started_at = time.monotonic()
                    self.expected_end = predict_end(self, leg)
                    final = self._monitor(leg, end=self.expected_end)
            final = self._check_final_state(motion, final)
        except BaseException as exc:  # kept for wait_move(); GreenletExit included
            final = None
            self._error = exc if isinstance(exc, Exception) else MotionError(f"{self.name}: motion killed")
            try:
                self.controller.abort(self)
            except Exception:
                pass
        finally:
            self._finish(motion, final)

    def _monitor(self, motion: Motion, home: bool = False, end: float | None = None) -> AxisState:
        """Until the controller says the leg is over (core.motion.monitor): its final state.
        end: when it should be over (None: not predictable, polled)."""
        return Watcher(self, motion, end=None if home else end, home=home).run()

    def _check_final_state(self, motion: Motion, st: AxisState | None = None) -> AxisState:
        """The error a motion ended with (limit switch, fault); st: the state the monitor
        read last (read again when there is none: a home search, a killed motion)."""
        if st is None:
            st = self.controller.state(self)
        if self._stop_requested:
            return st
        if ("LIMPOS" in st or "LIMNEG" in st) and not self._reached(motion):
            side = "positive" if "LIMPOS" in st else "negative"
            raise LimitError(f"{self.name}: stopped by the {side} hardware limit at {self.position}")
        if "FAULT" in st:
            raise MotionError(f"{self.name}: controller reports FAULT at {self.position}")
        return st

    def _reached(self, motion: Motion) -> bool:
        """A move that got where it was sent (within a step) was not stopped by a limit
        switch it is standing on (it moved off one, or its target is on one)."""
        return motion.kind == "move" and \
            abs(self.dial - motion.target_dial) * abs(self.steps_per_unit) < 1

    def _finish(self, motion: Motion, final: AxisState | None = None) -> None:
        pos: float | None = None
        try:  # one position read serves the settings, rmove and the listeners
            dial = self.dial
            pos = self.dial2user(dial)
            self._put("dial_position", dial, later=True)
        except Exception:
            pass
        for run in motion.hook_runs:
            err = run.ended(motion)
            if err is not None and self._error is None:
                self._error = err
        if pos is not None and (self._stop_requested or self._error is not None or motion.kind != "move"):
            self._set_position = pos  # rmove continues from where it is
        self._moving = False
        self._jogging = False
        self.expected_end = None
        self.end_position = pos
        if pos is not None:  # else the hardware cannot be read: the state below says why
            self._notify_position(pos)
        st = final
        if st is None:
            try:
                st = self.controller.state(self)
            except Exception as exc:
                st = AxisState("FAULT", custom={"FAULT": f"Error from controller: {exc}"})
        self._notify_state(st)
        self._done.set()

    def wait_done(self, timeout: float | None = None) -> bool:
        """True once no motion runs, False after timeout; the error (if any) stays for
        wait_move to raise."""
        return bool(self._done.wait(timeout))

    def wait_move(self, timeout: float | None = None) -> None:
        """Wait for the end of the current motion; re-raise the error it ended with."""
        if not self._done.wait(timeout):
            raise MotionError(f"{self.name}: still moving after {timeout} s")
        err, self._error = self._error, None
        if err is not None:
            raise err

    def stop(self, wait: bool = True) -> None:
        """Decelerate to a stop (the backlash leg, if any, is not done)."""
        if not self._moving:
            return
        self._stop_requested = True
        if self._jogging:
            self.controller.stop_jog(self)
        else:
            self.controller.stop(self)
        if wait:
            self._done.wait()

    def abort(self, wait: bool = True) -> None:
        """Stop as fast as the hardware can."""
        if not self._moving:
            return
        self._stop_requested = True
        self.controller.abort(self)
        if wait:
            self._done.wait()

    # -- configuration round trip -----------------------------------------------------------

    def info(self) -> str:
        low, high = self.limits
        return (f"axis {self.name} ({type(self.controller).__name__} {self.controller.name})\n"
                f"  state: {self.state!r}\n  position: {self.position} {self.unit} "
                f"(dial {self.dial}, offset {self.offset}, sign {self.sign})\n"
                f"  limits: [{low}, {high}]  velocity: {self.velocity}  acceleration: "
                f"{self.acceleration}  backlash: {self.backlash}")
