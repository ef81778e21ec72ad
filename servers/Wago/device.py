"""The Wago Tango device: one per Wago object, `<domain>/wago/<name>`.

BLISS's command set (DevGetKeys, DevKey2Name, DevName2Key, DevLog2Hard, DevHard2Log,
DevReadPhys, DevReadNoCachePhys, DevReadDigi, DevReadNoCacheDigi, DevWritePhys,
DevWriteDigi, TurnOn, TurnOff) and one attribute per logical name: DevDouble for analog
channels, DevShort for digital ones, a spectrum for a name with several channels,
writable for outputs, with the unit and format of the YAML or the module.

The device polls the coupler every polling_time (a thread of its own) and pushes a change
event for every value that changed. A synchronous server: each request is served in its
omniORB thread, a Modbus exchange blocking that thread only (no hand-over to a gevent
hub: half the time of a cached read). State: ON while the coupler answers as configured;
FAULT, Status saying which address and what failed, while it does not (or while its
modules differ from the configuration); back to ON by itself when it answers again. OFF
after TurnOff.
"""

from __future__ import annotations

import logging
import threading

import tango
from tango import AttrWriteType, DevState, GreenMode
from tango.server import Device, command, device_property

from blisstango.core.comm.modbus import ModbusLinkError, split_url
from blisstango.core.config.root import process_object
from blisstango.core.wago import WagoController, WagoModuleMismatch, WagoValueError
from blisstango.core.wago.errors import WagoError

from ..config_object import object_name
from ..errors import as_devfailed, devfailed, fail, init_failed
from ..request_thread import request_hook

log = logging.getLogger(__name__)

#: errors that say the coupler cannot be used (the device goes to FAULT), not a bad request
LINK_ERRORS = (ModbusLinkError, WagoModuleMismatch, OSError)


