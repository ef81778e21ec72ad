"""The panels of a session's GUI as Taurus PanelDescriptions (what `taurus gui` reads).

Each panel is a widget class of this package given its models (Tango devices or
attributes of the session). Panels that show devices read Taurus's "SelectedInstrument"
shared data (a click in the synoptic) and come to the front when it names one of theirs.
"""

from __future__ import annotations

import os
from pathlib import Path

from taurus.qt.qtgui.taurusgui.utils import PanelDescription

from .session_view import SessionView

PKG = "blisstango.taurus_gui"
#: panel -> its widget class
PANEL_CLASSES = {
    "Synoptic": f"{PKG}.synoptic_panel:SynopticPanel",
    "Motors": f"{PKG}.motors_panel:MotorsPanel",
    "Scan": f"{PKG}.scan_panel:ScanPanel",
    "Detector": f"{PKG}.detector_panel:DetectorPanel",
    "MCA": f"{PKG}.mca_panel:McaPanel",
    "Regulation": f"{PKG}.regulation_panel:RegulationPanel",
    "Wago": f"{PKG}.wago_panel:WagoPanel",
}
SELECTED = "SelectedInstrument"


def synoptic_path(view: SessionView, given: str | None = None) -> str:
    """The drawing to show: `given`, else the session's own (its `synoptic:` key), else
    one generated from the session's objects into the user's cache folder."""
    if given:
        return str(Path(given).resolve())
    own = view.synoptic_file()
    if own is not None:
        return str(own)
    from .synoptic_gen import synoptic_text

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "blisstango" / "synoptics"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{view.name}.jdw"
    text = synoptic_text(view)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return str(path)


def panel_model(view: SessionView, panel: str, synoptic: str) -> object:
    if panel == "Synoptic":
        return synoptic
    if panel == "Motors":
        return [f"{d}/Position" for d in view.devices("Motors")]
    if panel == "Scan":
        return view.scan_device
    return view.devices(panel)


def panel_descriptions(view: SessionView, synoptic: str | None = None) -> list[PanelDescription]:
    """PanelDescriptions of every panel with something to show, in the GUI's order."""
    synoptic = synoptic_path(view, synoptic)
    out = []
    for panel in view.panels():
        classname = PANEL_CLASSES.get(panel)
        if classname is None:
            continue
        if panel == "Synoptic":
            shared = {"sharedDataWrite": {SELECTED: "graphicItemSelected"}}
        else:
            shared = {"sharedDataRead": {SELECTED: "selectInstrument"}}
        out.append(PanelDescription(panel, classname=classname, model=panel_model(view, panel, synoptic),
                                    floating=False, **shared))
    return out
