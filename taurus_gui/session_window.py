"""The main window of `blisstango gui`: Taurus's TaurusGui, shown without waiting.

TaurusGui shows Taurus's splash screen while it builds the panels and, when the window
is shown, QSplashScreen.finish() blocks until the window is exposed (up to 1 s: the
whole second offscreen, measured 0.7 s of a 5.5 s start-up). Here the splash closes
at once when the window shows; the panels are built by then.
"""

from __future__ import annotations

from taurus.external.qt import Qt
from taurus.qt.qtgui.taurusgui import TaurusGui


class SessionGui(TaurusGui):
    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        splash = self.splashScreen()
        if splash is not None:
            splash.close()
        Qt.QMainWindow.showEvent(self, event)