class Wago(Device):
    """A Wago coupler of the YAML configuration."""

    green_mode = GreenMode.Synchronous
    always_executed_hook = request_hook
    init_error_reason = "WagoInitError"

    ObjectName = device_property(dtype=str, default_value="", doc="configuration object name (default: alias)")
    beacon_name = device_property(dtype=str, default_value="", doc="BLISS's name for ObjectName")
    iphost = device_property(dtype=str, default_value="",
                             doc="host[:port] of the coupler (default: the YAML's modbustcp url)")
    TCPTimeout = device_property(dtype=int, default_value=0,
                                 doc="Modbus reply timeout in ms (default: the YAML's modbustcp timeout, 1000)")
    polling_time = device_property(dtype=int, default_value=0,
                                   doc="ms between polls for change events (default: the YAML's, 2000)")

    # ---- life cycle ---------------------------------------------------------------------
    def _object_name(self) -> str:
        return object_name(self, self.ObjectName, self.beacon_name)

    def init_device(self) -> None:
        super().init_device()
        self.init_error = ""
        self.wago: WagoController | None = None
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()
        self._state_lock = threading.Lock()
        self._off = False
        self._last: dict[str, object] = {}
        try:
            self.wago = process_object(self._object_name(), WagoController, "WagoController (plugin wago)")
            self._apply_properties()
            self._make_attributes()
        except Exception as exc:  # the device stays up and says why it cannot work
            init_failed(self, f"{self._object_name()}: cannot build the Wago: {exc}", exc)
            return
        for name in ("State", "Status"):
            self.set_change_event(name, True, False)
        self._set(DevState.INIT, f"{self.wago.name}: connecting to {self.wago.link.address}")
        self._poller = threading.Thread(target=self._poll_loop, name=f"poll {self.wago.name}", daemon=True)
        self._poller.start()

    def delete_device(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(5)
        if self.wago is not None:
            self.wago.close()

    def _apply_properties(self) -> None:
        """BLISS's device properties, when set, override the YAML."""
        wago = self.wago
        if self.iphost or self.TCPTimeout > 0:
            host, port = split_url(self.iphost) if self.iphost else (None, None)
            wago.link.configure(host, port, self.TCPTimeout / 1000.0 if self.TCPTimeout > 0 else None)
            wago.link.name = f"{wago.name} ({wago.link.address})"
        if self.polling_time > 0:
            wago.polling_time = self.polling_time / 1000.0

    def _make_attributes(self) -> None:
        for name in self.wago.mapping.names:
            info = self.wago.mapping.name_info(name, self.wago.units)
            if name.lower() in ("state", "status"):
                log.warning("%s: logical name %r is a Tango attribute of every device: no attribute for it",
                            self.wago.name, name)
                continue
            dtype = tango.DevShort if info.digital else tango.DevDouble
            access = AttrWriteType.READ_WRITE if info.writable else AttrWriteType.READ
            attr = (tango.SpectrumAttr(name, dtype, access, info.size) if info.size > 1
                    else tango.Attr(name, dtype, access))
            props = tango.UserDefaultAttrProp()
            props.set_unit(info.unit)
            props.set_format(info.format)
            props.set_description(info.description)
            props.set_label(name)
            attr.set_default_properties(props)
            self.add_attribute(attr, r_meth=self._read_name, w_meth=self._write_name if info.writable else None)
            self.set_change_event(name, True, False)

    # ---- state --------------------------------------------------------------------------
    def _set(self, state: DevState, status: str) -> None:
        with self._state_lock:  # the poller and request threads
            changed = state != self.get_state() or status != self.get_status()
            self.set_state(state)
            self.set_status(status)
        if changed:
            for name, value in (("State", state), ("Status", status)):
                try:
                    self.push_change_event(name, value)
                except tango.DevFailed:
                    pass

    def _healthy(self) -> None:
        ident = self.wago.identity
        coupler = f"750-{ident.order}" if ident else "coupler"
        self._set(DevState.ON, f"{self.wago.name}: {coupler} at {self.wago.link.address}, "
                               f"{len(self.wago.mapping.slots)} modules as configured; "
                               f"polled every {self.wago.polling_time:g} s")

    def _broken(self, exc: BaseException) -> None:
        self._set(DevState.FAULT, str(exc))

    def _guard(self, fn, *args):
        """Run a coupler request: a link or identity error puts the device in FAULT (and
        reaches the client), a success puts it back ON."""
        if self._off:
            fail("WagoOff", f"{self.wago.name} is off (TurnOff): TurnOn to use it", "Wago")
        try:
            value = fn(*args)
        except LINK_ERRORS as exc:
            self._broken(exc)
            raise
        if self.get_state() != DevState.ON:
            self._healthy()
        return value

    # ---- polling --------------------------------------------------------------------------
    def _poll_loop(self) -> None:
        while True:
            if not self._off:
                self._poll_once()
            if self._stop.wait(self.wago.polling_time):
                return

    def _poll_once(self) -> None:
        try:
            values = self._guard(self.wago.read_many, self.wago.mapping.names)
        except (WagoError, *LINK_ERRORS):
            return  # FAULT set by _guard; the next poll tries again
        except Exception:  # noqa: BLE001 - a bug must not stop the polling
            log.exception("%s: polling failed", self.wago.name)
            return
        for name, vals in values.items():
            value = vals if len(vals) > 1 else vals[0]
            if self._last.get(name) != value:
                self._last[name] = value
                try:
                    self.push_change_event(name, value)
                except tango.DevFailed:
                    pass  # a name without attribute (State, Status)

    # ---- attributes -------------------------------------------------------------------------
    def read_attr_hardware(self, attr_list) -> None:
        """Before the attributes of one read request: read the coupler once, uncached (as
        BLISS's server reads its attributes), for every logical name asked."""
        self._snapshot: dict[str, list] = {}
        self._snapshot_error: BaseException | None = None
        if self.wago is None or self.init_error:
            return
        attrs = self.get_device_attr()
        names = [n for n in (attrs.get_attr_by_ind(i).get_name() for i in attr_list) if n in self.wago.mapping.keys]
        if names:
            try:
                self._snapshot = self._guard(self.wago.read_many, names, False)
            except Exception as exc:  # noqa: BLE001 - each attribute read reports it
                self._snapshot_error = exc

    def _read_name(self, attr) -> None:
        name = attr.get_name()
        with as_devfailed(f"Wago.read {name}"):
            if self.init_error:
                fail(self.init_error_reason, self.init_error, "Wago")
            vals = getattr(self, "_snapshot", {}).get(name)
            if vals is None:
                error = getattr(self, "_snapshot_error", None)
                if error is not None:
                    raise error
                vals = self._guard(self.wago.read, name, False)
        attr.set_value(vals if len(vals) > 1 else vals[0])

    def _write_name(self, attr) -> None:
        name = attr.get_name()
        value = attr.get_write_value()
        values = list(value) if hasattr(value, "__len__") else [value]
        with as_devfailed(f"Wago.write {name}"):
            self._guard(self.wago.write, name, *values)

    # ---- BLISS's commands ---------------------------------------------------------------------
    @command(dtype_out=(tango.DevShort,), doc_out="the logical keys")
    @devfailed
    def DevGetKeys(self) -> list[int]:
        return self.wago.keys()

    @command(dtype_in=tango.DevShort, doc_in="logical key", dtype_out=str, doc_out="logical name")
    @devfailed
    def DevKey2Name(self, key: int) -> str:
        return self.wago.mapping.name_of(int(key))

    @command(dtype_in=str, doc_in="logical name", dtype_out=tango.DevShort, doc_out="logical key")
    @devfailed
    def DevName2Key(self, name: str) -> int:
        return self.wago.mapping.key_of(name)

    @command(dtype_in=(tango.DevShort,), doc_in="[logical key, logical channel]", dtype_out=(tango.DevShort,),
             doc_out="[offset, area ('I'|'O')<<8|('B'|'W'), module number, module slot from 0, module channel]")
    @devfailed
    def DevLog2Hard(self, argin) -> list[int]:
        key, channel = _pair(argin, "DevLog2Hard", "[logical key, logical channel]")
        return list(self.wago.mapping.log2hard(key, channel))

    @command(dtype_in=(tango.DevShort,), doc_in="[area ('I'|'O')<<8|('B'|'W'), offset]",
             dtype_out=(tango.DevShort,), doc_out="[logical key, logical channel]")
    @devfailed
    def DevHard2Log(self, argin) -> list[int]:
        area, offset = _pair(argin, "DevHard2Log", "[area code, offset]")
        return list(self.wago.mapping.hard2log(area, offset))

    @command(dtype_in=tango.DevShort, doc_in="logical key", dtype_out=(tango.DevFloat,),
             doc_out="physical values (cached for cache_period)")
    @devfailed
    def DevReadPhys(self, key: int) -> list[float]:
        return self._guard(self.wago.read_phys, key, True)

    @command(dtype_in=tango.DevShort, doc_in="logical key", dtype_out=(tango.DevFloat,),
             doc_out="physical values, read now")
    @devfailed
    def DevReadNoCachePhys(self, key: int) -> list[float]:
        return self._guard(self.wago.read_phys, key, False)

    @command(dtype_in=tango.DevShort, doc_in="logical key", dtype_out=(tango.DevShort,),
             doc_out="raw words or bits (cached for cache_period)")
    @devfailed
    def DevReadDigi(self, key: int) -> list[int]:
        return self._guard(self.wago.read_digi, key, True)

    @command(dtype_in=tango.DevShort, doc_in="logical key", dtype_out=(tango.DevShort,),
             doc_out="raw words or bits, read now")
    @devfailed
    def DevReadNoCacheDigi(self, key: int) -> list[int]:
        return self._guard(self.wago.read_digi, key, False)

    @command(dtype_in=(tango.DevFloat,), doc_in="[logical key, channel, value, channel, value, ...]")
    @devfailed
    def DevWritePhys(self, argin) -> None:
        self._guard(self.wago.write_phys, list(argin))

    @command(dtype_in=(tango.DevShort,), doc_in="[logical key, channel, value, channel, value, ...]")
    @devfailed
    def DevWriteDigi(self, argin) -> None:
        self._guard(self.wago.write_phys, list(argin))

    @command(doc_in="connect and poll again (after TurnOff)")
    @devfailed
    def TurnOn(self) -> None:
        self._off = False
        try:
            self._guard(self.wago.connect)
        except (WagoError, *LINK_ERRORS):
            pass  # FAULT says why; polling goes on

    @command(doc_in="stop polling and close the connection: state OFF")
    @devfailed
    def TurnOff(self) -> None:
        self._off = True
        self.wago.close()
        self._set(DevState.OFF, f"{self.wago.name}: off (TurnOff); TurnOn to use it again")


def _pair(argin, command_name: str, what: str) -> tuple[int, int]:
    values = [int(v) for v in argin]
    if len(values) != 2:
        raise WagoValueError(f"{command_name} takes {what}: {len(values)} number(s) given {values}")
    return values[0], values[1]
