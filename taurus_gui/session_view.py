"""What a session's GUI shows, found through the one session resolver (core.session):
the session's exported objects grouped by the panel that shows them, through
TANGO_HOST only. No Qt here: the GUI configuration, the plot window and the synoptic
generator all start from a SessionView.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: Tango class of a device -> the panel that shows it (the Tango classes are the
#: servers' interfaces: docs/scan_server.md, docs/lima.md, peer-interfaces)
PANEL_OF_CLASS = {
    "BlissAxis": "Motors",
    "ScanServer": "Scan",
    "LimaBridge": "Detector",
    "Mca": "MCA",
    "Loop": "Regulation",
    "Wago": "Wago",
    "WagoValve": "Wago",
    "WagoShutter": "Wago",
}
#: panels in the order a GUI shows them
PANELS = ("Synoptic", "Motors", "Scan", "Detector", "MCA", "Regulation", "Wago")


@dataclass
class GuiObject:
    """One exported object of the session."""

    name: str         # configuration name (the device alias)
    device: str       # Tango device, e.g. demo/axis/m0
    klass: str        # Tango class, e.g. BlissAxis
    config: dict = field(default_factory=dict, repr=False)

    @property
    def panel(self) -> str | None:
        return PANEL_OF_CLASS.get(self.klass)


@dataclass
class SessionView:
    """A session as its GUI sees it."""

    name: str
    objects: list[GuiObject]
    config_root: str = ""             # Beacon's ConfigRoot (readable here if on this host)
    session_config: dict = field(default_factory=dict, repr=False)

    def of_panel(self, panel: str) -> list[GuiObject]:
        return [o for o in self.objects if o.panel == panel]

    def devices(self, panel: str) -> list[str]:
        return [o.device for o in self.of_panel(panel)]

    @property
    def scan_device(self) -> str | None:
        found = self.devices("Scan")
        return found[0] if found else None

    def panel_of_device(self, device: str) -> str | None:
        device = device.lower()
        for o in self.objects:
            if o.device.lower() == device:
                return o.panel
        return None

    def panels(self) -> list[str]:
        """Panels that have something to show (the synoptic always has)."""
        return [p for p in PANELS if p == "Synoptic" or self.of_panel(p)]

    def synoptic_file(self) -> Path | None:
        """The session's own drawing: its `synoptic:` key, relative to the session's YAML
        file, when that file is readable from this host."""
        rel = self.session_config.get("synoptic")
        if not rel or not self.config_root:
            return None
        base = Path(self.config_root) / Path(self.session_config.get("__file__") or "").parent
        path = Path(rel) if os.path.isabs(rel) else base / rel
        return path if path.is_file() else None


_views: dict[str, SessionView] = {}


def session_view(name: str, fresh: bool = False) -> SessionView:
    """session_view_of(name), resolved once per process (the GUI's configuration and its
    command line both ask; `fresh` resolves again)."""
    if fresh or name not in _views:
        _views[name] = session_view_of(name)
    return _views[name]


def session_view_of(name: str) -> SessionView:
    """The session `name` as Beacon and the Tango database describe it (ConfigError when
    Beacon does not know it). Objects keep the session's order of config-objects where
    Beacon gives one; the session's ScanServer comes first among the others."""
    import tango

    from blisstango.core.session import resolve_session

    rs = resolve_session(name)
    objects: list[GuiObject] = []
    scan = rs.session_device
    if scan:
        objects.append(GuiObject(name, scan, rs.entry(name).klass or "ScanServer"))
    for obj in rs.objects:
        entry = rs.entry(obj)
        if not entry.exported:
            continue
        objects.append(GuiObject(obj, entry.device, entry.klass, entry.config))
    try:
        root = str(rs.beacon.read_attribute("ConfigRoot").value or "")
    except tango.DevFailed:
        root = ""
    try:
        session_config = rs.config(name)
    except Exception:  # noqa: BLE001 - a session without its own node: no drawing of its own
        session_config = {}
    return SessionView(name, objects, root, session_config)
