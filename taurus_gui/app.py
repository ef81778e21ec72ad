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
    from .session_window import SessionGui
    from .widgets import quiet_tooltips

    os.environ["BLISSTANGO_SESSION"] = session
    if synoptic:
        os.environ["BLISSTANGO_SYNOPTIC"] = str(Path(synoptic).resolve())
    gui = SessionGui(None, confname=str(CONF_PATH))
    for name in gui.getPanelNames():
        quiet_tooltips(gui.getPanel(name))
    if "Manual" in gui.getPanelNames():
        gui.removePanel("Manual")      # Taurus's web manual: nothing of this beamline's
    gui.jorgsBar.hide()                # Taurus's logos
    gui.setWindowTitle(f"blisstango — session {session} — {os.environ.get('TANGO_HOST', '')}")
    if not gui.getQSettings().value("MainWindow/State"):
        control_room_layout(gui)       # first start; afterwards the user's own layout
    return gui


def control_room_layout(gui) -> None:
    """The synoptic above, the other panels in tabs below it (Motors in front): the
    beamline and its controls in one window."""
    from taurus.external.qt import Qt

    names = gui.getPanelNames()
    panels = [gui.getPanel(n) for n in names]
    below = [gui.getPanel(n) for n in names if n != "Synoptic"]
    if "Synoptic" not in names or not below:
        return
    synoptic = gui.getPanel("Synoptic")
    for panel in panels:
        gui.removeDockWidget(panel)
    gui.addDockWidget(Qt.Qt.TopDockWidgetArea, synoptic)
    gui.addDockWidget(Qt.Qt.BottomDockWidgetArea, below[0])
    for panel in below[1:]:
        gui.tabifyDockWidget(below[0], panel)
    for panel in panels:
        panel.show()
    below[0].raise_()
    gui.resizeDocks([synoptic, below[0]], [360, 480], Qt.Qt.Vertical)


def run_gui(session: str, synoptic: str | None = None, poll_period: float | None = None) -> int:
    from .session_view import session_view

    session_view(session)          # an unknown session fails here, in one line, before any window
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
