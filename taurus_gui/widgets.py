"""Small Taurus widgets the panels share (Taurus 5 has no progress bar, and a panel
often wants a titled group of attribute labels)."""

from __future__ import annotations

from taurus.core.taurusbasetypes import TaurusEventType
from taurus.external.qt import Qt
from taurus.qt.qtgui.base import TaurusBaseWidget
from taurus.qt.qtgui.display import TaurusLabel, TaurusLed
from taurus.qt.qtgui.input import TaurusValueLineEdit
from taurus.qt.qtgui.panel.taurusvalue import TaurusValue, UnitLessLineEdit


class TaurusProgressBar(Qt.QWidget, TaurusBaseWidget):
    """A progress bar following a scalar attribute in % (change events). A QWidget
    holding the bar: QProgressBar's setFormat would shadow Taurus's."""

    def __init__(self, parent: Qt.QWidget | None = None) -> None:
        self.call__init__wo_kw(Qt.QWidget, parent)
        self.call__init__(TaurusBaseWidget, type(self).__name__)
        self.bar = Qt.QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.bar.setFormat("")
        layout = Qt.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)

    def handleEvent(self, evt_src, evt_type, evt_value) -> None:  # noqa: N802 - Taurus' name
        if evt_type not in (TaurusEventType.Change, TaurusEventType.Periodic) or evt_value is None:
            return
        value = evt_value.rvalue
        value = float(getattr(value, "magnitude", value))
        self.bar.setValue(int(round(10 * max(0.0, min(100.0, value)))))
        self.bar.setFormat(f"{value:.0f}%")

    def value(self) -> float:
        return self.bar.value() / 10.0

    def isReadOnly(self) -> bool:  # noqa: N802
        return True


