"""TangoAxis: any Tango device with a position-like attribute used as an axis.

The legacy-integration path: another AxisManager axis, a Sardana motor, a C++ server,
or any writable scalar attribute (Debian TangoTest's `ampli`). Axis YAML keys:
`tango_name` (device), `attribute` (default `Position`). When the attribute is the
device's motion attribute, the device State drives ours (MOVING/RUNNING -> MOVING);
for any other attribute a write is a complete motion. Velocity/Acceleration, Stop,
Abort, SetPosition and JogMove are used when the device has them; steps_per_unit
defaults to 1 (the remote device's own units).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tango

from ..config.servers import kind_of_class
from .controller import Controller
from .errors import MotionError
from .state import AxisState

if TYPE_CHECKING:
    from .axis import Axis, Motion

_MOVING = {tango.DevState.MOVING, tango.DevState.RUNNING}
_STATE_MAP = {
    tango.DevState.FAULT: "FAULT",
    tango.DevState.OFF: "OFF",
    tango.DevState.DISABLE: "DISABLED",
}


class _Remote:
    def __init__(self, axis: Axis) -> None:
        name = axis.config.get("tango_name")
        if not name:
            raise MotionError(f"{axis.name}: TangoAxis needs `tango_name` (the device to drive)")
        self.name = str(name)
        self.attribute = str(axis.config.get("attribute", "Position"))
        try:
            self.proxy: Any = tango.DeviceProxy(self.name, green_mode=tango.GreenMode.Gevent)
            attrs = {a.lower() for a in self.proxy.get_attribute_list()}
            cmds = {c.cmd_name.lower() for c in self.proxy.command_list_query()}
        except tango.DevFailed as exc:
            raise MotionError(f"{axis.name}: cannot reach Tango device {self.name}: "
                              f"{exc.args[0].desc.strip()}") from None
        if self.attribute.lower() not in attrs:
            raise MotionError(f"{axis.name}: Tango device {self.name} has no attribute {self.attribute}")
        self.attrs, self.cmds = attrs, cmds
        self.motion_attribute = self.attribute.lower() == "position"
        self.local = {"velocity": 1.0, "acceleration": 10.0}
        self.manager: str | None = None  # AxisManagerDevice serving it ("" = none)
        self.object_name = self.name.rsplit("/", 1)[-1].split("#")[0]

    def has(self, attr: str) -> bool:
        return self.motion_attribute and attr.lower() in self.attrs

    def call(self, axis: Axis, what: str, fn, *args):
        try:
            return fn(*args)
        except tango.DevFailed as exc:
            raise MotionError(f"{axis.name}: {self.name} {what}: {exc.args[0].desc.strip()}") from None


class TangoAxis(Controller):
    """Each axis drives one remote Tango device attribute."""

    hardware_owns_velocity = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._remote: dict[str, _Remote] = {}

    def initialize_axis(self, axis: Axis) -> None:
        self._remote[axis.name] = _Remote(axis)

    def _r(self, axis: Axis) -> _Remote:
        return self._remote[axis.name]

    def read_position(self, axis: Axis) -> float:
        r = self._r(axis)
        return float(r.call(axis, f"read {r.attribute}", r.proxy.read_attribute, r.attribute).value)

    def set_position(self, axis: Axis, steps: float) -> float:
        r = self._r(axis)
        if "setdial" not in r.cmds:
            return super().set_position(axis, steps)
        r.call(axis, "SetDial", r.proxy.command_inout, "SetDial", float(steps))
        return steps

    def _rw(self, axis: Axis, attr: str, value: float | None = None) -> float:
        r = self._r(axis)
        if not r.has(attr):
            if value is not None:
                r.local[attr.lower()] = value
            return r.local[attr.lower()]
        if value is not None:
            r.call(axis, f"write {attr}", r.proxy.write_attribute, attr, value)
            return value
        return float(r.call(axis, f"read {attr}", r.proxy.read_attribute, attr).value)

    def read_velocity(self, axis: Axis) -> float:
        return self._rw(axis, "Velocity")

    def set_velocity(self, axis: Axis, steps_per_s: float) -> None:
        self._rw(axis, "Velocity", steps_per_s)

    def read_acceleration(self, axis: Axis) -> float:
        return self._rw(axis, "Acceleration")

    def set_acceleration(self, axis: Axis, steps_per_s2: float) -> None:
        self._rw(axis, "Acceleration", steps_per_s2)

    def state(self, axis: Axis) -> AxisState:
        r = self._r(axis)
        st = r.call(axis, "State", r.proxy.state)
        if st in _STATE_MAP:
            return AxisState(_STATE_MAP[st])
        if r.motion_attribute and st in _MOVING:
            return AxisState("MOVING")
        return AxisState("READY")

    def start_one(self, motion: Motion) -> None:
        self.start_all(motion)

    def start_all(self, *motions: Motion) -> None:
        """Axes of one AxisManager start with one GroupMove (a synchronized start, and the
        lock owner named when the controller has `lock_owner`); others by attribute write."""
        owner = self.config.get("lock_owner")
        groups: dict[str, list[Motion]] = {}
        for m in motions:
            manager = self._manager(m.axis) if (owner or len(motions) > 1) else None
            if manager is None:
                r = self._r(m.axis)
                r.call(m.axis, f"write {r.attribute}", r.proxy.write_attribute, r.attribute,
                       float(m.target_steps))
            else:
                groups.setdefault(manager, []).append(m)
        for manager, group in groups.items():
            args = [f"@{owner}"] if owner else []
            for m in group:
                args += [self._r(m.axis).object_name, repr(float(m.target_steps))]
            first = group[0].axis
            proxy = tango.DeviceProxy(manager, green_mode=tango.GreenMode.Gevent)
            self._r(first).call(first, f"{manager} GroupMove", proxy.command_inout, "GroupMove", args)

    def _manager(self, axis: Axis) -> str | None:
        """The AxisManagerDevice serving this axis' device, if it is an AxisManager axis."""
        r = self._r(axis)
        if r.manager is None:
            r.manager = ""
            try:
                info = r.proxy.info()
                kind = kind_of_class(info.dev_class)  # the suite server serving that class
                if kind is not None and kind.manager_class:
                    db = tango.Database(r.proxy.get_db_host(), int(r.proxy.get_db_port()))
                    pairs = list(db.get_device_class_list(info.server_id).value_string)
                    for dev, klass in zip(pairs[::2], pairs[1::2]):
                        if klass == kind.manager_class:
                            r.manager = f"tango://{r.proxy.get_db_host()}:{r.proxy.get_db_port()}/{dev}"
                    r.object_name = r.proxy.alias() if r.manager else r.object_name
            except (tango.DevFailed, ValueError):
                r.manager = ""
        return r.manager or None

    def stop(self, axis: Axis) -> None:
        r = self._r(axis)
        if "stop" in r.cmds:
            r.call(axis, "Stop", r.proxy.command_inout, "Stop")

    def abort(self, axis: Axis) -> None:
        r = self._r(axis)
        if "abort" in r.cmds:
            r.call(axis, "Abort", r.proxy.command_inout, "Abort")
        else:
            self.stop(axis)

    def start_jog(self, axis: Axis, velocity: float, direction: int, stop_at: float | None = None) -> None:
        r = self._r(axis)
        if "jogmove" not in r.cmds:
            super().start_jog(axis, velocity, direction)
        r.call(axis, "JogMove", r.proxy.command_inout, "JogMove", float(direction * velocity))

    def set_jog_velocity(self, axis: Axis, velocity: float, direction: int, stop_at: float | None = None) -> None:
        self.start_jog(axis, velocity, direction)

    def set_on(self, axis: Axis) -> None:
        r = self._r(axis)
        if "on" in r.cmds:
            r.call(axis, "On", r.proxy.command_inout, "On")

    def set_off(self, axis: Axis) -> None:
        r = self._r(axis)
        if "off" not in r.cmds:
            super().set_off(axis)
        r.call(axis, "Off", r.proxy.command_inout, "Off")
