"""IcePAP: ESRF/ALBA's stepper motor controller, over its ASCII protocol on TCP.

YAML (plugin emotion)::

    - name: ice1
      class: IcePAP
      tcp: {url: iceid311:5000}        # port 5000 when omitted; timeout: s (default 1)
      axes:
        - name: th
          address: 1                   # rack * 10 + driver (1..8)
          steps_per_unit: 1000
          velocity: 2.0                # user units/s; VELOCITY (steps/s) on the board
          acceleration: 20.0           # user units/s2; the board keeps ACCTIME = v / a
          velocity_high_limit: 5.0     # optional: refuse faster (the board's ?VELOCITY MAX too)
          autopower: true              # power the axis on at its first use (default)

Every request is one line and one reply (`?` queries, `#` acknowledged commands), so a
read costs one round trip. Several axes of one IcePAP start with one `#MOVE GROUP`
command and stop with one `#STOP`. Each started motion carries the time the board's
trapezoid should end (`Motion.expected_end`) so the axis monitor can sleep until then.
A lost link marks every axis FAULT with the reason; a greenlet then reconnects with the
back-off and, once the board answers, gives the axes their velocity and acceleration
again and their fresh state.
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING

import gevent

from blisstango.core.comm import CommunicationError, link_from_config
from blisstango.core.comm.config import CommConfigError

from ..controller import Controller
from ..errors import MotionError
from ..profile import trapezoid
from ..state import AxisState
from .status import BoardStatus

if TYPE_CHECKING:
    from ..axis import Axis, Motion

log = logging.getLogger("blisstango.motion.icepap")

DEFAULT_PORT = 5000
#: the board's range of acceleration times (s)
ACCTIME_RANGE = (0.001, 100.0)


def valid_address(address: int) -> bool:
    """Drivers are addressed rack * 10 + 1..8, racks 0..15."""
    return 1 <= address <= 158 and 1 <= address % 10 <= 8


class IcePAPError(MotionError):
    """The IcePAP answered a command with an error."""


class IcePAP(Controller):
    """Axes of one IcePAP system; see the module docstring for the YAML."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.addresses: dict[str, int] = {}
        seen: dict[int, str] = {}
        for ax in self.axes.values():
            raw = ax.config.get("address")
            try:
                address = int(raw)
            except (TypeError, ValueError):
                raise MotionError(f"{ax.name}: IcePAP {self.name} axis needs an `address` "
                                  f"(rack * 10 + driver 1..8), got {raw!r}") from None
            if not valid_address(address):
                raise MotionError(f"{ax.name}: {address} is not an IcePAP driver address "
                                  "(rack * 10 + driver 1..8, racks 0..15)")
            if address in seen:
                raise MotionError(f"{ax.name}: address {address} is already axis {seen[address]} "
                                  f"of IcePAP {self.name}")
            seen[address] = ax.name
            self.addresses[ax.name] = address
        try:
            self.link = link_from_config(self.config, self.name, default_port=DEFAULT_PORT,
                                         eol=b"\n", write_eol=b"\r", timeout=1.0)
        except CommConfigError as exc:
            raise MotionError(str(exc)) from None
        self.link.on_connect = self._on_connect
        self.version: str | None = None
        self._velocity: dict[str, float] = {}  # steps/s, as last set or read
        self._acctime: dict[str, float] = {}  # s
        self._max_velocity: dict[str, float] = {}  # steps/s
        self._abort_command = "ABORT"
        self._reviver: gevent.Greenlet | None = None

    # -- the protocol ----------------------------------------------------------------------
    def command(self, cmd: str, axis: Axis | None = None) -> str:
        """Send one request line; the reply without its echo, or IcePAPError with the
        board's words, the command and the axis. Link failures mark the axes FAULT."""
        try:
            reply = self.link.query(cmd)
        except CommunicationError as exc:
            self._link_lost(exc)
            raise
        echo, _, rest = reply.partition(" ")
        keyword = cmd.lstrip("#").split(" ", 1)[0]
        if echo.upper() != keyword.upper():
            raise IcePAPError(f"{self._who(axis)}: {cmd!r} got {reply!r}, not a reply to it")
        rest = rest.strip()
        if rest.startswith("ERROR"):
            while rest.startswith("ERROR"):
                rest = rest[5:].strip()
            raise IcePAPError(f"{self._who(axis)}: the IcePAP refused {cmd!r}: {rest}")
        return rest

    def _who(self, axis: Axis | None) -> str:
        where = f"IcePAP {self.name} ({self.link.kind} {self.link.address})"
        return f"{axis.name}: {where}" if axis is not None else where

    def _number(self, cmd: str, axis: Axis, kind=float) -> float:
        text = self.command(cmd, axis)
        try:
            return kind(text)
        except ValueError:
            raise IcePAPError(f"{self._who(axis)}: {cmd!r} answered {text!r}, not a number") from None

    def _on_connect(self, link) -> None:
        """Every new connection: is it an IcePAP? After a reconnection the board (a restart)
        may have lost what we set: velocity and acceleration time go back."""
        reply = link.query("?VER")
        if not reply.upper().startswith("?VER"):
            raise IcePAPError(f"{self._who(None)}: ?VER answered {reply!r}: is it an IcePAP?")
        self.version = reply.split(None, 1)[1] if " " in reply else ""
        if link.connections > 1:
            for name, velocity in self._velocity.items():
                address = self.addresses[name]
                link.query(f"#VELOCITY {address} {velocity:.6g}")
                if name in self._acctime:
                    link.query(f"#ACCTIME {address} {self._acctime[name]:.6g}")

    # -- link loss and recovery --------------------------------------------------------------
    def _link_lost(self, exc: Exception) -> None:
        fault = AxisState("FAULT", custom={"FAULT": f"communication error: {exc}"})
        for name in self._axes_initialized:
            axis = self.axes[name]
            if not axis.is_moving:  # a moving axis' monitor ends its motion with the error
                axis._notify_state(fault)
        if self._reviver is None or self._reviver.dead:
            self._reviver = gevent.spawn(self._revive)

    def _revive(self) -> None:
        """Reconnect as soon as the back-off allows; then every axis tells its state."""
        while True:
            gevent.sleep(max(self.link.backoff.wait_left(), 0.05))
            try:
                self.link.connect()
                break
            except Exception:
                continue
        for name in list(self._axes_initialized):
            try:
                self.axes[name].state  # noqa: B018 - notifies the axis' listeners
            except Exception:
                pass

    # -- life cycle -------------------------------------------------------------------------------
    def initialize(self) -> None:
        self.link.connect()

    def initialize_axis(self, axis: Axis) -> None:
        address = self.addresses[axis.name]
        status = self._status(axis)  # an address the system does not have fails here
        self._velocity[axis.name] = self._number(f"?VELOCITY {address}", axis)
        self._acctime[axis.name] = self._number(f"?ACCTIME {address}", axis)
        try:
            self._max_velocity[axis.name] = float(self.command(f"?VELOCITY MAX {address}", axis))
        except (IcePAPError, ValueError):
            pass  # not every firmware (nor the simulator) tells its maximum
        if not status.power and axis.config.get("autopower", True):
            self.set_on(axis)

    def finalize(self) -> None:
        if self._reviver is not None:
            self._reviver.kill(block=False)
        self.link.close()

    # -- positions and state ------------------------------------------------------------------
    def read_position(self, axis: Axis) -> float:
        return self._number(f"?FPOS {self.addresses[axis.name]}", axis, int)

    def set_position(self, axis: Axis, steps: float) -> float:
        steps = int(round(steps))
        self.command(f"#POS {self.addresses[axis.name]} {steps}", axis)
        return self.read_position(axis)

    def _status(self, axis: Axis) -> BoardStatus:
        text = self.command(f"?FSTATUS {self.addresses[axis.name]}", axis)
        try:
            return BoardStatus(int(text, 16))
        except ValueError:
            raise IcePAPError(f"{self._who(axis)}: ?FSTATUS answered {text!r}, not a status word") from None

    def state(self, axis: Axis) -> AxisState:
        return self._status(axis).axis_state()

    # -- velocity and acceleration ---------------------------------------------------------------
    def read_velocity(self, axis: Axis) -> float:
        v = self._number(f"?VELOCITY {self.addresses[axis.name]}", axis)
        self._velocity[axis.name] = v
        return v

    def read_acceleration(self, axis: Axis) -> float:
        t = self._number(f"?ACCTIME {self.addresses[axis.name]}", axis)
        self._acctime[axis.name] = t
        return self.read_velocity(axis) / t

    def _max_steps_velocity(self, axis: Axis) -> tuple[float, str]:
        limits = []
        if axis.name in self._max_velocity:
            limits.append((self._max_velocity[axis.name], "the board's maximum (?VELOCITY MAX)"))
        high = axis.config.get("velocity_high_limit")
        if high is not None:
            limits.append((float(high) * abs(axis.steps_per_unit),
                           f"velocity_high_limit {float(high):g} {axis.unit}/s"))
        return min(limits, default=(math.inf, ""))

    def set_velocity(self, axis: Axis, steps_per_s: float) -> None:
        limit, why = self._max_steps_velocity(axis)
        if steps_per_s > limit:
            spu = abs(axis.steps_per_unit)
            raise MotionError(f"{axis.name}: velocity {steps_per_s / spu:g} {axis.unit}/s "
                              f"({steps_per_s:g} steps/s) is above {why}: {limit / spu:g} {axis.unit}/s "
                              f"on IcePAP {self.name}")
        # the acceleration is kept: the board's acceleration time follows the velocity
        # (clamped to its range, as BLISS does: set_acceleration, which refuses, comes next)
        acceleration = self._velocity.get(axis.name, steps_per_s) / self._acctime.get(axis.name, 1.0)
        low, high = ACCTIME_RANGE
        acctime = min(max(steps_per_s / acceleration, low), high)
        address = self.addresses[axis.name]
        self.command(f"#VELOCITY {address} {steps_per_s:.6g}", axis)
        self._velocity[axis.name] = steps_per_s
        self.command(f"#ACCTIME {address} {acctime:.6g}", axis)
        self._acctime[axis.name] = acctime

    def set_acceleration(self, axis: Axis, steps_per_s2: float) -> None:
        velocity = self._velocity.get(axis.name) or self.read_velocity(axis)
        acctime = self._check_acctime(axis, velocity / steps_per_s2)
        self.command(f"#ACCTIME {self.addresses[axis.name]} {acctime:.6g}", axis)
        self._acctime[axis.name] = acctime

    def _check_acctime(self, axis: Axis, acctime: float) -> float:
        low, high = ACCTIME_RANGE
        if not low <= acctime <= high:
            raise MotionError(f"{axis.name}: that velocity and acceleration need an acceleration time of "
                              f"{acctime:g} s, outside IcePAP {self.name}'s {low:g}..{high:g} s")
        return acctime

    # -- motion -----------------------------------------------------------------------------------
    def start_one(self, motion: Motion) -> None:
        self.start_all(motion)

    def start_all(self, *motions: Motion) -> None:
        """One #MOVE for all (GROUP when several: they start together, and one stopping
        stops them all); each motion learns when its trapezoid should end."""
        addresses = [self.addresses[m.axis.name] for m in motions]
        now_at = self._start_steps(motions, addresses)
        targets = [int(round(m.target_steps)) for m in motions]
        pairs = " ".join(f"{a} {t}" for a, t in zip(addresses, targets))
        self.command(f"#MOVE {'GROUP ' if len(motions) > 1 else ''}{pairs}", motions[0].axis)
        started = time.monotonic()
        for m, p0, target in zip(motions, now_at, targets):
            m.started_at = started
            name = m.axis.name
            velocity, acctime = self._velocity.get(name), self._acctime.get(name)
            if velocity and acctime:
                m.expected_end = trapezoid(started, float(p0), target, velocity, velocity / acctime).end_time

    def _start_steps(self, motions: tuple[Motion, ...], addresses: list[int]) -> list[float]:
        """Where each leg starts (steps): the dial the axis has just read to plan it (no
        round trip per move), else asked (?FPOS)."""
        if all(m.start_dial is not None for m in motions):
            return [m.start_dial * m.axis.steps_per_unit for m in motions]
        return [float(p) for p in self.command("?FPOS " + " ".join(map(str, addresses)), motions[0].axis).split()]

    def stop(self, axis: Axis) -> None:
        self.command(f"#STOP {self.addresses[axis.name]}", axis)

    def stop_all(self, *motions: Motion) -> None:
        self.command("#STOP " + " ".join(str(self.addresses[m.axis.name]) for m in motions), motions[0].axis)

    def abort(self, axis: Axis) -> None:
        """ABORT (no deceleration); a board that does not know it (the simulator) is
        stopped instead."""
        address = self.addresses[axis.name]
        try:
            self.command(f"#{self._abort_command} {address}", axis)
        except IcePAPError as exc:
            if self._abort_command != "ABORT" or "not recognised" not in str(exc):
                raise
            log.warning("%s: IcePAP %s does not know ABORT; STOP is used instead", axis.name, self.name)
            self._abort_command = "STOP"
            self.command(f"#STOP {address}", axis)

    def start_jog(self, axis: Axis, velocity: float, direction: int, stop_at: float | None = None) -> None:
        self.command(f"#JOG {self.addresses[axis.name]} {int(round(velocity * direction))}", axis)

    def set_jog_velocity(self, axis: Axis, velocity: float, direction: int, stop_at: float | None = None) -> None:
        self.start_jog(axis, velocity, direction)

    def home_search(self, axis: Axis, switch: int) -> None:
        direction = "0" if switch == 0 else ("+1" if switch > 0 else "-1")
        self.command(f"#{self.addresses[axis.name]}:HOME {direction}", axis)

    def home_state(self, axis: Axis) -> AxisState:
        st = self.state(axis)
        if "MOVING" in st:
            return st
        found = self.command(f"{self.addresses[axis.name]}:?HOMESTAT", axis)
        if not found.upper().startswith("FOUND"):
            raise MotionError(f"{self._who(axis)}: home switch not found ({found})")
        return st

    def set_on(self, axis: Axis) -> None:
        self.command(f"#POWER ON {self.addresses[axis.name]}", axis)

    def set_off(self, axis: Axis) -> None:
        self.command(f"#POWER OFF {self.addresses[axis.name]}", axis)
