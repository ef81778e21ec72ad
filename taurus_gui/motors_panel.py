"""The Motors panel: a TaurusForm with one row per axis of the session (calc axes too).

A row is the axis' Position (read with its unit and format, write widget: type a value
and Enter moves the axis) followed by its State, dial position, software limits,
velocity and a Stop button, in aligned columns under a header. Every value comes from
change events the AxisManager pushes (Position while moving, the others when written).
"""

from __future__ import annotations

from taurus.external.qt import Qt
from taurus.qt.qtgui.button import TaurusCommandButton
from taurus.qt.qtgui.display import TaurusLabel
from taurus.qt.qtgui.panel import TaurusForm, TaurusValue

from .widgets import InstrumentPanel, TargetLineEdit, heading, value_label

#: (header, attribute or None for the Stop button, minimum width, tooltip) of the columns
#: after the units
EXTRA_COLUMNS = [
    ("state", "State", 80, "the axis' Tango state: ON ready, MOVING, ALARM on a limit, FAULT"),
    ("dial", "Dial_position", 115, "dial (hardware) position"),
    ("low limit", "Low_limit", 125, "software low limit (user units)"),
    ("high limit", "High_limit", 125, "software high limit (user units)"),
    ("velocity", "Velocity", 135, "velocity"),
    ("", None, 0, "decelerate to a stop"),
]
HEADERS = ["axis", "position", "move to", ""] + [h for h, *_ in EXTRA_COLUMNS]


def device_of(model: str) -> str:
    """`tango://h:p/demo/axis/m0/position` -> `tango://h:p/demo/axis/m0`."""
    return model.rsplit("/", 1)[0]


class AxisCells(Qt.QWidget):
    """The extra cells of an axis row; AxisValue lays them out one per grid column."""

    def __init__(self, parent: Qt.QWidget | None = None) -> None:
        super().__init__(parent)
        self.cells: list[Qt.QWidget] = []
        self.labels: dict[str, TaurusLabel] = {}
        self.stop: TaurusCommandButton | None = None
        self.setVisible(False)

    def setModel(self, model: str | None) -> None:  # noqa: N802 - Taurus' name
        if not model:
            return
        device = device_of(model)
        if self.cells:
            for attr, label in self.labels.items():
                label.setModel(f"{device}/{attr}")
            if self.stop is not None:
                self.stop.setModel(device)
            return
        for _, attr, width, tip in EXTRA_COLUMNS:
            if attr is None:
                self.stop = TaurusCommandButton(command="Stop", text="Stop")
                self.stop.setModel(device)
                self.stop.setToolTip(tip)
                self.cells.append(self.stop)
                continue
            label = value_label(f"{device}/{attr}", min_width=width, tooltip=tip, coloured=attr == "State")
            if attr == "State":
                label.setAlignment(Qt.Qt.AlignCenter)
            self.labels[attr] = label
            self.cells.append(label)


class AxisValue(TaurusValue):
    """One axis: label = the axis name, then position, write, unit, then AxisCells."""

    def __init__(self, parent: Qt.QWidget | None = None, designMode: bool = False) -> None:  # noqa: N803
        super().__init__(parent, designMode)
        self.setWriteWidgetClass(TargetLineEdit)
        self.setExtraWidgetClass(AxisCells)
        self.setLabelConfig("{dev.name}")

    def addExtraWidgetToLayout(self) -> None:  # noqa: N802 - Taurus' name
        parent = self.parent()
        if parent is None or self._extraWidget is None:
            return
        for i, cell in enumerate(self._extraWidget.cells):
            parent.layout().addWidget(cell, self._row, 5 + i)

    def cells(self) -> AxisCells:
        return self._extraWidget


def axis_item(model_obj) -> AxisValue | None:
    """TaurusForm item factory: an AxisValue for an axis' Position attribute."""
    name = model_obj.getFullName().lower()
    return AxisValue() if name.endswith("/position") else None


class MotorsPanel(TaurusForm, InstrumentPanel):
    """TaurusForm of axis positions (setModel(["demo/axis/m0/Position", ...]))."""

    def __init__(self, parent: Qt.QWidget | None = None) -> None:
        super().__init__(parent, withButtons=False)
        self.setItemFactories(include=(axis_item, ".*"))
        self.setModifiableByUser(True)
        self.marked = ""

    def shown_devices(self) -> list[str]:
        return [device_of(m) for m in self.getModel()]

    def mark(self, device: str) -> None:
        """The axis' name in bold on a yellow background, scrolled into view."""
        self.marked = device
        for item in self.getItems():
            label = item.labelWidget()
            if label is None:
                continue
            selected = device_of(item.getModelName()).lower().endswith(device.lower())
            label.setStyleSheet("background: #ffe066; font-weight: bold;" if selected else "")
            if selected:
                self.scrollArea.ensureWidgetVisible(label)

    def fillWithChildren(self) -> None:  # noqa: N802 - Taurus' name
        super().fillWithChildren()
        frame = self.scrollArea.widget()
        grid = frame.layout()
        for column, text in enumerate(HEADERS, start=1):
            if text:
                grid.addWidget(heading(text, frame), 0, column)

    def axis_row(self, name: str) -> AxisValue | None:
        """The row of axis `name` (as shown in its label)."""
        for item in self.getItems():
            if isinstance(item, AxisValue) and item.labelWidget() is not None and item.labelWidget().text() == name:
                return item
        return None
