"""The Scan panel: the live plot of the session's scans, started from any client.

Header: scan number and title, progress, the file, Stop and Abort (the ScanServer's
StopScan/AbortScan). Left: what is plotted — the x axis (scanned axis, time or point
number) and the counters (BLISS's plotselect; the choice is kept from scan to scan by
counter name). The previous scan stays on screen until the next one starts.
"""

from __future__ import annotations

from taurus.external.qt import Qt
from taurus.qt.qtgui.button import TaurusCommandButton
from taurus.qt.qtgui.display import TaurusLabel

from .live_plot import X_INDEX, LivePlot, short
from .scan_feed import ScanFeed, ScanView, channel_units
from .widgets import InstrumentPanel, TaurusProgressBar, state_led


class ScanPanel(Qt.QWidget, InstrumentPanel):
    """Follows a ScanServer device (setModel("demo/scan/demo"))."""

    def __init__(self, parent: Qt.QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = ""
        self.feed: ScanFeed | None = None
        self.view: ScanView | None = None
        self.shown_key = ""
        #: channels chosen by the user, by short name (kept across scans)
        self.chosen: list[str] | None = None
        self.chosen_x: str | None = None
        self._redraw_pending = False
        self._build()

    # ---- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.led = state_led("", self)
        self.led.setModel("")
        self.number = Qt.QLabel("no scan yet", self)
        font = self.number.font()
        font.setBold(True)
        font.setPointSize(font.pointSize() + 2)
        self.number.setFont(font)
        self.title = Qt.QLabel("", self)
        self.title.setTextInteractionFlags(Qt.Qt.TextSelectableByMouse)
        self.progress = TaurusProgressBar(self)
        self.progress.setMinimumWidth(160)
        self.stop_button = TaurusCommandButton(command="StopScan", text="Stop", parent=self)
        self.stop_button.setToolTip("finish the current point, then stop the scan")
        self.abort_button = TaurusCommandButton(command="AbortScan", text="Abort", parent=self)
        self.abort_button.setToolTip("stop everything now, motion included")
        self.abort_button.setStyleSheet("QPushButton { color: #b00020; font-weight: bold; }")
        self.file = Qt.QLabel("", self)
        self.file.setTextInteractionFlags(Qt.Qt.TextSelectableByMouse)
        self.status = TaurusLabel(self)
        self.status.setAlignment(Qt.Qt.AlignLeft | Qt.Qt.AlignVCenter)
        self.status.setBgRole("none")

        top = Qt.QHBoxLayout()
        top.addWidget(self.led)
        top.addWidget(self.number)
        top.addWidget(self.title, 1)
        top.addWidget(self.progress)
        top.addWidget(self.stop_button)
        top.addWidget(self.abort_button)
        second = Qt.QHBoxLayout()
        second.addWidget(Qt.QLabel("file:", self))
        second.addWidget(self.file, 1)

        self.x_choice = Qt.QComboBox(self)
        self.x_choice.setToolTip("what the curves are plotted against")
        self.x_choice.activated.connect(self._on_x_chosen)
        self.counters = Qt.QListWidget(self)
        self.counters.setToolTip("counters plotted (plotselect): tick to show")
        self.counters.itemChanged.connect(self._on_counter_ticked)
        side = Qt.QVBoxLayout()
        side.addWidget(Qt.QLabel("x axis", self))
        side.addWidget(self.x_choice)
        side.addWidget(Qt.QLabel("counters", self))
        side.addWidget(self.counters, 1)
        side_widget = Qt.QWidget(self)
        side_widget.setLayout(side)
        side_widget.setMaximumWidth(220)

        self.plot = LivePlot(self)
        middle = Qt.QHBoxLayout()
        middle.addWidget(side_widget)
        middle.addWidget(self.plot, 1)

        layout = Qt.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(second)
        layout.addLayout(middle, 1)
        layout.addWidget(self.status)

    # ---- model -------------------------------------------------------------------------------
    def setModel(self, device: str) -> None:  # noqa: N802 - Taurus' name (PanelDescription calls it)
        if self.feed is not None:
            self.feed.close()
            self.feed = None
        self.device = device
        for w in (self.stop_button, self.abort_button):
            w.setModel(device)
        self.led.setModel(f"{device}/State")
        self.progress.setModel(f"{device}/Progress")
        self.status.setModel(f"{device}/Status")
        if device:
            self.feed = ScanFeed(device, self)
            self.feed.changed.connect(self._on_changed)
            self.feed.start()

    def getModel(self) -> str:  # noqa: N802
        return self.device

    def shown_devices(self) -> list[str]:
        return [self.device] if self.device else []

    # ---- following scans ----------------------------------------------------------------------------
    def _on_changed(self, number: int) -> None:
        if not self._redraw_pending:
            self._redraw_pending = True
            Qt.QTimer.singleShot(0, self._redraw)

    def _redraw(self) -> None:
        self._redraw_pending = False
        if self.feed is None:
            return
        latest = self.feed.latest()
        if latest is None:
            return
        stamps = self.feed.taken_stamps()
        view = self.feed.view(latest)
        if view is None or not view.channels or view.number == 0 and (view.expected or 0) <= 1:
            return   # a `ct` (number 0, one point) leaves the last scan on screen
        if view.key != self.shown_key:
            self._new_scan(view)
        elif view.info and not (self.view and self.view.info):
            self._describe(view)     # ScanInfo came after the first data
        self.view = view
        self.plot.draw(view, self.selected_channels(), self.x_channel(), stamps)
        self._show_end(view)

    def _new_scan(self, view: ScanView) -> None:
        self.shown_key = view.key
        attributes = view.info.get("attributes") or {}
        if attributes and self.feed is not None:
            self.plot.units = channel_units(self.feed.proxy, attributes)
        self._describe(view)

    def _describe(self, view: ScanView) -> None:
        """Number, title, file, the x choices and the counter list of a new scan."""
        self.number.setText(f"#{view.number}")
        self.title.setText(view.title)
        self.file.setText(view.info.get("filename") or "(not saved)")
        xs = view.axis_channels()
        choices = [*xs, *([view.time_channel()] if view.time_channel() else []), X_INDEX]
        self.x_choice.blockSignals(True)
        self.x_choice.clear()
        for c in choices:
            self.x_choice.addItem(short(c) if c != X_INDEX else "point number", c)
        wanted = self.chosen_x if self.chosen_x in [short(c) for c in choices] else None
        index = next((i for i, c in enumerate(choices) if wanted and short(c) == wanted), 0)
        self.x_choice.setCurrentIndex(index)
        self.x_choice.blockSignals(False)
        counters = view.counter_channels()
        chosen = set(self.chosen or [])
        if not chosen & {short(c) for c in counters}:
            chosen = {short(counters[0])} if counters else set()
        self.counters.blockSignals(True)
        self.counters.clear()
        for c in counters:
            item = Qt.QListWidgetItem(short(c), self.counters)
            item.setData(Qt.Qt.UserRole, c)
            item.setFlags(item.flags() | Qt.Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Qt.Checked if short(c) in chosen else Qt.Qt.Unchecked)
        self.counters.blockSignals(False)

    def _show_end(self, view: ScanView) -> None:
        if view.ended and view.end_reason != "SUCCESS":
            self.title.setText(f"{view.title}   — {view.end_reason}" + (f": {view.error}" if view.error else ""))

    # ---- selection (plotselect) -------------------------------------------------------------------------
    def selected_channels(self) -> list[str]:
        out = []
        for i in range(self.counters.count()):
            item = self.counters.item(i)
            if item.checkState() == Qt.Qt.Checked:
                out.append(item.data(Qt.Qt.UserRole))
        return out

    def x_channel(self) -> str | None:
        return self.x_choice.currentData()

    def select(self, *names: str) -> None:
        """plotselect: show these counters (short names), and only them."""
        self.counters.blockSignals(True)
        for i in range(self.counters.count()):
            item = self.counters.item(i)
            item.setCheckState(Qt.Qt.Checked if item.text() in names else Qt.Qt.Unchecked)
        self.counters.blockSignals(False)
        self._on_counter_ticked()

    def _on_counter_ticked(self, *_args) -> None:
        self.chosen = [short(c) for c in self.selected_channels()]
        self._on_changed(-1)

    def _on_x_chosen(self, *_args) -> None:
        x = self.x_channel()
        self.chosen_x = short(x) if x else None
        self._on_changed(-1)

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.feed is not None:
            self.feed.close()
        super().closeEvent(event)
