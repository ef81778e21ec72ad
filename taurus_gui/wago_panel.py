"""The Wago panel: the valves and shutters of the session (State, what they report,
Open and Close), then every channel of each Wago coupler in a TaurusForm (inputs read,
outputs written: type and Enter). All from change events the Wago server pushes.
"""

from __future__ import annotations

from taurus.external.qt import Qt
from taurus.qt.qtgui.button import TaurusCommandButton
from taurus.qt.qtgui.display import TaurusLabel
from taurus.qt.qtgui.panel import TaurusForm

from .widgets import InstrumentPanel, heading, row_item, value_label


def channel_attributes(device: str) -> list[str]:
    """The Wago device's channel attributes (one per logical name), in the coupler's order."""
    import tango

    return [a for a in tango.DeviceProxy(device).get_attribute_list() if a not in ("State", "Status")]


class WagoPanel(Qt.QWidget, InstrumentPanel):
    """setModel([wago, valve and shutter devices]): actuators are the devices whose
    family is valve or shutter (WagoValve, WagoShutter), the others are couplers."""

    def __init__(self, parent: Qt.QWidget | None = None) -> None:
        super().__init__(parent)
        self.devices: list[str] = []
        self.actuators: dict[str, dict[str, Qt.QWidget]] = {}
        self.forms: dict[str, TaurusForm] = {}
        self.layout_ = Qt.QVBoxLayout(self)

    def setModel(self, devices) -> None:  # noqa: N802 - Taurus' name
        if isinstance(devices, str):
            devices = [devices]
        while self.layout_.count():
            item = self.layout_.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.devices = list(devices or [])
        self.actuators, self.forms = {}, {}
        actuators = [d for d in self.devices if d.split("/")[-2].lower() in ("valve", "shutter")]
        couplers = [d for d in self.devices if d not in actuators]
        if actuators:
            self.layout_.addWidget(heading("valves and shutters", self))
            grid_widget = Qt.QWidget(self)
            grid = Qt.QGridLayout(grid_widget)
            for row, d in enumerate(actuators):
                name = Qt.QLabel(d.rsplit("/", 1)[-1], grid_widget)
                state = value_label(f"{d}/State", grid_widget, 90, coloured=True)
                state.setAlignment(Qt.Qt.AlignCenter)
                status = TaurusLabel(grid_widget)
                status.setModel(f"{d}/Status")
                status.setBgRole("none")
                status.setAlignment(Qt.Qt.AlignLeft | Qt.Qt.AlignVCenter)
                status.setMinimumWidth(260)
                buttons = {}
                for col, command in ((3, "Open"), (4, "Close")):
                    b = TaurusCommandButton(command=command, text=command, parent=grid_widget)
                    b.setModel(d)
                    buttons[command] = b
                    grid.addWidget(b, row, col)
                grid.addWidget(name, row, 0)
                grid.addWidget(state, row, 1)
                grid.addWidget(status, row, 2)
                self.actuators[d] = {"name": name, "state": state, "status": status, **buttons}
            grid.setColumnStretch(2, 1)
            self.layout_.addWidget(grid_widget)
        for d in couplers:
            self.layout_.addWidget(heading(f"{d.rsplit('/', 1)[-1]} channels", self))
            form = TaurusForm(self, withButtons=False)
            form.setItemFactories(include=(row_item,))
            form.setModel([f"{d}/{a}" for a in channel_attributes(d)])
            self.forms[d] = form
            self.layout_.addWidget(form, 1)

    def getModel(self) -> list[str]:  # noqa: N802
        return self.devices

    def shown_devices(self) -> list[str]:
        return self.devices

    def mark(self, device: str) -> None:
        for d, widgets in self.actuators.items():
            widgets["name"].setStyleSheet("background: #ffe066; font-weight: bold;" if d == device else "")
