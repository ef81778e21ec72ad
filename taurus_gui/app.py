"""`blisstango gui -s <session>`: the Taurus GUI of a session (the configuration
session_gui.py, which `taurus gui` also accepts), and `blisstango plot -s <session>`:
the live scan plot alone, in its own window (BLISS's Flint).

Both need TANGO_HOST only. Neither runs under gevent: Qt and Taurus use real threads.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: the `taurus gui` configuration module of a session
CONF_PATH = Path(__file__).with_name("session_gui.py")


def _application(name: str):
    from taurus.qt.qtgui.application import TaurusApplication

    return TaurusApplication([sys.argv[0]], cmd_line_parser=None, app_name=name, org_name="blisstango")


def set_poll_period(seconds: float | None) -> None:
    """Period at which Taurus polls attributes whose device pushes no change events
    (third-party devices); ours push events and are never polled."""
    if seconds:
        import taurus

        taurus.Factory("tango").changeDefaultPollingPeriod(int(seconds * 1000))


def build_gui(session: str, synoptic: str | None = None):
    """The TaurusGui of a session (the application must exist)."""
    from taurus.qt.qtgui.taurusgui import TaurusGui

    os.environ["BLISSTANGO_SESSION"] = session
    if synoptic:
        os.environ["BLISSTANGO_SYNOPTIC"] = str(Path(synoptic).resolve())
    gui = TaurusGui(None, confname=str(CONF_PATH))
    if "Manual" in gui.getPanelNames():
        gui.removePanel("Manual")      # Taurus's web manual: nothing of this beamline's
    gui.setWindowTitle(f"blisstango — session {session} — {os.environ.get('TANGO_HOST', '')}")
    first = next((p for p in ("Synoptic", "Motors") if p in gui.getPanelNames()), None)
    if first is not None:
        gui.getPanel(first).raise_()
    return gui


def run_gui(session: str, synoptic: str | None = None, poll_period: float | None = None) -> int:
    app = _application(f"blisstango-{session}")
    set_poll_period(poll_period)
    gui = build_gui(session, synoptic)
    gui.resize(1400, 820)
    gui.show()
    return app.exec_()


class PlotWindow:
    """The standalone live plot: a ScanPanel on the session's ScanServer, in a window."""

    def __init__(self, session: str) -> None:
        from taurus.external.qt import Qt

        from .scan_panel import ScanPanel
        from .session_view import session_view

        view = session_view(session)
        if view.scan_device is None:
            raise RuntimeError(f"session {session}: no ScanServer device exports it (is `blisstango up` running?)")
        self.panel = ScanPanel()
        self.panel.setModel(view.scan_device)
        self.window = Qt.QMainWindow()
        self.window.setCentralWidget(self.panel)
        self.window.setWindowTitle(f"blisstango plot — session {session}")
        self.window.resize(1000, 640)


def run_plot(session: str) -> int:
    app = _application(f"blisstango-plot-{session}")
    window = PlotWindow(session)
    window.window.show()
    print(f"blisstango plot: session {session}, following {window.panel.getModel()}", flush=True)
    return app.exec_()
