"""BlissAxis: one Tango device per axis, with the attribute and command names of BLISS's
axis server, units/format/limits as attribute properties, and self-pushed events."""

from __future__ import annotations

import math
import time

from tango import AttrQuality, AttrWriteType, DevState, GreenMode
from tango.server import Device, attribute, command, device_property

from blisstango.core.config.root import process_object
from blisstango.core.motion import Axis, write_behind

from ..config_object import object_name, uses_database
from ..errors import devfailed, init_failed
from ..pusher import PushedUnderMonitor
from ..request_thread import no_hardware_read, request_hook
from .events import SETTINGS, EventPusher, status_text, tango_state
from .locking import check_unlocked

RW = AttrWriteType.READ_WRITE


def _format(steps_per_unit: float) -> str:
    """Enough decimals to show one step."""
    digits = max(1, min(8, math.ceil(math.log10(max(1.0, abs(steps_per_unit))))))
    return f"%.{digits}f"


class BlissAxis(PushedUnderMonitor, Device):
    """A motor (real or calc) of the YAML configuration."""

    green_mode = GreenMode.Gevent
    always_executed_hook = request_hook     # in the request thread: no hub handoff
    read_attr_hardware = no_hardware_read
    init_error_reason = "AxisInitError"     # servers.errors: requests refused after a failed init

    ObjectName = device_property(dtype=str, default_value="",
                                 doc="configuration object name (default: alias, else last field)")
    EventPeriod = device_property(dtype=float, default_value=0.04,
                                  doc="seconds between Position events while moving")

    # -- life cycle ----------------------------------------------------------------
    def _object_name(self) -> str:
        return object_name(self, self.ObjectName)

    def init_device(self) -> None:
        super().init_device()
        self.axis = None
        self.init_error = ""
        try:
            self._init_axis()
        except Exception as exc:  # the device stays up and says why it cannot work
            init_failed(self, f"{self._object_name()}: cannot build the axis: {exc}", exc)

    def _init_axis(self) -> None:
        self.axis = process_object(self._object_name(), Axis, "motion axis")
        self.step_size = float(self.axis.config.get("step_size", 1.0))
        self.events = EventPusher(self, max(0.005, float(self.EventPeriod)), prepare=self._sync_target)
        for name in ("Position", "Dial_position", "State", "Status", *SETTINGS):
            self.set_change_event(name, True, False)
        self._configure_attributes()
        self._target_shown = None
        self._sync_target()
        self.axis.position_changed.append(self._on_position)
        self.axis.state_changed.append(self._on_state)
        st = self.axis.state
        self.set_state(tango_state(st))
        self.set_status(status_text(self.axis.name, st))
        registry[self.axis.name] = self

    def delete_device(self) -> None:
        write_behind.flush()  # the last positions reach Redis before the device goes
        ax = getattr(self, "axis", None)
        if ax is not None:
            for lst, cb in ((ax.position_changed, self._on_position), (ax.state_changed, self._on_state)):
                if cb in lst:
                    lst.remove(cb)
            registry.pop(ax.name, None)

    def _configure_attributes(self) -> None:
        """Unit, format, label and alarm range (= limits) of each attribute.

        Setting attribute properties writes them to the Tango database, which BeaconDB
        turns into YAML: with a database the device never writes them; the database
        derives them from the YAML (descriptor.attribute_properties). Without one
        (test context, -nodb) the device sets them itself.
        """
        if uses_database():
            return
        fmt, unit = _format(self.axis.steps_per_unit), self.axis.unit
        for name in ("Position", "Dial_position", "Measured_Position", "Offset", "Backlash",
                     "Tolerance", "Limits", "Low_limit", "High_limit", "Home_position"):
            self._set_props(name, unit=unit, format=fmt,
                            label=f"{self.axis.name} {name.replace('_', ' ').lower()}")
        for name, u in (("Velocity", f"{unit}/s"), ("Acceleration", f"{unit}/s2"), ("AccTime", "s")):
            self._set_props(name, unit=u, format="%.4f")
        self._limits_to_position()

    def _set_props(self, attr: str, **values: str) -> None:
        a = self.get_device_attr().get_attr_by_name(attr)
        props = a.get_properties()
        changed = False
        for key, value in values.items():
            if key in ("min_alarm", "max_alarm"):
                target = props.alarms if hasattr(props, "alarms") else props
                if getattr(target, key) != value:
                    setattr(target, key, value)
                    changed = True
                continue
            if getattr(props, key) != value:
                setattr(props, key, value)
                changed = True
        if changed:
            a.set_properties(props)

    def _limits_to_position(self) -> None:
        """Show the software limits as Position's alarm range (Taurus colours outside);
        with a database the range stays the configured one (no database writes)."""
        if uses_database():
            return
        low, high = self.axis.limits
        self._set_props("Position",
                        min_alarm=repr(low) if math.isfinite(low) else "Not specified",
                        max_alarm=repr(high) if math.isfinite(high) else "Not specified")

    # -- events -----------------------------------------------------------------------
    def _on_position(self, value: float) -> None:
        self.events.position(value, self.axis.is_moving, self.axis.user2dial(value))

    def _sync_target(self) -> None:
        """Position's write value = the axis' last target, whoever set it (a write here, a
        group move, a scan, a stop). Under the device's monitor only: in a Position read
        (clients read it) and in every event job (Position events carry it); nothing to
        do at each move in between."""
        target = self.axis.set_position
        if target != self._target_shown:
            self._target_shown = target
            self.get_device_attr().get_w_attr_by_name("Position").set_write_value(target)

    def _settings_changed(self) -> None:
        """After any setting changed: Position's alarm range, and every setting pushed
        (one write can change others: velocity moves acctime, offset moves limits)."""
        self._limits_to_position()
        ax = self.axis
        self.events.settings({"Velocity": ax.velocity, "Acceleration": ax.acceleration, "AccTime": ax.acctime,
                              "Offset": ax.offset, "Sign": ax.sign, "Backlash": ax.backlash,
                              "Limits": list(ax.limits), "Low_limit": ax.low_limit, "High_limit": ax.high_limit,
                              "Step_size": self.step_size})

    def _on_state(self, state) -> None:
        self.events.state(tango_state(state), status_text(self.axis.name, state))

    def dev_state(self) -> DevState:
        if self.axis is None:
            return DevState.FAULT
        try:
            st = self.axis.state
        except Exception as exc:
            self.set_status(f"{self.axis.name}: {exc}")
            return DevState.FAULT
        self.set_status(status_text(self.axis.name, st))
        return tango_state(st)

    def dev_status(self) -> str:
        if self.axis is None:
            return self.init_error
        self.dev_state()
        return self.get_status()

    def _move(self, target: float, relative: bool = False) -> None:
        check_unlocked([self.axis])
        self.axis.move(target, wait=False, relative=relative)

    # -- attributes -----------------------------------------------------------------------
    @attribute(dtype=float, access=RW, doc="user position; writing starts a move")
    @devfailed
    def Position(self):
        self._sync_target()
        q = AttrQuality.ATTR_CHANGING if self.axis.is_moving else AttrQuality.ATTR_VALID
        return self.axis.position, time.time(), q

    @Position.write
    @devfailed
    def Position(self, value: float) -> None:
        self._move(value)

    @attribute(dtype=float, doc="dial (hardware) position; redefine it with SetDial")
    @devfailed
    def Dial_position(self) -> float:
        return self.axis.dial

    @attribute(dtype=float, doc="encoder position in user units (motor position if no encoder)")
    @devfailed
    def Measured_Position(self) -> float:
        return self.axis.measured_position

    @attribute(dtype=float, access=RW)
    @devfailed
    def Velocity(self) -> float:
        return self.axis.velocity

    @Velocity.write
    @devfailed
    def Velocity(self, value: float) -> None:
        self.axis.velocity = value
        self._settings_changed()

    @attribute(dtype=float, access=RW)
    @devfailed
    def Acceleration(self) -> float:
        return self.axis.acceleration

    @Acceleration.write
    @devfailed
    def Acceleration(self, value: float) -> None:
        self.axis.acceleration = value
        self._settings_changed()

    @attribute(dtype=float, access=RW, doc="velocity / acceleration")
    @devfailed
    def AccTime(self) -> float:
        return self.axis.acctime

    @AccTime.write
    @devfailed
    def AccTime(self, value: float) -> None:
        self.axis.acctime = value
        self._settings_changed()

    @attribute(dtype=float, access=RW)
    @devfailed
    def Offset(self) -> float:
        return self.axis.offset

    @Offset.write
    @devfailed
    def Offset(self, value: float) -> None:
        self.axis.offset = value
        self._settings_changed()

    @attribute(dtype=int, access=RW, doc="user = sign * dial + offset")
    @devfailed
    def Sign(self) -> int:
        return self.axis.sign

    @Sign.write
    @devfailed
    def Sign(self, value: int) -> None:
        self.axis.sign = value
        self._settings_changed()

    @attribute(dtype=float)
    @devfailed
    def Steps_per_unit(self) -> float:
        return self.axis.steps_per_unit

    @attribute(dtype=float, access=RW, doc="final approach is made in the direction of its sign")
    @devfailed
    def Backlash(self) -> float:
        return self.axis.backlash

    @Backlash.write
    @devfailed
    def Backlash(self, value: float) -> None:
        self.axis.backlash = value
        self._settings_changed()

    @attribute(dtype=float)
    @devfailed
    def Tolerance(self) -> float:
        return self.axis.tolerance

    @attribute(dtype=(float,), max_dim_x=2, access=RW, doc="software limits (low, high), user units")
    @devfailed
    def Limits(self):
        return list(self.axis.limits)

    @Limits.write
    @devfailed
    def Limits(self, value) -> None:
        if len(value) != 2:
            raise ValueError(f"{self.axis.name}: Limits takes 2 values (low, high), got {len(value)}")
        self.axis.limits = (value[0], value[1])
        self._settings_changed()

    @attribute(dtype=float, access=RW)
    @devfailed
    def Low_limit(self) -> float:
        return self.axis.low_limit

    @Low_limit.write
    @devfailed
    def Low_limit(self, value: float) -> None:
        self.axis.low_limit = value
        self._settings_changed()

    @attribute(dtype=float, access=RW)
    @devfailed
    def High_limit(self) -> float:
        return self.axis.high_limit

    @High_limit.write
    @devfailed
    def High_limit(self, value: float) -> None:
        self.axis.high_limit = value
        self._settings_changed()

    @attribute(dtype=float, doc="dial position set after homing (NaN: not configured)")
    @devfailed
    def Home_position(self) -> float:
        hp = self.axis.home_position
        return math.nan if hp is None else hp

    @attribute(dtype=str)
    @devfailed
    def Unit(self) -> str:
        return self.axis.unit

    @attribute(dtype=float, access=RW, doc="distance of StepUp / StepDown")
    @devfailed
    def Step_size(self) -> float:
        return self.step_size

    @Step_size.write
    @devfailed
    def Step_size(self, value: float) -> None:
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{self.axis.name}: step size must be a positive number, got {value}")
        self.step_size = value
        self._settings_changed()

    # -- commands -----------------------------------------------------------------------------
    @command
    @devfailed
    def Stop(self) -> None:
        """Decelerate to a stop."""
        self.axis.stop(wait=False)

    @command
    @devfailed
    def Abort(self) -> None:
        """Stop as fast as the hardware can."""
        self.axis.abort(wait=False)

    @command
    @devfailed
    def GoHome(self) -> None:
        check_unlocked([self.axis])
        self.axis.home(wait=False)

    @command(dtype_in=float, doc_in="signed velocity, user units/s; again while jogging: new velocity")
    @devfailed
    def JogMove(self, velocity: float) -> None:
        check_unlocked([self.axis])
        self.axis.jog(velocity)

    @command
    @devfailed
    def StepUp(self) -> None:
        self._move(self.step_size, relative=True)

    @command
    @devfailed
    def StepDown(self) -> None:
        self._move(-self.step_size, relative=True)

    @command(dtype_in=float, doc_in="new user position (the offset changes)")
    @devfailed
    def SetPosition(self, value: float) -> None:
        check_unlocked([self.axis])
        self.axis.position_to(value)
        self._settings_changed()

    @command(dtype_in=float, doc_in="new dial position (the user position is kept)")
    @devfailed
    def SetDial(self, value: float) -> None:
        check_unlocked([self.axis])
        self.axis.dial_to(value)
        self._settings_changed()

    @command
    @devfailed
    def On(self) -> None:
        self.axis.on()

    @command
    @devfailed
    def Off(self) -> None:
        self.axis.off()

    @command
    @devfailed
    def WaitMove(self) -> None:
        """Return at the end of the motion (raises the error the motion ended with)."""
        self.axis.wait_move()

    @command
    @devfailed
    def ApplyConfig(self) -> None:
        """Back to the YAML values (persisted settings forgotten)."""
        self.axis.apply_config()
        self._settings_changed()

    @command
    @devfailed
    def SettingsToConfig(self) -> None:
        """Write the current settings into the YAML file, comments kept."""
        self.axis.settings_to_config()


#: BlissAxis devices of this process by axis name (the manager's view)
registry: dict[str, BlissAxis] = {}
