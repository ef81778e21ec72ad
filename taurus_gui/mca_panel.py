"""The MCA panel: one tab per MCA device of the session, with the spectrum of each
element against energy, the ROIs marked on it, the per-element statistics, the preset
and trigger settings, Start and Stop. All from change events the Mca server pushes
(spectra and statistics at every point, settings when written).
"""

from __future__ import annotations

import json

import numpy as np
import pyqtgraph as pg
from taurus.external.qt import Qt
from taurus.qt.qtgui.button import TaurusCommandButton
from taurus.qt.qtgui.display import TaurusLabel
from taurus.qt.qtgui.input import TaurusValueLineEdit
from taurus_pyqtgraph import TaurusPlot

from blisstango.core.mca.device_names import STAT_ATTRS

from .live_plot import CURVE_COLOURS
from .widgets import DeviceTabs, TaurusFeed, heading, light_plot, value_label

#: (column header, statistic) of the statistics table
STAT_COLUMNS = [("ICR /s", "icr"), ("OCR /s", "ocr"), ("dead %", "deadtime"), ("real s", "realtime"),
                ("live s", "energy_livetime"), ("events", "events")]
ROI_BRUSH = (255, 200, 0, 50)


class McaView(Qt.QWidget):
    """One MCA device."""

    def __init__(self, device: str, parent: Qt.QWidget | None = None) -> None:
        super().__init__(parent)
        import tango

        self.device = device
        self.elements = [int(e) for e in tango.DeviceProxy(device).read_attribute("Elements").value]
        self.energy = np.zeros(0)
        self.spectra: dict[int, np.ndarray] = {}
        self.rois: dict[str, list[int]] = {}
        self.stats: dict[str, np.ndarray] = {}
        self._build()
        self.feed = TaurusFeed(self)
        self.feed.changed.connect(self._on_value)
        for model in [f"{device}/Energy", f"{device}/Rois",
                      *(f"{device}/spectrum_det{e}" for e in self.elements),
                      *(f"{device}/{STAT_ATTRS[s]}" for _, s in STAT_COLUMNS)]:
            self.feed.follow(model)

    def _build(self) -> None:
        d = self.device
        settings = Qt.QGridLayout()
        settings.addWidget(heading("state", self), 0, 0)
        state = value_label(f"{d}/State", self, 80, coloured=True)
        state.setAlignment(Qt.Qt.AlignCenter)
        state.setMaximumHeight(28)
        settings.addWidget(state, 0, 1)
        settings.addWidget(heading("points", self), 0, 2)
        settings.addWidget(value_label(f"{d}/PointsAcquired", self, 60), 0, 3)
        settings.addWidget(heading("preset", self), 1, 0)
        settings.addWidget(value_label(f"{d}/PresetMode", self, 80), 1, 1)
        settings.addWidget(value_label(f"{d}/PresetValue", self, 60), 1, 2)
        preset = TaurusValueLineEdit(self)
        preset.setModel(f"{d}/PresetValue")
        preset.setToolTip("preset value: type and Enter (s for REALTIME/LIVETIME, counts otherwise)")
        settings.addWidget(preset, 1, 3)
        settings.addWidget(heading("trigger", self), 2, 0)
        settings.addWidget(value_label(f"{d}/TriggerMode", self, 80), 2, 1)
        start = TaurusCommandButton(command="StartAcquisition", text="Start", parent=self)
        start.setModel(d)
        stop = TaurusCommandButton(command="StopAcquisition", text="Stop", parent=self)
        stop.setModel(d)
        settings.addWidget(start, 2, 2)
        settings.addWidget(stop, 2, 3)
        self.status = TaurusLabel(self)
        self.status.setModel(f"{d}/Status")
        self.status.setBgRole("none")
        self.status.setAlignment(Qt.Qt.AlignLeft | Qt.Qt.AlignVCenter)

        self.table = Qt.QTableWidget(len(self.elements), len(STAT_COLUMNS), self)
        self.table.setHorizontalHeaderLabels([h for h, _ in STAT_COLUMNS])
        self.table.setVerticalHeaderLabels([f"det{e}" for e in self.elements])
        self.table.setEditTriggers(Qt.QAbstractItemView.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(Qt.QHeaderView.Stretch)
        self.table.setVerticalScrollBarPolicy(Qt.Qt.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.Qt.ScrollBarAlwaysOff)
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height()
                                  + 30 * max(1, len(self.elements)) + 4)
        self.table.verticalHeader().setDefaultSectionSize(30)
        self.table.setMinimumWidth(560)

        self.plot = TaurusPlot(self)
        item = light_plot(self.plot)
        item.setLabel("bottom", "energy (keV)")
        item.setLabel("left", "counts")
        self.curves: dict[int, pg.PlotDataItem] = {}
        for i, e in enumerate(self.elements):
            self.curves[e] = item.plot(name=f"det{e}", pen=pg.mkPen(CURVE_COLOURS[i % len(CURVE_COLOURS)], width=1.5))
        self.roi_items: list[Qt.QGraphicsItem] = []
        self.log_y = Qt.QCheckBox("log scale", self)
        self.log_y.toggled.connect(lambda on: item.setLogMode(y=on))

        top = Qt.QHBoxLayout()
        top.addLayout(settings)
        top.addWidget(self.table, 1)
        layout = Qt.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        bottom = Qt.QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.log_y)
        layout.addLayout(bottom)

    # ---- values --------------------------------------------------------------------------------
    def _on_value(self, model: str, value) -> None:
        attr = model.rsplit("/", 1)[-1]
        if attr == "Energy":
            self.energy = np.asarray(value, float)
            self._draw_spectra()
            self._draw_rois()
        elif attr == "Rois":
            self.rois = json.loads(value or "{}")
            self._draw_rois()
        elif attr.startswith("spectrum_det"):
            self.spectra[int(attr[len("spectrum_det"):])] = np.asarray(value, float)
            self._draw_spectra()
        else:
            self.stats[attr] = np.asarray(value, float)
            self._fill_table()

    def bins_to_energy(self, b: float) -> float:
        if len(self.energy) < 2:
            return float(b)
        return float(np.interp(b, np.arange(len(self.energy)), self.energy))

    def _draw_spectra(self) -> None:
        for e, curve in self.curves.items():
            y = self.spectra.get(e)
            if y is None or not len(y):
                continue
            x = self.energy if len(self.energy) == len(y) else np.arange(len(y), dtype=float)
            curve.setData(x, y)

    def _draw_rois(self) -> None:
        item = self.plot.getPlotItem()
        for it in self.roi_items:
            item.removeItem(it)
        self.roi_items = []
        for name, (start, stop) in sorted(self.rois.items()):
            lo, hi = self.bins_to_energy(start), self.bins_to_energy(stop - 1)
            region = pg.LinearRegionItem(values=(lo, hi), movable=False, brush=pg.mkBrush(*ROI_BRUSH),
                                         pen=pg.mkPen((200, 140, 0), width=1))
            region.setZValue(-10)
            label = pg.InfLineLabel(region.lines[1], text=name, position=0.92, anchors=[(0, 0), (0, 0)])
            label.setColor((120, 80, 0))
            item.addItem(region)
            self.roi_items.append(region)

    def roi_energies(self) -> dict[str, tuple[float, float]]:
        """{roi: (low, high)} in keV as marked on the plot."""
        return {name: tuple(region.getRegion()) for name, region in zip(sorted(self.rois), self.roi_items)}

    def _fill_table(self) -> None:
        for col, (_, stat) in enumerate(STAT_COLUMNS):
            values = self.stats.get(STAT_ATTRS[stat])
            if values is None:
                continue
            for row in range(min(len(values), len(self.elements))):
                v = values[row]
                if stat == "deadtime":
                    v = 100.0 * v        # a fraction
                text = f"{v:.0f}" if stat in ("icr", "ocr", "events") else f"{v:.3f}"
                cell = self.table.item(row, col)
                if cell is None:
                    cell = Qt.QTableWidgetItem()
                    cell.setTextAlignment(Qt.Qt.AlignRight | Qt.Qt.AlignVCenter)
                    self.table.setItem(row, col, cell)
                cell.setText(text)

    def close_feed(self) -> None:
        self.feed.close()


class McaPanel(DeviceTabs):
    """setModel([mca devices])."""

    view_class = McaView
