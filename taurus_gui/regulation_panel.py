"""The Regulation panel: one tab per regulation loop of the session, with a TaurusTrend
of its input, setpoint and working setpoint, a trend of its output, and its parameters
in a TaurusForm (setpoint, ramp rate, PID gains, deadband, limits: type and Enter to
change one), Start and Stop of the regulation. Trend values and parameters come from
change events the Regulation server pushes.
"""

from __future__ import annotations

from taurus.external.qt import Qt
from taurus.qt.qtgui.button import TaurusCommandButton
from taurus.qt.qtgui.display import TaurusLabel
from taurus.qt.qtgui.panel import TaurusForm
from taurus_pyqtgraph import TaurusTrend

from .widgets import DeviceTabs, light_plot, parameter_item, value_label

TRENDED = ("input_value", "setpoint", "working_setpoint")
#: legend names of the trended attributes
TREND_NAMES = {"input_value": "input", "setpoint": "setpoint", "working_setpoint": "working setpoint",
               "output_value": "output"}
PARAMETERS = ("setpoint", "working_setpoint", "input_value", "output_value", "ramprate", "kp", "ki", "kd",
              "deadband", "deadband_time", "setpoint_low_limit", "setpoint_high_limit")


def attribute_units(device: str, attributes: tuple[str, ...]) -> dict[str, str]:
    """Unit of each attribute ('' when none), from the device's attribute configuration."""
    import tango

    try:
        configs = tango.DeviceProxy(device).get_attribute_config(list(attributes))
    except tango.DevFailed:
        return {}
    return {c.name: c.unit for c in configs if c.unit not in ("", "No unit")}


def name_curves(trend: TaurusTrend) -> None:
    """Legend names a person reads ("input", not "input_value[0]"); the curves exist once
    the trend sets have read their first value."""
    for ts in trend.getTrendSets():
        attr = ts.getModelName().rsplit("/", 1)[-1].lower()
        name = TREND_NAMES.get(attr, attr)
        for curve in ts:
            curve.setData(name=name)
            label = trend.getPlotItem().legend.getLabel(curve) if trend.getPlotItem().legend else None
            if label is not None:
                label.setText(name)


class LoopView(Qt.QWidget):
    """One Loop device."""

    def __init__(self, device: str, parent: Qt.QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        units = attribute_units(device, ("input_value", "output_value"))
        self.trend = TaurusTrend(self)
        light_plot(self.trend).setLabel("left", units.get("input_value", ""))
        self.trend.setModel([f"{device}/{a}" for a in TRENDED])
        self.output_trend = TaurusTrend(self)
        output = light_plot(self.output_trend, legend=False)      # one curve: named by its axis
        output.setLabel("left", f"output ({units['output_value']})" if "output_value" in units else "output")
        if output.legend is not None:
            output.legend.setVisible(False)
        self.output_trend.setModel([f"{device}/output_value"])
        self.output_trend.setMaximumHeight(200)
        for trend in (self.trend, self.output_trend):
            name_curves(trend)

        self.form = TaurusForm(self, withButtons=False)
        self.form.setItemFactories(include=(parameter_item,))
        self.form.setModel([f"{device}/{a}" for a in PARAMETERS])
        state = value_label(f"{device}/State", self, 80, coloured=True)
        state.setAlignment(Qt.Qt.AlignCenter)
        self.status = TaurusLabel(self)
        self.status.setModel(f"{device}/Status")
        self.status.setBgRole("none")
        self.status.setWordWrap(True)
        self.status.setAlignment(Qt.Qt.AlignLeft | Qt.Qt.AlignVCenter)
        start = TaurusCommandButton(command="start_regulation", text="Regulate", parent=self)
        start.setModel(device)
        start.setToolTip("regulate at the current setpoint")
        stop = TaurusCommandButton(command="stop_regulation", text="Stop", parent=self)
        stop.setModel(device)
        stop.setToolTip("stop regulating: the output goes to its safe value")

        buttons = Qt.QHBoxLayout()
        buttons.addWidget(state)
        buttons.addWidget(start)
        buttons.addWidget(stop)
        left = Qt.QVBoxLayout()
        left.addLayout(buttons)
        left.addWidget(self.status)
        left.addWidget(self.form, 1)
        left_widget = Qt.QWidget(self)
        left_widget.setLayout(left)
        left_widget.setMinimumWidth(560)
        right = Qt.QVBoxLayout()
        right.addWidget(self.trend, 3)
        right.addWidget(self.output_trend, 1)
        layout = Qt.QHBoxLayout(self)
        layout.addWidget(left_widget)
        layout.addLayout(right, 1)


class RegulationPanel(DeviceTabs):
    """setModel([loop devices])."""

    view_class = LoopView
