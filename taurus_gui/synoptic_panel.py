"""The Synoptic panel: a JDraw drawing of the beamline rendered by Taurus's
TaurusJDrawSynopticsView. Each item named by a Tango device shows the device's State
by colour; a click selects the device (Taurus's "SelectedInstrument" shared data),
which raises the panel that shows it.
"""

from __future__ import annotations

import os

from taurus.external.qt import Qt
from taurus.qt.qtgui.graphic import TaurusJDrawSynopticsView


class SynopticPanel(Qt.QWidget):
    """setModel(path of a .jdw). `graphicItemSelected(device)` when an item is clicked."""

    graphicItemSelected = Qt.pyqtSignal("QString")

    def __init__(self, parent: Qt.QWidget | None = None) -> None:
        super().__init__(parent)
        # panelClass "noPanel": a double click opens no Taurus device panel of its own
        self.view = TaurusJDrawSynopticsView(self, resizable=True, panelClass="noPanel")
        self.view.graphicItemSelected.connect(self._on_selected)
        self.path = ""
        self.error = ""
        self.caption = Qt.QLabel(self)
        layout = Qt.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.caption)

    def setModel(self, path: str) -> None:  # noqa: N802 - Taurus' name
        """Parse and show a drawing. A drawing that does not parse is reported in the panel
        (Taurus only logs it)."""
        self.path = str(path or "")
        self.error = ""
        if not self.path:
            return
        if not os.path.isfile(self.path):
            self.error = f"synoptic {self.path}: no such file"
        else:
            self.view.setModel(self.path)
            if self.view.scene() is None or not self.view.get_item_list():
                self.error = f"synoptic {self.path}: JDraw file could not be parsed (see the log)"
        self.caption.setText(self.error)
        self.caption.setStyleSheet("color: #b00020;")
        self.caption.setVisible(bool(self.error))
        self.setToolTip(self.path)

    def getModel(self) -> str:  # noqa: N802
        return self.path

    def items(self) -> list[str]:
        """Names (Tango devices) of the drawing's items."""
        return sorted(set(self.view.get_item_list())) if self.view.scene() is not None else []

    def item_colours(self) -> dict[str, str]:
        """Current fill colour of each named item (its device State's colour)."""
        return self.view.get_item_colors()

    def _on_selected(self, name: str) -> None:
        if name:
            self.graphicItemSelected.emit(name)

    def click(self, name: str) -> None:
        """Select an item as a left click on it does (what tests and scripts use)."""
        scene = self.view.scene()
        if scene is None:
            return
        if scene.selectGraphicItem(name):
            scene.graphicItemSelected.emit(name)
