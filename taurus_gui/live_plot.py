"""The live plot of a scan (BLISS's Flint, the Taurus way): curves of the selected
counters against the scanned axis (or time, or the point index) in a taurus_pyqtgraph
TaurusPlot, and an image of the selected counter for a mesh scan.

The widget draws a ScanView (scan_feed); it knows nothing of Tango. `draw(view)` may be
called as often as data come: it only copies arrays into existing curve items, and
the plot repaints once per pass of the Qt event loop whatever the number of calls.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from taurus.external.qt import Qt
from taurus_pyqtgraph import TaurusPlot

from .scan_feed import ScanView
from .widgets import light_plot

#: colours of successive curves (colour-blind safe, Okabe-Ito order)
CURVE_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
X_INDEX = "index"      # the x choice "point number"
MANY_POINTS = 100      # above: curves drawn thin, without markers or antialiasing


def short(channel: str) -> str:
    """What a person calls a channel: its last part (`simulation:diode` -> `diode`)."""
    return channel.rsplit(":", 1)[-1]


class CurvePlot(TaurusPlot):
    """TaurusPlot that tells listeners when it painted (what the latency bench measures)."""

    def __init__(self, parent: Qt.QWidget | None = None) -> None:
        super().__init__(parent)
        self.painted: list[Callable[[], None]] = []

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        for cb in list(self.painted):
            cb()


class LivePlot(Qt.QWidget):
    """Curves (1-D scans) or an image (mesh scans) of the scan last given to draw()."""

    def __init__(self, parent: Qt.QWidget | None = None) -> None:
        super().__init__(parent)
        self.curve_plot = CurvePlot(self)
        item = light_plot(self.curve_plot)
        self.legend = item.legend
        self.legend.setVisible(False)      # an empty legend box until there are curves
        self.curves: dict[str, pg.PlotDataItem] = {}

        self.mesh_plot = pg.PlotWidget(self)
        light_plot(self.mesh_plot, legend=False)
        self.mesh_plot.setAspectLocked(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.mesh_plot.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False, width=15)
        self.colour_bar.setImageItem(self.image, insert_in=self.mesh_plot.getPlotItem())
        self.mesh_image: np.ndarray | None = None

        self.stack = Qt.QStackedWidget(self)
        self.stack.addWidget(self.curve_plot)
        self.stack.addWidget(self.mesh_plot)
        layout = Qt.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        self.units: dict[str, str] = {}
        self.scan_key = ""
        self.x_channel: str | None = None
        #: (server time of a RecordData message, local time its data was painted)
        self.latencies: deque[tuple[float, float]] = deque(maxlen=100_000)
        self._pending_stamps: list[float] = []
        self.curve_plot.painted.append(self._on_painted)
        self.mesh_plot_painted = 0

    # ---- what is shown ---------------------------------------------------------------------
    @property
    def showing_mesh(self) -> bool:
        return self.stack.currentWidget() is self.mesh_plot

    def curve_data(self, channel: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the curve of a channel: every point given to it (the screen may show
        fewer: a curve is downsampled to the pixels it has)."""
        x, y = self.curves[channel].getOriginalDataset()
        return (np.asarray([]) if x is None else np.asarray(x)), (np.asarray([]) if y is None else np.asarray(y))

    def _label(self, channel: str | None) -> str:
        if channel is None or channel == X_INDEX:
            return "point"
        unit = self.units.get(channel, "")
        return f"{short(channel)} ({unit})" if unit else short(channel)

    # ---- drawing ----------------------------------------------------------------------------
    def clear(self) -> None:
        item = self.curve_plot.getPlotItem()
        for curve in self.curves.values():
            item.removeItem(curve)
            self.legend.removeItem(curve)
        self.curves.clear()
        self.legend.setVisible(False)
        self.image.clear()
        self.mesh_image = None

    def draw(self, view: ScanView, selected: list[str], x_channel: str | None,
             stamps: list[float] = ()) -> None:
        """Show `view`: one curve per selected channel against x_channel (a channel, or
        X_INDEX), or, for a mesh, the image of the first selected channel. `stamps`: server
        times of the messages whose data the view is the first to hold (latency figures)."""
        if view.key != self.scan_key:
            self.clear()
            self.scan_key = view.key
        self.x_channel = x_channel
        state = "" if not view.ended else ("" if view.end_reason == "SUCCESS" else f"  [{view.end_reason}]")
        title = f"#{view.number}  {view.title}{state}"
        mesh = view.mesh
        if mesh is not None:
            self._draw_mesh(view, mesh, selected[:1], title)
        else:
            self._draw_curves(view, selected, x_channel, title)
            if self.curve_plot.isVisible():    # a hidden plot paints nothing: nothing to time
                self._pending_stamps.extend(stamps)

    def _draw_curves(self, view: ScanView, selected: list[str], x_channel: str | None, title: str) -> None:
        self.stack.setCurrentWidget(self.curve_plot)
        item = self.curve_plot.getPlotItem()
        item.setTitle(title)
        for channel in [c for c in self.curves if c not in selected]:
            curve = self.curves.pop(channel)
            item.removeItem(curve)
            self.legend.removeItem(curve)
        n = view.npoints
        if x_channel in view.data and x_channel != X_INDEX:
            x = view.data[x_channel][:n]
        else:
            x = np.arange(n, dtype=float)
        item.setLabel("bottom", self._label(x_channel))
        units = {self.units.get(c, "") for c in selected}
        item.setLabel("left", units.pop() if len(units) == 1 else "")
        many = n > MANY_POINTS
        for i, channel in enumerate(selected):
            y = view.data.get(channel)
            if y is None:
                continue
            curve = self.curves.get(channel)
            if curve is None:
                colour = CURVE_COLOURS[i % len(CURVE_COLOURS)]
                curve = item.plot(name=short(channel), pen=pg.mkPen(colour, width=2), symbol="o",
                                  symbolSize=5, symbolBrush=colour, symbolPen=None, antialias=True)
                curve.setDownsampling(auto=True, method="peak")   # never more points than pixels
                curve.setClipToView(True)
                curve.many = False
                self.curves[channel] = curve
            if many != curve.many:
                # thousands of points: no marker per point, thin lines without antialiasing
                # (a 2-pixel antialiased path of 5,000 noisy points took 150 ms to paint)
                curve.many = many
                colour = CURVE_COLOURS[list(self.curves).index(channel) % len(CURVE_COLOURS)]
                curve.setPen(pg.mkPen(colour, width=1 if many else 2))
                curve.setSymbol(None if many else "o")
                curve.opts["antialias"] = not many
            curve.setData(x, y[:n])
        self.legend.setVisible(bool(self.curves))

    def _draw_mesh(self, view: ScanView, shape: tuple[int, int], selected: list[str], title: str) -> None:
        self.stack.setCurrentWidget(self.mesh_plot)
        item = self.mesh_plot.getPlotItem()
        n1, n2 = shape
        fast, slow = (view.axis_channels() + [None, None])[:2]
        item.setTitle(f"{title}  —  {short(selected[0]) if selected else ''}")
        item.setLabel("bottom", self._label(fast))
        item.setLabel("left", self._label(slow))
        if not selected or selected[0] not in view.data:
            return
        values = view.data[selected[0]]
        image = np.full(n1 * n2, np.nan)
        k = min(len(values), n1 * n2)
        image[:k] = values[:k]
        image = image.reshape(n2, n1)
        if view.info.get("backnforth"):
            image[1::2] = image[1::2, ::-1]
        self.mesh_image = image
        finite = image[np.isfinite(image)]
        levels = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if levels[0] == levels[1]:
            levels = (levels[0], levels[0] + 1.0)
        self.image.setImage(np.nan_to_num(image, nan=levels[0]), levels=levels, autoLevels=False)
        self.colour_bar.setLevels(levels)
        rect = self._mesh_rect(view, fast, slow, n1, n2)
        if rect is not None:
            self.image.setRect(rect)

    @staticmethod
    def _mesh_rect(view: ScanView, fast: str | None, slow: str | None, n1: int, n2: int) -> Qt.QRectF | None:
        """Pixels centred on the grid positions (first point, step of each axis)."""
        if fast not in view.data or slow not in view.data or len(view.data[fast]) < 2:
            return None
        f, s = view.data[fast], view.data[slow]
        fstep = (f[1] - f[0]) if n1 > 1 else 1.0
        sstep = (s[n1] - s[0]) if len(s) > n1 and n2 > 1 else abs(fstep) or 1.0
        fstep = fstep or 1.0
        x0 = min(f[0], f[0] + fstep * (n1 - 1)) - abs(fstep) / 2
        y0 = min(s[0], s[0] + sstep * (n2 - 1)) - abs(sstep) / 2
        return Qt.QRectF(x0, y0, abs(fstep) * n1, abs(sstep) * n2)

    def _on_painted(self) -> None:
        if self._pending_stamps:
            now = time.time()
            self.latencies.extend((stamp, now) for stamp in self._pending_stamps)
            self._pending_stamps = []
