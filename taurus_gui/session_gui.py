"""`taurus gui` configuration of a blisstango session.

    BLISSTANGO_SESSION=demo taurus gui $(blisstango gui --conf-path)

(`blisstango gui -s demo` loads this same file.) Environment: BLISSTANGO_SESSION (the
session, required), BLISSTANGO_SYNOPTIC (a .jdw to show instead of the session's own),
TANGO_HOST (the beamline's BeaconDB).
"""

import os as _os

from blisstango.taurus_gui.gui_config import panel_descriptions as _panel_descriptions
from blisstango.taurus_gui.session_view import session_view as _session_view

SESSION = _os.environ.get("BLISSTANGO_SESSION", "")
if not SESSION:
    raise RuntimeError("set BLISSTANGO_SESSION to the session to show (e.g. BLISSTANGO_SESSION=demo)")

GUI_NAME = f"blisstango-{SESSION}"
ORGANIZATION = "blisstango"
SINGLE_INSTANCE = False         # several GUIs of several sessions (or tests) side by side
MANUAL_URI = "https://github.com/"

# Taurus collects every PanelDescription of this module by name: PANEL_00, PANEL_01, ...
for _i, _pd in enumerate(_panel_descriptions(_session_view(SESSION), _os.environ.get("BLISSTANGO_SYNOPTIC"))):
    globals()[f"PANEL_{_i:02d}"] = _pd
del _i, _pd   # the loop variable would be a second copy of the last panel
