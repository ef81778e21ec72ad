"""The Detector panel: one tab per 2D detector (LimaBridge device) of the session, with
its live image and ROIs drawn on it, its progress and the camera's acquisition
parameters.

The image and the ROIs come from the bridge's change events (`image`, pushed at most
ImageEventRate times a second while someone listens; `roi_counters` after every
change); the progress attributes from its events too. The acquisition parameters are
the camera's own (the LimaCCDs device the bridge drives, named by its `tango_url`): a
real Lima server pushes no events for them, so Taurus polls them at the GUI's poll
period (`blisstango gui --poll-period`).
"""

from __future__ import annotations

import json

import numpy as np
import pyqtgraph as pg
from taurus.external.qt import Qt
from taurus.qt.qtgui.display import TaurusLabel

from .widgets import DeviceTabs, TaurusFeed, heading, value_label

#: (label, bridge attribute) of the progress column: change events
PROGRESS = [("acquisition", "acq_status"), ("acquired", "last_image_acquired"),
            ("ready", "last_image_ready"), ("saved", "last_image_saved")]
#: (label, camera attribute) of the parameters column: LimaCCDs attributes (polled)
PARAMETERS = [("exposure", "acq_expo_time"), ("frames", "acq_nb_frames"), ("trigger", "acq_trigger_mode"),
              ("mode", "acq_mode"), ("latency", "latency_time"), ("pixel type", "image_type"),
              ("width", "image_width"), ("height", "image_height")]
ROI_PEN = (255, 200, 0)


class DetectorView(Qt.QWidget):
    """One LimaBridge device."""

    def __init__(self, device: str, parent: Qt.QWidget | None = None) -> None:
        super().__init__(parent)
        import tango

        self.device = device
        self.camera = str(tango.DeviceProxy(device).read_attribute("tango_url").value)
        self.image = np.zeros((0, 0), dtype=np.uint16)
        self.rois: dict[str, list[int]] = {}
        self.frames_shown = 0
        self._build()
        self.feed = TaurusFeed(self)
        self.feed.changed.connect(self._on_value)
        for model in (f"{device}/image", f"{device}/roi_counters"):
            self.feed.follow(model)

    def _build(self) -> None:
        d = self.device
        side = Qt.QGridLayout()
        side.addWidget(heading("state", self), 0, 0)
        self.state_label = state = value_label(f"{d}/State", self, 80, coloured=True)
        state.setAlignment(Qt.Qt.AlignCenter)
        state.setMaximumHeight(28)
        side.addWidget(state, 0, 1)
        row = 1
        for text, attr in PROGRESS:
            side.addWidget(Qt.QLabel(text, self), row, 0)
            side.addWidget(value_label(f"{d}/{attr}", self, 80), row, 1)
            row += 1
        side.addWidget(heading(f"camera {self.camera}", self), row, 0, 1, 2)
        row += 1
        self.parameters: dict[str, TaurusLabel] = {}
        for text, attr in PARAMETERS:
            side.addWidget(Qt.QLabel(text, self), row, 0)
            label = value_label(f"{self.camera}/{attr}", self, 80)
            self.parameters[attr] = label
            side.addWidget(label, row, 1)
            row += 1
        side.setRowStretch(row, 1)

        self.plot = pg.PlotWidget(self)
        self.plot.setBackground("w")
        item = self.plot.getPlotItem()
        item.invertY(True)                 # row 0 at the top, as the camera sees it
        item.setAspectLocked(True)
        for axis in ("left", "bottom"):
            item.getAxis(axis).setPen(pg.mkPen("#444"))
            item.getAxis(axis).setTextPen(pg.mkPen("#222"))
        item.setLabel("bottom", "x (px)")
        item.setLabel("left", "y (px)")
        self.image_item = pg.ImageItem(axisOrder="row-major")
        item.addItem(self.image_item)
        self.roi_items: dict[str, tuple[Qt.QGraphicsRectItem, pg.TextItem]] = {}
        self.log_scale = Qt.QCheckBox("log scale", self)
        self.log_scale.toggled.connect(lambda _on: self._draw_image())

        self.status = TaurusLabel(self)
        self.status.setModel(f"{d}/Status")
        self.status.setBgRole("none")
        self.status.setAlignment(Qt.Qt.AlignLeft | Qt.Qt.AlignVCenter)

        # the values scroll rather than make the panel (and the docks around it) taller
        side_widget = Qt.QWidget(self)
        side_widget.setLayout(side)
        scroll = Qt.QScrollArea(self)
        scroll.setWidget(side_widget)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(Qt.QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(side_widget.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
        top = Qt.QHBoxLayout()
        top.addWidget(scroll)
        top.addWidget(self.plot, 1)
        layout = Qt.QVBoxLayout(self)
        layout.addLayout(top, 1)
        bottom = Qt.QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.log_scale)
        layout.addLayout(bottom)

    # ---- values --------------------------------------------------------------------------------
    def _on_value(self, model: str, value) -> None:
        attr = model.rsplit("/", 1)[-1]
        if attr == "image":
            self.image = np.asarray(value)
            self.frames_shown += 1
            self._draw_image()
        elif attr == "roi_counters":
            self.rois = json.loads(value or "{}")
            self._draw_rois()

    def _draw_image(self) -> None:
        if self.image.ndim != 2 or not self.image.size:
            self.image_item.clear()
            return
        shown = np.log1p(self.image.astype(float)) if self.log_scale.isChecked() else self.image
        self.image_item.setImage(shown, autoLevels=True)

    def _draw_rois(self) -> None:
        item = self.plot.getPlotItem()
        for rect, label in self.roi_items.values():
            item.removeItem(rect)
            item.removeItem(label)
        self.roi_items = {}
        for name, (x, y, w, h) in sorted(self.rois.items()):
            rect = Qt.QGraphicsRectItem(x, y, w, h)
            pen = pg.mkPen(ROI_PEN, width=2)
            pen.setCosmetic(True)      # 2 screen pixels at any zoom
            rect.setPen(pen)
            rect.setZValue(10)
            # the name above the ROI; below it when the ROI touches the image's top edge
            # (above, the name would fall outside the view)
            height = self.image.shape[0] if self.image.ndim == 2 else 0
            on_top = y < 0.08 * max(height, y + h)
            label = pg.TextItem(name, color=ROI_PEN, anchor=(0, 0) if on_top else (0, 1))
            label.setPos(x, y + h if on_top else y)
            label.setZValue(10)
            item.addItem(rect)
            item.addItem(label)
            self.roi_items[name] = (rect, label)

    def drawn_rois(self) -> dict[str, list[int]]:
        """{roi: [x, y, w, h]} as drawn on the image."""
        out = {}
        for name, (rect, _label) in self.roi_items.items():
            r = rect.rect()
            out[name] = [int(round(v)) for v in (r.x(), r.y(), r.width(), r.height())]
        return out

    def close_feed(self) -> None:
        self.feed.close()


class DetectorPanel(DeviceTabs):
    """setModel([LimaBridge devices])."""

    view_class = DetectorView