class TargetLineEdit(TaurusValueLineEdit):
    """A write field (a TaurusValue's write widget): type a value and Enter writes it;
    unless the user has typed something not yet applied, it shows the attribute's write
    value, i.e. the last target whoever set it (an axis' "move to", a loop's setpoint:
    our servers set it); Taurus's own field keeps the last value typed here and shows
    another client's write as a pending edit."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.editing = False                    # typed here, not yet applied by Enter
        self.textEdited.connect(self._typed)    # the user's keys only, never setValue
        self.returnPressed.connect(self._applied)

    def _typed(self, _text: str) -> None:
        self.editing = True

    def _applied(self) -> None:
        self.editing = False

    def resetPendingOperations(self) -> None:  # noqa: N802 - Taurus' name (Escape, reset)
        super().resetPendingOperations()
        self.editing = False

    def setModel(self, model, **kwargs) -> None:  # noqa: N802 - Taurus' name
        # the number alone, formatted as the attribute says: the unit has its own column
        if model and "#" not in model:
            model = f"{model}#wvalue.magnitude"
        super().setModel(model, **kwargs)

    def handleEvent(self, evt_src, evt_type, evt_value) -> None:  # noqa: N802 - Taurus' name
        super().handleEvent(evt_src, evt_type, evt_value)
        if evt_type == TaurusEventType.Change and evt_value is not None and not self.editing:
            target = getattr(evt_value, "wvalue", None)
            if target is not None:
                self.setValue(target)



class FormRow(TaurusValue):
    """A TaurusForm row tall enough for its text: TaurusForm gives rows 20 px at least and
    squeezes them to that in a small panel, cutting the underscores of `valve1_cmd`."""

    def setMinimumHeight(self, height: int | None) -> None:  # noqa: N802 - Taurus' name
        line = Qt.QFontMetrics(Qt.QApplication.font()).height() + 8
        super().setMinimumHeight(max(height or 0, line))


class ParameterValue(FormRow):
    """A form row labelled by the attribute's Tango name (what a shell user types),
    whose write field is a TargetLineEdit: it shows the value the device holds as
    written (a loop's setpoint and gains), not Taurus's initial 0."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.setLabelConfig("{attr.name}")

    def getDefaultWriteWidgetClass(self, returnAll: bool = False):  # noqa: N802, N803 - Taurus' names
        classes = super().getDefaultWriteWidgetClass(returnAll=True) or []
        classes = [TargetLineEdit if c is UnitLessLineEdit else c for c in classes]
        return classes if returnAll else (classes[0] if classes else None)


def parameter_item(_model_obj) -> ParameterValue:
    """TaurusForm item factory (setItemFactories(include=(parameter_item,))): every row
    a ParameterValue."""
    return ParameterValue()


def row_item(_model_obj) -> FormRow:
    """TaurusForm item factory: every row a FormRow."""
    return FormRow()


def state_led(model: str, parent: Qt.QWidget | None = None) -> TaurusLed:
    """A LED coloured by a device's State (events)."""
    led = TaurusLed(parent)
    led.setModel(f"{model}/State")
    led.setFixedSize(22, 22)
    return led


def value_label(model: str, parent: Qt.QWidget | None = None, min_width: int = 90,
                tooltip: str = "", coloured: bool = False) -> TaurusLabel:
    """A TaurusLabel of an attribute with its unit, right aligned; coloured (a State by
    its value, others by quality) only when `coloured`: a secondary value stays plain.
    Never trimmed to '...'."""
    label = TaurusLabel(parent)
    label.setModel(model)
    label.setAutoTrim(False)
    if not coloured:
        label.setBgRole("none")
    elif model.lower().endswith("/state"):
        label.setBgRole("value")      # the State's own colour (MOVING blue, CLOSE white...)
    label.setMinimumWidth(min_width)
    label.setAlignment(Qt.Qt.AlignRight | Qt.Qt.AlignVCenter)
    if tooltip:
        label.setToolTip(tooltip)
    return label


def heading(text: str, parent: Qt.QWidget | None = None) -> Qt.QLabel:
    label = Qt.QLabel(text, parent)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


def raise_panel(widget: Qt.QWidget) -> bool:
    """Bring the dock panel holding `widget` to the front (its tab becomes current);
    False when the widget is not in a dock panel (a standalone window)."""
    w = widget
    while w is not None and not isinstance(w, Qt.QDockWidget):
        w = w.parentWidget()
    if w is None:
        return False
    w.show()
    w.raise_()
    return True


class InstrumentPanel:
    """What a panel does when an instrument (a Tango device) is selected anywhere in the
    GUI (a click in the synoptic: Taurus's "SelectedInstrument" shared data): if it shows
    that device, it comes to the front and marks it."""

    def shown_devices(self) -> list[str]:
        return []

    def mark(self, device: str) -> None:
        """Make `device` stand out (subclasses)."""

    def selectInstrument(self, name: str) -> None:  # noqa: N802 - slot name used by the GUI config
        device = str(name).lower().removeprefix("tango:")
        devices = {d.lower(): d for d in self.shown_devices()}
        if device in devices:
            raise_panel(self)
            self.mark(devices[device])


class DeviceTabs(Qt.QTabWidget, InstrumentPanel):
    """A panel of one tab per device: setModel([devices]) builds `view_class(device,
    parent)` for each (a view with `close_feed()` lets its listeners go)."""

    view_class: type = Qt.QWidget

    def __init__(self, parent: Qt.QWidget | None = None) -> None:
        super().__init__(parent)
        self.views: dict[str, Qt.QWidget] = {}

    def setModel(self, devices) -> None:  # noqa: N802 - Taurus' name
        if isinstance(devices, str):
            devices = [devices]
        for view in self.views.values():
            if hasattr(view, "close_feed"):
                view.close_feed()
        self.clear()
        self.views = {}
        for d in devices or []:
            view = self.view_class(d, self)
            self.views[d] = view
            self.addTab(view, d.rsplit("/", 1)[-1])

    def getModel(self) -> list[str]:  # noqa: N802
        return list(self.views)

    def shown_devices(self) -> list[str]:
        return list(self.views)

    def mark(self, device: str) -> None:
        self.setCurrentWidget(self.views[device])


class TaurusFeed(Qt.QObject):
    """Values of Taurus attributes handed to the GUI thread: `changed(model, value)` for
    each change event Taurus receives (value: a number, a string or a numpy array, units
    dropped). For displays no Taurus widget makes (spectra with ROIs, tables)."""

    changed = Qt.pyqtSignal(str, object)

    def __init__(self, parent: Qt.QObject | None = None) -> None:
        super().__init__(parent)
        self._listeners: dict[str, tuple[object, object]] = {}

    def follow(self, model: str) -> None:
        import taurus

        if model in self._listeners:
            return
        attr = taurus.Attribute(model)

        def listener(evt_src, evt_type, evt_value, model=model) -> None:
            if evt_type not in (TaurusEventType.Change, TaurusEventType.Periodic) or evt_value is None:
                return
            value = evt_value.rvalue
            self.changed.emit(model, getattr(value, "magnitude", value))

        self._listeners[model] = (attr, listener)   # Taurus keeps weak references only
        attr.addListener(listener)

    def attribute(self, model: str):
        return self._listeners[model][0]

    def models(self) -> list[str]:
        return list(self._listeners)

    def close(self) -> None:
        for attr, listener in self._listeners.values():
            attr.removeListener(listener)
        self._listeners.clear()


def light_plot(widget, legend: bool = True):
    """White background, dark axes and text, a grid and (if asked) a light legend, on a
    pyqtgraph PlotWidget (TaurusPlot, TaurusTrend). Returns its PlotItem."""
    import pyqtgraph as pg

    widget.setBackground("w")
    item = widget.getPlotItem()
    item.showGrid(x=True, y=True, alpha=0.2)
    for side in ("left", "bottom", "right"):
        axis = item.getAxis(side)
        axis.setPen(pg.mkPen("#444"))
        axis.setTextPen(pg.mkPen("#222"))
    item.titleLabel.setAttr("color", "#222")
    if legend:
        if item.legend is None:     # TaurusPlot has made its own already
            item.addLegend(offset=(-10, 10))
        item.legend.setBrush(pg.mkBrush(255, 255, 255, 220))
        item.legend.setPen(pg.mkPen("#999"))
        item.legend.setLabelTextColor("#222")
    return item


def quiet_tooltips(root: Qt.QWidget) -> None:
    """No automatic tooltips on the Taurus widgets below root: Taurus rebuilds each one
    (name, value, quality, formatted through pint) at every event, shown or not — a
    tenth of the GUI's start-up and of every moving axis' updates. The panels set the
    tooltips that matter themselves."""
    for w in root.findChildren(Qt.QWidget):
        if isinstance(w, TaurusBaseWidget) and w.getAutoTooltip():
            w.setAutoTooltip(False)
