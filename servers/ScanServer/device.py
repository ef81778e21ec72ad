"""ScanServer device `<domain>/scan/<session>`: scans as commands, live data as change events.

Interface (docs/scan_server.md): one DevVarStringArray command per standard scan
returning the scan number at once; RunScan(JSON chain); chain building
(ChainCreate/ChainAddMaster/ChainAddSlave/ChainAddPreset/ChainPrepare/ChainStart);
StopScan, AbortScan, WaitScan. Attributes ScanNumber, ScanTitle, Progress, ScanInfo,
LastPoint, Channels, RecordData, SCAN_SAVING, ActiveMeasurementGroup and one spectrum per
scalar channel of the current scan, all pushing change events.
"""

from __future__ import annotations

import json
import logging
import re
import time

import gevent
import numpy as np
import tango
from tango import AttrWriteType, DevState, GreenMode
from tango.server import Device, attribute, command, device_property

from blisstango.core.comm.backoff import Backoff, retry
from blisstango.core.data.interrupted import close_interrupted
from blisstango.core.procedures.runner import runner_for
from blisstango.core.scanning import Scan, ScanContext
from blisstango.core.scanning.arguments import (
    STANDARD_SCANS,
    ScanArgumentError,
    build_standard_scan,
)
from blisstango.core.scanning.chain_json import build_scan
from blisstango.core.scanning.live import LiveFeed, Update
from blisstango.core.scanning.session_objects import SessionObjects, load_session, run_setup

from ..errors import fail, throw
from ..pusher import ShownAndListened, call_under_monitor
from ..request_thread import no_hardware_read, request_hook
from ..serve import freeze_startup_objects
from .chain_build import PendingChain
from .runner import ScanRunner

log = logging.getLogger(__name__)
MAX_POINTS = 1 << 24
#: spectra longer than this are pushed at most once a second (RecordData stays at EventPeriod)
SPECTRUM_SLOW_ABOVE = 100_000
#: channel attributes kept once made: cppTango keeps ~0.6 kB for good at every
#: remove_attribute/add_attribute (measured: 8 of them made and removed 2500 times, RSS
#: +12.5 MB), and scans of other kinds in turn change the channel set at every scan;
#: beyond this many, the least recently used go
MAX_CHANNEL_ATTRIBUTES = 256
_EVENT_ATTRS = ("ScanNumber", "ScanTitle", "Progress", "ScanInfo", "LastPoint", "Channels", "RecordData",
                "SCAN_SAVING", "ActiveMeasurementGroup", "ScanKey")
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")


def attribute_names(channels: list[str]) -> dict[str, str]:
    """Tango attribute name per channel: the short name (after the last ':') when unique,
    else the full name with ':' -> '_'."""
    short = {c: _NOT_NAME.sub("_", c.rsplit(":", 1)[-1]) for c in channels}
    counts: dict[str, int] = {}
    for s in short.values():
        counts[s.lower()] = counts.get(s.lower(), 0) + 1
    out = {}
    for c, s in short.items():
        name = s if counts[s.lower()] == 1 else _NOT_NAME.sub("_", c)
        if not name[0].isalpha():
            name = "ch_" + name
        out[c] = name
    return out


def scan_command(scan_type: str):
    """A DevVarStringArray -> DevLong command running a standard scan."""
    usage = STANDARD_SCANS[scan_type][2]

    def cmd(self, args: list[str]) -> int:
        return self._start(lambda: build_standard_scan(scan_type, list(args), self._session_or_fail(),
                                                       self.context), scan_type)

    cmd.__name__ = scan_type
    cmd.__doc__ = f"{scan_type} {usage}; returns the scan number at once"
    return command(dtype_in=(str,), dtype_out=int, doc_in=usage, doc_out="scan number")(cmd)


