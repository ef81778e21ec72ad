"""Controller: the hardware side of motion, in steps, as BLISS's emotion controllers are.

An Axis converts user/dial units to steps and calls these methods; a concrete controller
(Mockup, TangoAxis, a real driver) only implements the hardware primitives. Axes are
created by their controller from plain config dicts and initialized lazily, on first use,
so building a configuration never touches hardware.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gevent.lock

from .errors import MotionError
from .state import AxisState

if TYPE_CHECKING:
    from .axis import Axis, Motion
    from .encoder import Encoder
    from .shutter import Shutter

SettingsFactory = Callable[[str, dict], Any]


def default_settings_factory(name: str, defaults: dict) -> Any:
    """Redis-backed settings (core.beacon); imported late so building needs no Redis."""
    from blisstango.core.beacon.settings import object_settings

    return object_settings(name, defaults=defaults)


class Controller:
    """Base class: holds axes/encoders/shutters built from config, hardware API in steps."""

    axis_class: type | None = None  # default: core.motion.axis.Axis
    #: True when the hardware keeps velocity/acceleration itself (a remote Tango axis):
    #: they are read from it and never overwritten from settings at initialization
    hardware_owns_velocity = False
    #: True when the controller tells the end of every motion itself (an event from the
    #: hardware, a callback): it calls `self.motion_ended(axis)`, whatever ended the
    #: motion (move, jog, home, stop, limit), and the axis reads no state while waiting
    #: for it. A controller that knows when its trajectory ends sets
    #: `motion.expected_end` (time.monotonic()) in start_all instead (else the axis
    #: predicts it from velocity and acceleration): the axis then checks the state about
    #: every millisecond from that time on (core/motion/monitor.py).
    pushes_motion_end = False

    def __init__(
        self,
        name: str,
        config: dict,
        axes: list[dict] | None = None,
        encoders: list[dict] | None = None,
        shutters: list[dict] | None = None,
        settings_factory: SettingsFactory | None = None,
        config_root: str | None = None,
    ) -> None:
        from .axis import Axis
        from .encoder import Encoder
        from .shutter import Shutter

        self.name = name
        self.config = dict(config)
        self.settings_factory = settings_factory or default_settings_factory
        self.config_root = config_root  # YAML tree root, for settings_to_config()
        self._init_lock = gevent.lock.RLock()
        self._initialized = False
        self._axes_initialized: set[str] = set()
        self.encoders: dict[str, Encoder] = {}
        for ecfg in encoders or []:
            enc = Encoder(ecfg["name"], self, ecfg)
            self.encoders[enc.name] = enc
        self.axes: dict[str, Axis] = {}
        for acfg in axes or []:
            cls = self.axis_class or Axis
            ax = cls(acfg["name"], self, acfg)
            self.axes[ax.name] = ax
        self.shutters: dict[str, Shutter] = {}
        for scfg in shutters or []:
            sh = Shutter(scfg["name"], self, scfg)
            self.shutters[sh.name] = sh
        for ax in self.axes.values():
            ref = ax.config.get("encoder")
            if ref:
                ename = str(ref).lstrip("$")
                if ename not in self.encoders:
                    raise MotionError(f"{ax.name}: encoder {ename!r} is not an encoder of controller {name}")
                ax.encoder = self.encoders[ename]
                self.encoders[ename].axis = ax

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} axes={list(self.axes)}>"

    # -- lazy initialization -------------------------------------------------------
    def _ensure_axis_init(self, axis: Axis) -> None:
        if axis.name in self._axes_initialized:
            return
        with self._init_lock:
            if not self._initialized:
                self.initialize()
                self._initialized = True
            if axis.name not in self._axes_initialized:
                self.initialize_axis(axis)
                self._axes_initialized.add(axis.name)
                axis._apply_settings_to_hardware()

    def motion_ended(self, axis: Axis) -> None:
        """The hardware says the axis' motion is over (controllers with pushes_motion_end;
        call it in the gevent hub's thread). The axis reads the final state once."""
        axis._end_told.set()

    # -- hardware API (override) -----------------------------------------------------
    def initialize(self) -> None:
        """Open the connection to the controller (once)."""

    def initialize_axis(self, axis: Axis) -> None:
        """Prepare one axis (once, before its first use)."""

    def finalize(self) -> None:
        """Release the connection."""

    def read_position(self, axis: Axis) -> float:
        raise NotImplementedError

    def set_position(self, axis: Axis, steps: float) -> float:
        """Redefine the hardware position (no motion); return the new position in steps."""
        raise MotionError(f"{axis.name}: controller {self.name} cannot redefine its position")

    def read_velocity(self, axis: Axis) -> float:
        raise NotImplementedError

    def set_velocity(self, axis: Axis, steps_per_s: float) -> None:
        raise NotImplementedError

    def read_acceleration(self, axis: Axis) -> float:
        raise NotImplementedError

    def set_acceleration(self, axis: Axis, steps_per_s2: float) -> None:
        raise NotImplementedError

    def state(self, axis: Axis) -> AxisState:
        raise NotImplementedError

    def prepare_move(self, motion: Motion) -> None:
        """Called for every motion before any start (load targets)."""

    def start_one(self, motion: Motion) -> None:
        raise NotImplementedError

    def start_all(self, *motions: Motion) -> None:
        """Start several motions as simultaneously as the hardware allows; set each
        motion's `started_at` and, if known, `expected_end` (time.monotonic())."""
        for m in motions:
            self.start_one(m)

    def stop(self, axis: Axis) -> None:
        """Decelerate to a stop."""
        raise NotImplementedError

    def stop_all(self, *motions: Motion) -> None:
        for m in motions:
            self.stop(m.axis)

    def abort(self, axis: Axis) -> None:
        """Stop as fast as the hardware can (default: same as stop)."""
        self.stop(axis)

    def start_jog(self, axis: Axis, velocity: float, direction: int, stop_at: float | None = None) -> None:
        """Jog at velocity (steps/s) in direction (+1/-1). stop_at: the software limit
        ahead in steps, for a controller that can hold its own travel limit; one that
        cannot ignores it (the axis then stops the jog before the limit itself)."""
        raise MotionError(f"{axis.name}: controller {self.name} cannot jog")

    def set_jog_velocity(self, axis: Axis, velocity: float, direction: int, stop_at: float | None = None) -> None:
        """Change the jog velocity while jogging (default: stop and restart)."""
        self.stop(axis)
        self.start_jog(axis, velocity, direction, stop_at)

    def stop_jog(self, axis: Axis) -> None:
        self.stop(axis)

    def home_search(self, axis: Axis, switch: int) -> None:
        raise MotionError(f"{axis.name}: controller {self.name} cannot search home")

    def home_state(self, axis: Axis) -> AxisState:
        return self.state(axis)

    def set_on(self, axis: Axis) -> None:
        """Power the axis (default: nothing to do)."""

    def set_off(self, axis: Axis) -> None:
        raise MotionError(f"{axis.name}: controller {self.name} cannot switch the axis off")

    def read_encoder(self, encoder: Encoder) -> float:
        raise NotImplementedError

    def set_encoder(self, encoder: Encoder, steps: float) -> None:
        raise MotionError(f"{encoder.name}: controller {self.name} cannot set the encoder")

    # shutters
    def shutter_open(self, shutter: Shutter) -> None:
        raise NotImplementedError

    def shutter_close(self, shutter: Shutter) -> None:
        raise NotImplementedError

    def shutter_state(self, shutter: Shutter) -> str:
        raise NotImplementedError
