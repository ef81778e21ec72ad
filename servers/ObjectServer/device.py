"""GenericObject device `<domain>/object/<name>`: any configuration object as Tango sees it.

Built from the YAML by the process's one ObjectFactory (a `default` object is its
configuration; an `object` is an instance of the beamline's own class). Its interface
(core.objects.members): configuration values as read-only attributes (and `Config`,
all of it as JSON), public properties as attributes (writable if they have a setter),
public methods as commands, every type from the annotations. A method's parameters
travel as one Tango argument: none, its one parameter, an array of numbers for
numeric parameters, else a string array (one text per parameter, trailing defaults may
be left out). A member whose type cannot be carried leaves the device in FAULT, its
Status and every request naming each such member. A property the object announces
(core.objects.announce) is pushed as a change event.
"""

from __future__ import annotations

import json
import logging
import threading

import gevent
import tango
from tango import AttrWriteType, DevState, GreenMode
from tango.server import Device, attribute, command, device_property

from blisstango.core.config.root import process_objects
from blisstango.core.config.servers import tango_override
from blisstango.core.objects.announce import connect, disconnect
from blisstango.core.objects.members import MethodMember, ObjectInterface, interface

from ..config_object import object_name
from ..errors import as_devfailed, devfailed, init_failed
from ..pusher import PushedUnderMonitor
from ..request_thread import no_hardware_read, request_hook
from .tango_types import attribute_type, attribute_value, command_type

log = logging.getLogger(__name__)
MAX_SPECTRUM = 1 << 20