class ScanServer(ShownAndListened, Device):
    """Runs BY_DEVICE: pushes (only the listened ones: some 20 per scan, most unheard),
    stored State/Status and channel attributes made or removed go through servers.pusher,
    under the monitor a client's read holds (docs/crashes.md 4)."""

    green_mode = GreenMode.Gevent
    always_executed_hook = request_hook     # in the request thread: no hub handoff
    read_attr_hardware = no_hardware_read

    ObjectName = device_property(dtype=str, default_value="", doc="session served by this device")
    EventPeriod = device_property(dtype=float, default_value=0.1, doc="s between live data events")

    # ------------------------------------------------------------------ life
    def init_device(self) -> None:
        super().init_device()
        self.session_name = self.ObjectName or self.get_name().rsplit("/", 1)[-1]
        self.session: SessionObjects | None = None
        self.context: ScanContext | None = None
        self.runner = ScanRunner(self.session_name, self._on_start, self._on_end)
        #: the session's procedures (served by its Procedures device, run in this namespace)
        self.procedures = runner_for(self.session_name)
        self.pending = PendingChain()
        self.scan_number = 0
        self.scan_title = ""
        self.scan_key = ""
        self.progress = 0.0
        self.last_point = "{}"
        self.record = b"{}"
        self.channel_names: list[str] = []
        self.channel_attrs: dict[str, str] = {}
        self.channel_data: dict[str, np.ndarray] = {}
        self._made_attrs: dict[str, int] = {}   # channel attribute -> last scan using it
        self.problem = ""
        self._feed: gevent.Greenlet | None = None
        self._spectra_pushed = 0.0
        for name in _EVENT_ATTRS:
            self.set_change_event(name, True, False)
        self.set_change_event("State", True, False)
        self.set_change_event("Status", True, False)
        self._set_state(DevState.INIT, f"loading session {self.session_name} from Beacon")
        self._boot_task = gevent.spawn(self._boot)

    def delete_device(self) -> None:
        if getattr(self, "_boot_task", None) is not None:
            self._boot_task.kill(block=False)
        if getattr(self, "procedures", None) is not None:
            self.procedures.detach()   # a run is aborted; the next boot attaches the new session
        if getattr(self, "runner", None) is not None and self.runner.running:
            self.runner.abort()
        if getattr(self, "session", None) is not None and self.session.resolved is not None:
            self.session.resolved.close()  # event subscriptions (Init builds everything again)
        super().delete_device()

    def _boot(self) -> None:
        def load() -> SessionObjects:
            session = load_session(self.session_name, green_mode=tango.GreenMode.Gevent)
            self.context = ScanContext.from_beacon(self.session_name)
            self._measurement_groups(session)
            session.namespace.update(SCAN_SAVING=self.context.scan_saving,
                                     ACTIVE_MG=self.context.measurement_groups)
            self.procedures.attach(session, self.context, self._launch)  # ascan, cen... for the setup
            run_setup(session)
            self._measurement_groups(session)
            return session

        def not_yet(exc: BaseException) -> None:  # reported in Status, tried again
            msg = f"session {self.session_name} could not be loaded (retrying): {type(exc).__name__}: {exc}"
            log.warning(msg)
            self._set_state(DevState.FAULT, msg)

        session = self.session = retry(load, Exception, backoff=Backoff(first=0.5, longest=5.0), on_retry=not_yet)
        freeze_startup_objects()  # the session lives as long as the server
        self._end_interrupted_scans()
        self.procedures.setup_done()
        if session.setup_error:
            self._set_state(DevState.ALARM, session.setup_error)
        else:
            self._set_state(DevState.ON, f"session {self.session_name} ready: axes "
                                         f"{', '.join(sorted(session.axes))}; counters "
                                         f"{', '.join(sorted(session.counters))}")
        self.push_change_event("SCAN_SAVING", self._scan_saving_json())
        self.push_change_event("ActiveMeasurementGroup", self._active_mg())

    def _end_interrupted_scans(self) -> None:
        """Scans this server was running when its process died (kill -9, a crash) end now
        as FAILURE saying so (core.data.interrupted): followers and the file writer finish
        them with the points published; a RecordData follower gets their end."""
        if self.context is None or self.context.data_redis is None:
            return
        try:
            closed = close_interrupted(self.context.data_redis, self.session_name,
                                       tango.Util.instance().get_ds_name())
        except Exception as exc:  # noqa: BLE001 - the server starts anyway; the log says why
            log.error("session %s: closing the scans of a dead process failed: %s", self.session_name, exc)
            return
        for info in closed:
            self._push_record({"event": "end", "scan": info.get("scan_nb") or 0, "key": info["key"],
                               "npoints": info["npoints_done"], "data": {}, "end_reason": "FAILURE",
                               "error": info["error"]})

    def _measurement_groups(self, session: SessionObjects) -> None:
        mgs = self.context.measurement_groups
        for group in session.groups.values():
            if group.name not in mgs.names:
                mgs.add(group)
        if not mgs.names and session.counters:
            default = mgs.create(f"{self.session_name}_counters", list(session.own_counters))
            session.groups[default.name] = default

    def _session_or_fail(self) -> SessionObjects:
        if self.session is None:
            fail("ScanServer_NotReady", self.dev_status(), "ScanServer")
        return self.session

    def _set_state(self, state: DevState, status: str) -> None:
        self.show_state(state, status)
        self.push_change_event("State", state)
        self.push_change_event("Status", status)

    # ------------------------------------------------------------------ scans
    def _start(self, build, what: str) -> int:
        self._session_or_fail()
        try:
            run = self.procedures.run if self.procedures.running else None
            if run is not None:
                raise ScanArgumentError(f"{what}: procedure {run.call} is running (started by {run.started_by}) "
                                        "and owns the session's scans: stop it or wait for its end")
            self.runner.reserve()
            try:
                return self.runner.start(build())
            finally:
                self.runner.release()
        except ScanArgumentError as exc:
            throw(exc, f"ScanServer.{what}")
        except Exception as exc:  # noqa: BLE001 - every refusal reaches the client as DevFailed
            log.exception("%s refused", what)
            throw(exc, f"ScanServer.{what}", desc=f"{what}: {exc}")

    def _launch(self, scan: Scan) -> None:
        """A scan of the session's own code (a procedure, a setup file): the same slot,
        checks, locks and events as a scan command; the caller follows it."""
        self.runner.reserve()
        try:
            self.runner.start(scan)
        finally:
            self.runner.release()

    def _on_start(self, scan: Scan) -> None:
        feed = LiveFeed(scan, self.EventPeriod)
        names = attribute_names(list(feed.channels))
        self.scan_number = int(scan.scan_number or 0)
        self.scan_title = str(scan.scan_info.get("title", scan.name))
        self.scan_key = scan.key or ""
        self.progress = 0.0
        self.last_point = "{}"
        self.channel_names = [c.name for c in scan.chain.channels]
        self._channel_attributes(feed, names)
        self._set_state(DevState.RUNNING, f"scan {self.scan_number} running: {self.scan_title}")
        start = {"event": "start", "scan": self.scan_number, "key": self.scan_key, "title": self.scan_title,
                 "npoints": feed.expected, "channels": list(feed.channels), "attributes": names}
        self._push_record(start)
        for name, value in (("ScanNumber", self.scan_number), ("ScanTitle", self.scan_title),
                            ("ScanKey", self.scan_key), ("Progress", 0.0), ("LastPoint", "{}"),
                            ("Channels", self.channel_names)):
            self.push_change_event(name, value)
        self.push_made("ScanInfo", self._scan_info)
        self._feed = gevent.spawn(feed.run, self._push_update)

    def _channel_attributes(self, feed: LiveFeed, names: dict[str, str]) -> None:
        """One spectrum attribute per channel of this scan. Attributes of earlier scans'
        channels stay (read empty) rather than being removed and made again at the next
        scan of that kind (MAX_CHANNEL_ATTRIBUTES says why)."""
        wanted = set(names.values())
        left = set(self.channel_attrs.values()) - wanted
        self.channel_attrs = dict(names)
        self.channel_data = {a: np.empty(0) for a in wanted}
        new = {name: (channel, feed.channels[channel].unit or "") for channel, name in names.items()
               if name not in self._made_attrs}
        for name in names.values():
            self._made_attrs[name] = self.scan_number
        forget = self._least_used(len(self._made_attrs) - MAX_CHANNEL_ATTRIBUTES, wanted)
        if new or forget:  # the hub must not take the monitor itself (a read may hold it)
            call_under_monitor(self, lambda: self._change_channel_attributes(new, forget))
        for name in wanted | (left & set(self._made_attrs)):
            self.push_change_event(name, np.empty(0))

    def _make_channel_attribute(self, name: str, channel: str, unit: str) -> None:
        attr = tango.SpectrumAttr(name, tango.DevDouble, AttrWriteType.READ, MAX_POINTS)
        props = tango.UserDefaultAttrProp()
        props.set_unit(unit)
        props.set_label(channel)
        props.set_description(f"points of channel {channel} in the current (or last) scan")
        attr.set_default_properties(props)
        self.add_attribute(attr, r_meth=self._read_channel)
        self.set_change_event(name, True, False)

    def _least_used(self, count: int, current: set[str]) -> list[str]:
        """The `count` least recently used channel attributes not in `current`, forgotten."""
        names = sorted((n for n in self._made_attrs if n not in current), key=self._made_attrs.get)[:max(0, count)]
        for name in names:
            del self._made_attrs[name]
        return names

    def _change_channel_attributes(self, new: dict[str, tuple[str, str]], forget: list[str]) -> None:
        """Under the monitor: make the new channel attributes, remove the forgotten ones."""
        for name, (channel, unit) in new.items():
            self._make_channel_attribute(name, channel, unit)
        for name in forget:
            try:
                self.remove_attribute(name)
            except tango.DevFailed as exc:
                log.warning("removing attribute %s: %s", name, exc.args[0].desc)

    def _read_channel(self, attr) -> None:
        attr.set_value(self.channel_data.get(attr.get_name(), np.empty(0)))

    def _push_update(self, up: Update) -> None:
        msg = {"event": "end" if up.final else "data", "scan": self.scan_number, "key": self.scan_key,
               "npoints": up.npoints,
               "data": {c: {"first": first, "values": values} for c, (first, values) in up.new.items()}}
        if up.final:
            scan = self.runner.scan
            msg.update(end_reason=scan.end_reason.value if scan.end_reason else None,
                       error=f"{type(scan.error).__name__}: {scan.error}" if scan.error else None)
        now = time.monotonic()
        big = max((len(d) for d in up.data.values()), default=0) > SPECTRUM_SLOW_ABOVE
        if up.final or not big or now - self._spectra_pushed >= 1.0:
            self._spectra_pushed = now  # long scans: whole spectra at most once a second
            for channel, data in up.data.items():
                name = self.channel_attrs.get(channel)
                if name is not None:
                    self.channel_data[name] = data
                    self.push_change_event(name, data)
        self.progress = up.progress
        self.push_change_event("Progress", self.progress)
        if up.last_point:
            self.last_point = json.dumps(up.last_point)
            self.push_change_event("LastPoint", self.last_point)
        self._push_record(msg)  # last: a client that saw the end event has every other value

    def _push_record(self, msg: dict) -> None:
        self.record = json.dumps(msg).encode()
        self.push_change_event("RecordData", "json", self.record)

    def _on_end(self, scan: Scan) -> None:
        if self._feed is not None:
            self._feed.join()
        reason = scan.end_reason.value if scan.end_reason else "?"
        text = f"scan {scan.scan_number} ({self.scan_title}) ended: {reason}"
        if scan.error is not None:
            self._set_state(DevState.ALARM, f"{text}: {type(scan.error).__name__}: {scan.error}")
        else:
            self._set_state(DevState.ON, text)
        self.push_made("ScanInfo", self._scan_info)

    def _scan_info(self) -> str:
        scan = self.runner.scan
        if scan is None:
            return "{}"
        info = dict(scan.scan_info)
        info.update(key=scan.key, scan_nb=scan.scan_number, state=scan.state.value,
                    end_reason=scan.end_reason.value if scan.end_reason else None,
                    error=f"{type(scan.error).__name__}: {scan.error}" if scan.error else None,
                    attributes=self.channel_attrs, time=time.time())
        if scan.state.value == "DONE":
            info["statistics"] = scan.statistics
        return json.dumps(info, default=str)

    # ------------------------------------------------------------------ attributes
    @attribute(dtype=int, doc="number of the current (or last) scan")
    def ScanNumber(self) -> int:
        return self.scan_number

    @attribute(dtype=str, doc="title of the current (or last) scan")
    def ScanTitle(self) -> str:
        return self.scan_title

    @attribute(dtype=str, doc="data Redis key of the current (or last) scan")
    def ScanKey(self) -> str:
        return self.scan_key

    @attribute(dtype=float, unit="%", format="%.1f", min_value=0, max_value=100,
               doc="points done / points expected (0 for endless scans)")
    def Progress(self) -> float:
        return self.progress

    @attribute(dtype=str, doc="JSON scan info (title, npoints, chain, channels, state, end_reason, error)")
    def ScanInfo(self) -> str:
        return self._scan_info()

    @attribute(dtype=str, doc="JSON {channel: value} of the last complete point")
    def LastPoint(self) -> str:
        return self.last_point

    @attribute(dtype=(str,), max_dim_x=4096, doc="channel names of the current (or last) scan")
    def Channels(self) -> list[str]:
        return self.channel_names

    @attribute(dtype=tango.DevEncoded,
               doc='"json": {event: start|data|end, scan, key, npoints, data: {channel: {first, values}}}')
    def RecordData(self):
        return "json", self.record

    @attribute(dtype=(str,), max_dim_x=4096, doc="names of the session's axes")
    def Axes(self) -> list[str]:
        return sorted(self.session.axes) if self.session else []

    @attribute(dtype=(str,), max_dim_x=4096, doc="names of the session's counters and measurement groups")
    def Counters(self) -> list[str]:
        return sorted({**self.session.counters, **self.session.groups}) if self.session else []

    def _scan_saving_json(self) -> str:
        if self.context is None or self.context.scan_saving is None:
            return "{}"
        ss = self.context.scan_saving
        out = {k: getattr(ss, k) for k in ("base_path", "template", "data_filename", "writer")}
        out.update(ss.get())
        return json.dumps(out, default=str)

    @attribute(dtype=str, access=AttrWriteType.READ_WRITE,
               doc="JSON SCAN_SAVING: base_path, template, data_filename, writer (+ resolved filename); "
                   "write a JSON object with the keys to change")
    def SCAN_SAVING(self) -> str:
        return self._scan_saving_json()

    @SCAN_SAVING.write
    def SCAN_SAVING(self, value: str) -> None:
        self._write_setting("SCAN_SAVING", self._set_scan_saving, value, self._scan_saving_json)

    def _set_scan_saving(self, value: str) -> None:
        try:
            changes = json.loads(value)
            if not isinstance(changes, dict):
                raise ValueError("a JSON object is needed")
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
            raise ValueError(f"SCAN_SAVING: {value!r} is not a JSON object: {exc}") from None
        ss = self.context.scan_saving
        for key, v in changes.items():
            if key in ("filename", "root_path", "data_path"):
                continue  # resolved values, read back as given
            setattr(ss, key, v)

    def _write_setting(self, attr: str, apply, value: str, read) -> None:
        """A written setting: applied, or refused as ScanArgumentError (ValueError or
        KeyError from apply); then the value read back is pushed."""
        self._session_or_fail()
        try:
            apply(value)
        except (ValueError, KeyError) as exc:
            throw(ScanArgumentError(str(exc.args[0]) if isinstance(exc, KeyError) else str(exc)), attr)
        self.push_change_event(attr, read())

    def _active_mg(self) -> str:
        mgs = self.context.measurement_groups if self.context else None
        return mgs.active.name if mgs is not None and mgs.active is not None else ""

    @attribute(dtype=str, access=AttrWriteType.READ_WRITE, doc="measurement group used when a scan names no counter")
    def ActiveMeasurementGroup(self) -> str:
        return self._active_mg()

    @ActiveMeasurementGroup.write
    def ActiveMeasurementGroup(self, name: str) -> None:
        self._write_setting("ActiveMeasurementGroup", lambda n: self.context.measurement_groups.set_active(n),
                            name, self._active_mg)

    # ------------------------------------------------------------------ commands
    ct = scan_command("ct")
    loopscan = scan_command("loopscan")
    timescan = scan_command("timescan")
    ascan = scan_command("ascan")
    dscan = scan_command("dscan")
    a2scan = scan_command("a2scan")
    d2scan = scan_command("d2scan")
    anscan = scan_command("anscan")
    dnscan = scan_command("dnscan")
    amesh = scan_command("amesh")
    dmesh = scan_command("dmesh")
    lookupscan = scan_command("lookupscan")
    pointscan = scan_command("pointscan")
    cscan = scan_command("cscan")

    @command(dtype_in=str, dtype_out=int, doc_in="JSON chain description (docs/scan_chain_json.md)",
             doc_out="scan number")
    def RunScan(self, description: str) -> int:
        return self._start(lambda: build_scan(description, self._session_or_fail(), self.context, "RunScan"),
                           "RunScan")

    @command(dtype_in=str, doc_in='optional JSON {"title", "type", "save", "info"} (may be empty)')
    def ChainCreate(self, options: str) -> None:
        self._chain_call(self.pending.create, options)

    @command(dtype_in=str, dtype_out=str, doc_in='JSON master node with "id" and "parent" (null: top)',
             doc_out="id of the master")
    def ChainAddMaster(self, node: str) -> str:
        return self._chain_call(self.pending.add_master, node)

    @command(dtype_in=str, doc_in='JSON {"parent": id, "counters": [...], "count_time"?}')
    def ChainAddSlave(self, node: str) -> None:
        self._chain_call(self.pending.add_slave, node)

    @command(dtype_in=str, doc_in='JSON preset ({"type": sleep|move|return_to_start, ...} or "name")')
    def ChainAddPreset(self, preset: str) -> None:
        self._chain_call(self.pending.add_preset, preset)

    @command(dtype_out=str, doc_out="the JSON description, checked against the session")
    def ChainPrepare(self) -> str:
        desc = self._chain_call(self.pending.description)
        try:
            build_scan(desc, self._session_or_fail(), self.context, "ChainPrepare")
        except ScanArgumentError as exc:
            throw(exc, "ScanServer.ChainPrepare")
        return json.dumps(desc)

    @command(dtype_out=int, doc_out="scan number")
    def ChainStart(self) -> int:
        desc = self._chain_call(self.pending.description)
        return self._start(lambda: build_scan(desc, self._session_or_fail(), self.context, "ChainStart"),
                           "ChainStart")

    def _chain_call(self, fn, *args):
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 - every refusal reaches the client as DevFailed
            throw(exc, "ScanServer chain building")

    @command(doc_in="gentle stop: the current point is finished")
    def StopScan(self) -> None:
        self.runner.stop()

    @command(doc_in="stop everything now, motion included")
    def AbortScan(self) -> None:
        self.runner.abort()

    @command(dtype_in=float, doc_in="timeout in s (<= 0: no timeout)", dtype_out=bool,
             doc_out="true if no scan runs any more")
    def WaitScan(self, timeout: float) -> bool:
        self.runner.wait(timeout if timeout > 0 else None)
        if self._feed is not None and not self.runner.running:
            self._feed.join()
        return not self.runner.running

    @command(dtype_in=str, doc_in="any token: pushed back as a RecordData event {\"probe\": token}")
    def ProbeRecordData(self, token: str) -> None:
        """A new RecordData follower calls this until its own token comes back: then its
        subscription is live. cppTango drops events pushed while a new subscription's ZMQ
        connection is still being made (cppTango #524): a scan started right after
        subscribing would be missed whole."""
        self.push_change_event("RecordData", "json", json.dumps({"probe": token[:200]}).encode())
