"""`taurus gui` configuration of a blisstango session.

    BLISSTANGO_SESSION=demo taurus gui $(blisstango gui --conf-path)

(`blisstango gui -s demo` loads this same file.) Environment: BLISSTANGO_SESSION (the
session; when unset, the GUI asks for it), BLISSTANGO_SYNOPTIC (a .jdw to show instead
of the session's own), TANGO_HOST (the beamline's BeaconDB). Imported outside a Qt
application (no GUI to build), it declares nothing.
"""

import os as _os


def _session() -> str:
    name = _os.environ.get("BLISSTANGO_SESSION", "")
    if name:
        return name
    from taurus.external.qt import Qt

    if Qt.QApplication.instance() is None:
        return ""
    name, ok = Qt.QInputDialog.getText(None, "blisstango", "Session to show (as Beacon names it):")
    return str(name).strip() if ok else ""


SESSION = _session()
GUI_NAME = f"blisstango-{SESSION}" if SESSION else "blisstango"
ORGANIZATION = "blisstango"
SINGLE_INSTANCE = False         # several GUIs of several sessions (or tests) side by side

if SESSION:
    from blisstango.taurus_gui.gui_config import panel_descriptions as _panel_descriptions
    from blisstango.taurus_gui.session_view import session_view as _session_view

    # Taurus collects every PanelDescription of this module by name: PANEL_00, PANEL_01...
    _i = _pd = None
    for _i, _pd in enumerate(_panel_descriptions(_session_view(SESSION), _os.environ.get("BLISSTANGO_SYNOPTIC"))):
        globals()[f"PANEL_{_i:02d}"] = _pd
    del _i, _pd   # the loop variable would be a second copy of the last panel