class GenericObject(PushedUnderMonitor, Device):
    """Runs BY_DEVICE: its pushes and stored State/Status go through servers.pusher, under
    the monitor a client's read of the same attribute holds."""

    green_mode = GreenMode.Gevent
    always_executed_hook = request_hook
    read_attr_hardware = no_hardware_read
    init_error_reason = "ObjectInitError"

    ObjectName = device_property(dtype=str, default_value="", doc="configuration object served by this device")

    # ------------------------------------------------------------------ life
    def init_device(self) -> None:
        super().init_device()
        self.object_name = object_name(self, self.ObjectName)
        self.init_error = ""
        self.obj = None
        self.iface: ObjectInterface | None = None
        self.config: dict = {}
        self._thread = threading.get_ident()
        self._hub = gevent.get_hub()
        for name in ("State", "Status"):
            self.set_change_event(name, True, False)
        try:
            factory = process_objects()
            node = factory.tree[self.object_name]
            self.config = node.to_dict()
            members = tango_override(node, "export")
            self.obj = factory.get(self.object_name)
            self.iface = interface(self.object_name, self.obj, self.config,
                                   list(members) if isinstance(members, list) else None)
        except Exception as exc:  # noqa: BLE001 - the device stays up and says why
            init_failed(self, str(exc) if str(exc).startswith(self.object_name) else f"{self.object_name}: {exc}", exc)
            self._set_state(DevState.FAULT, self.init_error)  # to subscribers too
            return
        connect(self.obj, self._announced)
        self._set_state(DevState.ON, self._summary())

    def delete_device(self) -> None:
        if self.obj is not None:
            disconnect(self.obj, self._announced)
        super().delete_device()

    def error_context(self) -> str:
        return self.object_name

    def _summary(self) -> str:
        i = self.iface
        kind = "configuration" if isinstance(self.obj, dict) else type(self.obj).__name__
        parts = [f"{self.object_name} ({kind})"]
        for what, names in (("properties", [p.name for p in i.properties]), ("methods", [m.name for m in i.methods]),
                            ("configuration", [c.name for c in i.config])):
            if names:
                parts.append(f"{what} {', '.join(names)}")
        return "; ".join(parts)

    def _set_state(self, state: DevState, status: str) -> None:
        """Only in init_device (which no request overlaps: set at once, read at once)."""
        self.set_state(state)
        self.set_status(status)
        self.push_change_event("State", state)
        self.push_change_event("Status", status)

    # ------------------------------------------------------------------ the interface
    def initialize_dynamic_attributes(self) -> None:
        if self.iface is None:
            return
        for member in self.iface.config:
            value = attribute_value(member.type, member.type.outgoing(member.value))
            self._add(member.name, member.type, False, lambda _device, attr, v=value: attr.set_value(v), None,
                      f"configuration key {member.key!r} (read-only)")
        for prop in self.iface.properties:
            self._add(prop.name, prop.type, prop.writable, self._reader(prop), self._writer(prop) if prop.writable
                      else None, prop.doc or f"property {prop.name}")
            self.set_change_event(prop.name, True, False)
        for method in self.iface.methods:
            self.add_command(self._command(method))

    def _add(self, name, vt, writable, read, write, doc) -> None:
        rw = AttrWriteType.READ_WRITE if writable else AttrWriteType.READ
        dtype = attribute_type(vt)
        attr = tango.SpectrumAttr(name, dtype, rw, MAX_SPECTRUM) if vt.sequence else tango.Attr(name, dtype, rw)
        props = tango.UserDefaultAttrProp()
        props.set_description(doc)
        if vt.is_enum and not vt.sequence:
            props.set_enum_labels([m.name for m in vt.base])
        attr.set_default_properties(props)
        self.add_attribute(attr, read, write)

    def _reader(self, prop):
        def read(_device, attr) -> None:   # PyTango calls a plain function with the device
            with as_devfailed(f"GenericObject.{prop.name}"):
                self._refuse_if_broken()
                attr.set_value(attribute_value(prop.type, prop.read(self.obj)))
        return read

    def _writer(self, prop):
        def write(_device, attr) -> None:
            with as_devfailed(f"GenericObject.{prop.name}"):
                self._refuse_if_broken()
                value = attr.get_write_value()
                prop.write(self.obj, list(value) if prop.type.sequence else value)
            self._push(prop.name, prop.read(self.obj))
        return write

    def _refuse_if_broken(self) -> None:
        if self.init_error:
            raise RuntimeError(self.init_error)

    def _command(self, method: MethodMember):
        params = method.parameters
        if not params:
            dtype_in, unpack = None, lambda argin: []
        elif len(params) == 1:
            dtype_in, unpack = command_type(params[0].type), lambda argin: [argin]
        elif all(p.type.numeric for p in params):
            dtype_in, unpack = tango.DevVarDoubleArray, lambda argin: list(argin)
        else:
            dtype_in = tango.DevVarStringArray

            def unpack(argin):
                if len(argin) > len(params):
                    raise ValueError(f"{method.name} takes {len(params)} argument(s), {len(argin)} given")
                values = []
                for text, p in zip(argin, params):
                    try:
                        values.append(p.type.from_text(text))
                    except (ValueError, KeyError) as exc:
                        raise ValueError(f"{method.name}: parameter {p.name!r}: {exc}") from None
                return values
        usage = ", ".join(f"{p.name}: {p.type.label()}" + ("" if p.required else "=default") for p in params)
        origin = f"GenericObject.{method.name}"
        name = self.object_name

        def call(argin):
            with as_devfailed(origin):
                self._refuse_if_broken()
                try:
                    return method.call(self.obj, unpack(argin))
                except ValueError as exc:   # named after the object, once
                    text = str(exc)
                    raise ValueError(text if text.startswith(f"{name}:") else f"{name}: {text}") from None

        if params:
            def run(argin):
                return call(argin)
        else:
            def run():
                return call(None)
        run.__name__ = method.name
        dtype_out = command_type(method.returns)
        return command(f=run, dtype_in=dtype_in, doc_in=f"({usage})" if params else "",
                       dtype_out=None if dtype_out == tango.DevVoid else dtype_out,
                       doc_out=method.doc or method.name)

    # ------------------------------------------------------------------ announcements
    def _announced(self, name: str, value) -> None:
        if threading.get_ident() == self._thread:
            self._push(name, value, outgoing=True)
        else:   # an object's own thread: push from the hub
            self._hub.loop.run_callback_threadsafe(self._push, name, value, True)

    def _push(self, name: str, value, outgoing: bool = False) -> None:
        prop = next((p for p in self.iface.properties if p.name == name), None) if self.iface else None
        if prop is None:
            return
        try:
            sent = prop.type.outgoing(value) if outgoing else value
            self.push_change_event(name, attribute_value(prop.type, sent))
        except Exception:  # noqa: BLE001 - a value that does not fit is logged, the device stays up
            log.exception("%s: change event of %s", self.object_name, name)

    # ------------------------------------------------------------------ fixed attributes
    @attribute(dtype=str, doc="the object's configuration as JSON")
    @devfailed
    def Config(self) -> str:
        return json.dumps(self.config, default=str)

    @attribute(dtype=str, doc="JSON {properties, methods, configuration} of the served interface, with types")
    @devfailed
    def Interface(self) -> str:
        i = self.iface
        return json.dumps({
            "properties": {p.name: {"type": p.type.label(), "writable": p.writable} for p in i.properties},
            "methods": {m.name: {"parameters": [[p.name, p.type.label()] for p in m.parameters],
                                 "returns": m.returns.label() if m.returns else None} for m in i.methods},
            "configuration": {c.name: c.key for c in i.config}})
