"""The Taurus GUI of the demo session (`blisstango gui -s demo`), offscreen, in a process of
its own, against a real demo stack: what a scientist sees in each panel equals what the
devices hold, it follows what other clients do, its widgets drive the devices, the
synoptic parses into real devices whose colours follow their states and whose clicks
open panels, and Taurus follows every attribute by change events (never its 3 s poll).

Screenshots of the main window, the synoptic and the scan plot are saved in the test's
folder (and in $BLISSTANGO_SCREENSHOTS when set: `make screenshots` puts the README's in
docs/).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tango
from helpers.demo_stack import DemoStack
from helpers.gui import GuiProcess, gui_env
from helpers.procs import kill_tree, start
from helpers.waiting import device_answers

from blisstango.clients.scan_events import RecordFollower
from blisstango.taurus_gui.detector_panel import PARAMETERS

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

AXES = ["m0", "m1", "sl_down", "sl_up", "sl_vgap", "sl_voffset", "sx", "sy", "th", "tth"]
MOVING_COLOUR = "#80a0ff"   # Taurus's colour of State MOVING
ON_COLOUR = "#00ff00"
TANGOTEST = "/usr/lib/tango/TangoTest"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    st = DemoStack(tmp_path_factory.mktemp("gui_stack")).up()
    yield st
    st.down()


@pytest.fixture(scope="module")
def gui(stack, tmp_path_factory):
    with GuiProcess("gui", "demo", stack.tango_host, tmp_path_factory.mktemp("gui")) as g:
        # every panel has its values (Taurus read them through their first events)
        g.eval("1", until="all(panel('Motors').axis_row(a) is not None and "
                          "panel('Motors').axis_row(a).readWidget().text() not in ('', '-----') "
                          f"for a in {AXES!r})", timeout=60)
        yield g


def dev(stack, name: str) -> tango.DeviceProxy:
    return stack.device(name)


def wait_state(proxy: tango.DeviceProxy, states, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while proxy.state() not in states:
        assert time.monotonic() < deadline, f"{proxy.name()} still {proxy.state()} after {timeout} s"
        time.sleep(0.05)


def screenshot_dirs(tmp: Path) -> list[Path]:
    dirs = [tmp]
    if os.environ.get("BLISSTANGO_SCREENSHOTS"):
        dirs.append(Path(os.environ["BLISSTANGO_SCREENSHOTS"]))
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    return dirs


def save_screenshot(gui: GuiProcess, widget: str, name: str, tmp: Path) -> Path:
    paths = [d / name for d in screenshot_dirs(tmp)]
    for p in paths:
        assert gui.eval(f"{widget}.grab().save({str(p)!r})"), f"{name} not saved"
    # a real picture: many colours, not a blank or one-colour window
    colours = gui.eval(f"(lambda im: len({{im.pixel(x, y) for x in range(0, im.width(), 7) "
                       f"for y in range(0, im.height(), 7)}}))(Qt.QImage({str(paths[0])!r}))")
    assert colours > 8, f"{name}: {colours} colours, an empty picture"
    return paths[0]


# ---- the frame -------------------------------------------------------------------------
def test_every_panel_of_the_session_is_shown(gui):
    panels = gui.eval("sorted(gui.getPanelNames())")
    assert {"Synoptic", "Motors", "Scan", "Detector", "MCA", "Regulation", "Wago"} <= set(panels)
    for name in panels:
        assert gui.eval(f"gui.getPanel({name!r}).widget() is not None")
    # every axis of the session (IcePAP's th and tth, the slits' calc axes too), each once
    assert sorted(gui.eval("panel('Motors').shown_devices()")) == sorted(f"demo/axis/{a}" for a in AXES)
    assert gui.eval("panel('Scan').getModel()") == "demo/scan/demo"
    assert gui.eval("panel('MCA').getModel()") == ["demo/mca/mca1"]
    assert gui.eval("panel('Detector').getModel()") == ["demo/lima/cam1"]
    assert set(gui.eval("panel('Wago').getModel()")) == {"demo/wago/wago1", "demo/valve/valve1",
                                                         "demo/shutter/shutter1"}


def test_taurus_gui_launcher_opens_the_same_gui(gui, stack, tmp_path):
    """Taurus's own launcher, `taurus gui <the file blisstango gui --conf-path prints>`,
    opens the same panels on the same models, all showing values (it adds its Manual)."""
    conf = subprocess.run([str(Path(sys.executable).with_name("blisstango")), "gui", "--conf-path"],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    assert Path(conf).is_file(), conf
    models = "{n: getattr(gui.getPanel(n).widget(), 'getModel', lambda: None)() for n in gui.getPanelNames()}"
    ours = gui.eval(models)
    with GuiProcess("taurus", "demo", stack.tango_host, tmp_path, conf) as launched:
        theirs = launched.eval(models)
        assert theirs.pop("Manual", "none") is None       # Taurus's web manual panel
        assert theirs == ours
        assert launched.eval("showing_values()", until="showing_values()", timeout=60)
        m0 = dev(stack, "demo/axis/m0")
        expected = m0.get_attribute_config("Position").format % m0.Position
        label = "panel('Motors').axis_row('m0').readWidget().text()"
        assert launched.eval(label, until=f"{label} == {expected!r}") == expected
        assert launched.eval("panel('Synoptic').error") == ""
        assert launched.eval("sorted(panel('Synoptic').items())") == gui.eval("sorted(panel('Synoptic').items())")


# ---- Motors --------------------------------------------------------------------------------
def test_motors_panel_shows_each_axis_position_with_its_unit(gui, stack):
    for axis in AXES:
        proxy = dev(stack, f"demo/axis/{axis}")
        cfg = proxy.get_attribute_config("Position")
        expected = cfg.format % proxy.Position
        row = f"panel('Motors').axis_row({axis!r})"
        text, unit = gui.eval(f"[{row}.readWidget().text(), {row}.unitsWidget().text()]",
                              until=f"{row}.readWidget().text() == {expected!r}", timeout=20)
        assert (text, unit) == (expected, cfg.unit), axis
        dial = gui.eval(f"{row}.cells().labels['Dial_position'].text()")
        assert dial == f"{cfg.format % proxy.Dial_position} {cfg.unit}"


def test_motors_panel_follows_a_move_made_by_another_client(gui, stack):
    m0 = dev(stack, "demo/axis/m0")
    start = float(m0.Position)
    target = 3.0 if abs(start - 3.0) > 1 else -1.0
    expected = m0.get_attribute_config("Position").format % target
    label = "panel('Motors').axis_row('m0').readWidget()"
    gui.exec("seen = []")
    # the GUI watches while the test moves the axis from its own client
    gui.send({"eval": "seen", "until": f"seen.append({label}.text()) or {label}.text() == {expected!r}",
              "timeout": 30})
    m0.Position = target
    reply = gui.receive(30)
    assert reply["ok"], f"the Motors panel never showed {expected}: {reply['value'][-5:]}"
    shown = [s for s in dict.fromkeys(reply["value"]) if s not in ("", "-----")]
    assert len(shown) >= 4, f"no motion followed, only {shown}"   # start, moving values..., end
    wait_state(m0, (tango.DevState.ON,))
    assert gui.eval(f"{label}.text()") == expected
    # the "move to" field shows the other client's target, not a pending edit of its own
    move_to = "panel('Motors').axis_row('m0').writeWidget().text()"
    assert gui.eval(move_to, until=f"{move_to} == {expected!r}", timeout=10) == expected


def test_a_value_typed_in_the_motors_panel_moves_the_axis(gui, stack):
    m1 = dev(stack, "demo/axis/m1")
    target = 12.5 if abs(float(m1.Position) - 12.5) > 1 else 4.0
    gui.exec("w = panel('Motors').axis_row('m1').writeWidget(); w.setFocus(); w.selectAll(); "
             f"QTest.keyClicks(w, {str(target)!r}); QTest.keyClick(w, Qt.Qt.Key_Return)")
    deadline = time.monotonic() + 30
    while abs(float(m1.Position) - target) > 1e-6 or m1.state() != tango.DevState.ON:
        assert time.monotonic() < deadline, f"m1 at {m1.Position}, {m1.state()}: the panel's write did not move it"
        time.sleep(0.05)


# ---- Scan ------------------------------------------------------------------------------------
def scan_points(stack, attrs: list[str]) -> dict[str, list[float]]:
    scan = dev(stack, "demo/scan/demo")
    return {a: np.asarray(scan.read_attribute(a).value, float).tolist() for a in attrs}


def test_an_ascan_from_another_client_is_plotted_point_for_point(gui, stack):
    scan = dev(stack, "demo/scan/demo")
    n = scan.ascan(["m0", "0", "5", "20", "0.02", "diode"])
    view = "panel('Scan').view"
    gui.eval("1", until=f"{view} is not None and {view}.number == {n} and {view}.ended", timeout=120)
    assert scan.WaitScan(60)
    x, y = gui.eval("panel('Scan').plot.curve_data('simulation:diode')")
    points = scan_points(stack, ["m0", "diode"])
    assert len(points["m0"]) == 21
    assert (x, y) == (points["m0"], points["diode"])
    assert gui.eval("panel('Scan').x_channel()") == "axis:m0"
    assert gui.eval("panel('Scan').number.text()") == f"#{n}"
    assert gui.eval("panel('Scan').progress.value()", until="panel('Scan').progress.value() == 100.0") == 100.0


def test_the_previous_scan_stays_until_the_next_starts_and_plotselect_is_kept(gui, stack):
    shown = gui.eval("panel('Scan').view.number")
    gui.exec("panel('Scan').select('diode')")
    scan = dev(stack, "demo/scan/demo")
    scan.ct(["0.01", "diode"])                      # a count is no scan to plot
    assert scan.WaitScan(30)
    assert gui.eval("panel('Scan').view.number") == shown
    n = scan.dscan(["m0", "-0.5", "0.5", "4", "0.01", "diode", "diode2"])
    gui.eval("1", until=f"panel('Scan').view.number == {n} and panel('Scan').view.ended", timeout=120)
    assert gui.eval("[c.rsplit(':', 1)[-1] for c in panel('Scan').selected_channels()]") == ["diode"]
    assert gui.eval("sorted(panel('Scan').plot.curves)") == ["simulation:diode"]


def test_a_mesh_scan_is_shown_as_an_image(gui, stack):
    scan = dev(stack, "demo/scan/demo")
    n = scan.amesh(["sx", "-1", "1", "4", "sy", "-1", "1", "3", "0.01", "diode"])
    gui.eval("1", until=f"panel('Scan').view.number == {n} and panel('Scan').view.ended", timeout=180)
    assert gui.eval("panel('Scan').plot.showing_mesh")
    image = np.asarray(gui.eval("panel('Scan').plot.mesh_image"))
    diode = scan_points(stack, ["diode"])["diode"]
    assert image.shape == (4, 5)
    assert np.array_equal(image, np.asarray(diode).reshape(4, 5))


def test_stop_in_the_scan_panel_stops_the_scan(gui, stack):
    scan = dev(stack, "demo/scan/demo")
    # the cursor stays in m1's "move to" field, where a value was typed and applied
    gui.exec("panel('Motors').axis_row('m1').writeWidget().setFocus()")
    follower = RecordFollower(scan)
    try:
        n = scan.ascan(["m1", "0", "10", "400", "0.05", "diode2"])
        gui.eval("1", until=f"panel('Scan').view is not None and panel('Scan').view.number == {n} "
                            "and panel('Scan').view.npoints >= 2", timeout=60)
        gui.exec("QTest.mouseClick(panel('Scan').stop_button, Qt.Qt.LeftButton)")
        record = follower.wait_end(n, 60)
    finally:
        follower.close()
    assert record.end_reason == "USER_STOP"
    assert 2 <= record.npoints < 401
    gui.eval("1", until=f"panel('Scan').view.number == {n} and panel('Scan').view.end_reason == 'USER_STOP'")
    # the scan moved m1 by group moves: its "move to" field shows where the scan left it
    # (focus alone is no edit: nothing typed there is waiting for Enter)
    m1 = dev(stack, "demo/axis/m1")
    wait_state(m1, (tango.DevState.ON,))
    left_at = m1.get_attribute_config("Position").format % m1.Position
    move_to = "panel('Motors').axis_row('m1').writeWidget().text()"
    assert gui.eval(move_to, until=f"{move_to} == {left_at!r}", timeout=10) == left_at


# ---- Detector, MCA, Regulation, Wago -----------------------------------------------------------
def test_detector_panel_shows_the_live_image_with_its_rois(gui, stack, tmp_path):
    bridge = dev(stack, "demo/lima/cam1")
    view = "panel('Detector').views['demo/lima/cam1']"
    gui.exec("gui.getPanel('Detector').raise_()")
    m0 = dev(stack, "demo/axis/m0")
    m0.Position = 2.5                              # the beam's brightest (docs/lima.md)
    wait_state(m0, (tango.DevState.ON,))
    scan = dev(stack, "demo/scan/demo")
    scan.ct(["0.1", "cam1"])                       # from another client
    assert scan.WaitScan(60)
    # the detector's state as the bridge pushes it, in the panel and the synoptic
    state = f"{view}.state_label.text()"
    assert gui.eval(state, until=f"{state} == 'ON'", timeout=15) == "ON"
    colour = "panel('Synoptic').item_colours().get('demo/lima/cam1')"
    assert gui.eval(colour, until=f"{colour} == {ON_COLOUR!r}", timeout=15) == ON_COLOUR
    frame = np.asarray(bridge.image)
    assert frame.shape == (512, 512) and frame.max() > frame.min()
    # the frame the bridge holds is the one shown (its image events), pixel for pixel
    digest = "__import__('hashlib').sha1(np.ascontiguousarray({}, dtype=np.uint16)).hexdigest()"
    expected = hashlib.sha1(np.ascontiguousarray(frame, dtype=np.uint16)).hexdigest()
    shown = gui.eval(digest.format(f"{view}.image"),
                     until=f"{digest.format(f'{view}.image')} == {expected!r}", timeout=30)
    assert shown == expected
    # the ROIs drawn are the bridge's; one set from another client is drawn at once
    assert gui.eval(f"{view}.drawn_rois()") == json.loads(bridge.roi_counters)
    bridge.SetRoi(([300, 200, 50, 40], ["gui_test"]))
    try:
        rois = json.loads(bridge.roi_counters)
        assert rois["gui_test"] == [300, 200, 50, 40]
        assert gui.eval(f"{view}.drawn_rois()", until=f"{view}.drawn_rois() == {rois!r}", timeout=10) == rois
    finally:
        save_screenshot(gui, "gui.getPanel('Detector')", "gui-detector.png", tmp_path)
        bridge.RemoveRoi("gui_test")
    assert "gui_test" not in gui.eval(f"{view}.drawn_rois()", until=f"'gui_test' not in {view}.drawn_rois()")
    # the camera's acquisition parameters: what the count set
    camera = dev(stack, gui.eval(f"{view}.camera"))
    expected = (camera.get_attribute_config("acq_expo_time").format % camera.acq_expo_time).strip()
    expo = f"{view}.parameters['acq_expo_time'].text()"
    # polled (a Lima server pushes no events for them): within the GUI's poll period
    assert gui.eval(expo, until=f"{expo}.split()[0] == {expected!r}", timeout=15).split()[0] == expected


def test_mca_panel_shows_spectra_rois_and_statistics(gui, stack):
    mca = dev(stack, "demo/mca/mca1")
    mca.PresetValue = 0.2
    mca.StartAcquisition()
    view = "panel('MCA').views['demo/mca/mca1']"
    wait_state(mca, (tango.DevState.ON,))
    expected = {e: np.asarray(mca.read_attribute(f"spectrum_det{e}").value).tolist() for e in range(4)}
    spectra = gui.eval(f"{{e: s.tolist() for e, s in {view}.spectra.items()}}",
                       until=f"all({view}.spectra.get(e) is not None and {view}.spectra[e].tolist() == "
                             f"{expected!r}[e] for e in range(4))", timeout=20)
    assert spectra == {str(e): expected[e] for e in range(4)}
    rois = json.loads(mca.Rois)
    energy = np.asarray(mca.Energy)
    marked = gui.eval(f"{view}.roi_energies()")
    assert set(marked) == set(rois)
    for name, (first, end) in rois.items():
        assert marked[name] == pytest.approx([energy[first], energy[end - 1]])
    icr = np.asarray(mca.Icr)
    table = gui.eval(f"[{view}.table.item(r, 0).text() for r in range(4)]",
                     until=f"{view}.table.item(3, 0) is not None and {view}.table.item(3, 0).text() == "
                           f"{f'{icr[3]:.0f}'!r}")
    assert table == [f"{v:.0f}" for v in icr]


def test_regulation_panel_follows_the_loop_and_its_setpoint_field_drives_it(gui, stack):
    """sample_temp (the demo furnace, time constant 2.5 s): a setpoint typed in the panel
    starts the regulation; setpoint, working setpoint, input and output shown (labels and
    trends) follow the loop; Stop puts the output to its safe value, seen in the panel."""
    loop = dev(stack, "demo/loop/sample_temp")
    view = "panel('Regulation').views['demo/loop/sample_temp']"
    gui.exec(f"gui.getPanel('Regulation').raise_(); panel('Regulation').setCurrentWidget({view})")
    row = f"(lambda a: [i for i in {view}.form.getItems() if i.getModelName().lower().endswith('/' + a)][0])"
    fmt = {a: loop.get_attribute_config(a).format for a in ("setpoint", "input_value", "output_value")}
    # the write fields show what the loop holds (its gains from the YAML), not Taurus's 0
    kp = f"{row}('kp').writeWidget().text()"
    assert float(gui.eval(kp, until=f"float({kp}) == {loop.kp!r}", timeout=10)) == loop.kp != 0
    # ... and a setpoint another client sets
    before = round(float(loop.input_value), 1)
    loop.setpoint = before
    shown = f"{row}('setpoint').writeWidget().text()"
    expected = fmt["setpoint"] % before
    assert gui.eval(shown, until=f"{shown} == {expected!r}", timeout=10) == expected
    target = round(before + 8.0, 1)            # well inside 0..120 degC, a few seconds away
    written_at = time.time()
    gui.exec(f"w = {row}('setpoint').writeWidget(); w.setFocus(); w.selectAll(); "
             f"QTest.keyClicks(w, {str(target)!r}); QTest.keyClick(w, Qt.Qt.Key_Return)")
    deadline = time.monotonic() + 60
    while loop.setpoint != target or loop.state() != tango.DevState.ON:   # regulating, settled
        assert time.monotonic() < deadline, f"{loop.setpoint}, {loop.state()}: the panel's setpoint did not drive the loop"
        time.sleep(0.1)
    text = f"{row}({{!r}}).readWidget().text()"
    for attr in ("setpoint", "working_setpoint"):       # the ramp is over: both at the target
        expected = fmt["setpoint"] % target
        assert gui.eval(text.format(attr), until=f"{text.format(attr)} == {expected!r}", timeout=10) == expected
    # the input shown follows the furnace to the target (within the loop's deadband)
    deadband = float(loop.deadband)
    value = gui.eval(text.format("input_value"),
                     until=f"abs(float({text.format('input_value')}) - {target}) <= {deadband}", timeout=10)
    assert abs(float(value) - target) <= deadband and abs(float(loop.input_value) - target) <= deadband
    # the trends drew the way there: input from where it was, setpoint, and output heating
    curves = ("{ts.getModelName().rsplit('/', 1)[-1].lower(): [c.getData() for c in ts] "
              f"for t in ({view}.trend, {view}.output_trend) for ts in t.getTrendSets()}}")
    since = (f"{{a: [float(y) for c in cs for x, y in zip(*c) if x >= {written_at}] "
             f"for a, cs in ({curves}).items()}}")
    trends = gui.eval(since, until=f"len(({since})['input_value']) > 5")
    assert min(trends["input_value"]) < before + 1.0 and max(trends["input_value"]) > target - deadband
    assert trends["setpoint"][-1] == target and max(trends["output_value"]) > 0.0
    # Stop from the panel: the heater goes to its safe value (0 %), shown as such
    gui.exec(f"QTest.mouseClick([b for b in {view}.findChildren(Qt.QPushButton) if b.text() == 'Stop'][0], "
             "Qt.Qt.LeftButton)")
    wait_state(loop, (tango.DevState.OFF,))
    assert float(loop.output_value) == 0.0
    zero = fmt["output_value"] % 0.0
    assert gui.eval(text.format("output_value"), until=f"{text.format('output_value')} == {zero!r}") == zero


def test_wago_panel_opens_a_valve(gui, stack):
    valve = dev(stack, "demo/valve/valve1")
    if valve.state() != tango.DevState.CLOSE:
        valve.Close()
        wait_state(valve, (tango.DevState.CLOSE,))
    gui.exec("QTest.mouseClick(panel('Wago').actuators['demo/valve/valve1']['Open'], Qt.Qt.LeftButton)")
    wait_state(valve, (tango.DevState.OPEN,))
    gui.eval("1", until="panel('Wago').actuators['demo/valve/valve1']['state'].text() == 'OPEN'")
    valve.Close()
    wait_state(valve, (tango.DevState.CLOSE,))
    gui.eval("1", until="panel('Wago').actuators['demo/valve/valve1']['state'].text() == 'CLOSE'")


# ---- Synoptic ------------------------------------------------------------------------------------
def test_synoptic_parses_into_real_devices(gui, stack, tmp_path):
    assert gui.eval("panel('Synoptic').error") == ""
    items = gui.eval("panel('Synoptic').items()")
    db = tango.Database("127.0.0.1", stack.port)
    exported = {d.lower() for d in db.get_device_exported("*")}
    assert items, "the synoptic has no item named by a device"
    for item in items:
        assert item.lower() in exported, f"synoptic item {item} is no exported device"
        dev(stack, item).ping()
    assert {"demo/axis/m0", "demo/scan/demo", "demo/mca/mca1", "demo/valve/valve1",
            "demo/shutter/shutter1", "demo/lima/cam1"} <= set(items)
    save_screenshot(gui, "panel('Synoptic')", "gui-synoptic.png", tmp_path)


def test_synoptic_item_colour_follows_the_device_state(gui, stack):
    m0 = dev(stack, "demo/axis/m0")
    wait_state(m0, (tango.DevState.ON,))
    colour = "panel('Synoptic').item_colours().get('demo/axis/m0')"
    assert gui.eval(colour, until=f"{colour} == {ON_COLOUR!r}") == ON_COLOUR
    gui.send({"eval": colour, "until": f"{colour} == {MOVING_COLOUR!r}", "timeout": 30})
    m0.Position = -4.0 if float(m0.Position) > 0 else 4.0
    assert gui.receive(30)["ok"], "m0's item never took the MOVING colour"
    wait_state(m0, (tango.DevState.ON,))
    assert gui.eval(colour, until=f"{colour} == {ON_COLOUR!r}") == ON_COLOUR


def test_a_click_on_a_synoptic_item_opens_its_panel(gui):
    tab = ("[t.tabText(t.currentIndex()) for t in gui.findChildren(Qt.QTabBar) "
           "if 'Motors' in [t.tabText(i) for i in range(t.count())]][0]")
    for item, panel in (("demo/axis/m0", "Motors"), ("demo/valve/valve1", "Wago"), ("demo/mca/mca1", "MCA"),
                        ("demo/loop/sample_temp", "Regulation"), ("demo/lima/cam1", "Detector")):
        gui.exec("gui.getPanel('Scan').raise_()")
        assert gui.eval(tab) == "Scan"
        gui.exec(f"v = panel('Synoptic').view; it = [i for i in v.scene().items() if getattr(i, '_name', '') == "
                 f"{item!r}][0]; QTest.mouseClick(v.viewport(), Qt.Qt.LeftButton, Qt.Qt.NoModifier, "
                 "v.mapFromScene(it.sceneBoundingRect().center()))")
        assert gui.eval(tab, until=f"{tab} == {panel!r}", timeout=10) == panel
    assert gui.eval("panel('Motors').marked") == "demo/axis/m0"


# ---- events, not polling ---------------------------------------------------------------------------
def test_taurus_follows_every_attribute_by_change_events(gui, tmp_path):
    """Every attribute of our devices by events; a Lima camera's parameters (a real Lima
    server pushes no events for them) are polled, at the GUI's period."""
    gui.exec("[gui.getPanel(p).raise_() for p in gui.getPanelNames()]")
    gui.exec("third_party = lambda n: any(f'/{v.camera.lower()}/' in n.lower() "
             "for v in panel('Detector').views.values())")
    attrs = gui.eval("{n: [a.isUsingEvents(), a.isPollingActive(), third_party(n)] for n, a in "
                     "taurus.Factory('tango').getExistingAttributes().items() if a.hasListeners()}",
                     until="all(a.isUsingEvents() for n, a in taurus.Factory('tango').getExistingAttributes().items() "
                           "if a.hasListeners() and not third_party(n))", timeout=30)
    assert len(attrs) > 60
    polled = {n: v[:2] for n, v in attrs.items() if v[:2] != [True, False]}
    assert all(v == [False, True] for v in polled.values()), polled   # by events or polled
    ours = {n for n in polled if not attrs[n][2]}
    assert not ours, f"attributes Taurus polls instead of following events: {ours}"
    assert {n.rsplit("/", 1)[-1] for n in polled} == {a for _, a in PARAMETERS}
    gui.exec("gui.getPanel('Motors').raise_()")
    save_screenshot(gui, "window", "gui-main.png", tmp_path)


def test_attributes_without_events_are_polled_at_the_period_set(gui, stack, tmp_path):
    """A third-party device that pushes no events (Debian's C++ TangoTest, registered in
    the beamline's database): polled at the period `blisstango gui --poll-period` sets,
    and its value follows."""
    db = tango.Database("127.0.0.1", stack.port)
    info = tango.DbDevInfo()
    info.name, info._class, info.server = "test/gui/tangotest", "TangoTest", "TangoTest/gui"
    db.add_device(info)
    env = dict(os.environ, TANGO_HOST=stack.tango_host)
    proc = start([TANGOTEST, "gui"], tmp_path / "tangotest.log", env=env)
    try:
        deadline = time.monotonic() + 30
        while not device_answers(f"tango://{stack.tango_host}/test/gui/tangotest"):
            assert proc.poll() is None and time.monotonic() < deadline, "TangoTest did not start"
            time.sleep(0.1)
        gui.exec("from blisstango.taurus_gui.app import set_poll_period; set_poll_period(0.5); "
                 "from taurus.qt.qtgui.display import TaurusLabel; tl = TaurusLabel(); "
                 "tl.setModel('test/gui/tangotest/ampli')")
        period = gui.eval("tl.getModelObj().getPollingPeriod()", until="tl.getModelObj().isPollingActive()")
        assert period == 500
        dev(stack, "test/gui/tangotest").ampli = 7.25
        assert gui.eval("tl.text()", until="tl.text().startswith('7.25')", timeout=10).startswith("7.25")
    finally:
        gui.exec("tl.setModel(''); tl.deleteLater()")
        kill_tree(proc.pid)
        db.delete_server("TangoTest/gui")


# ---- the standalone plot -----------------------------------------------------------------------------
def test_blisstango_plot_window_follows_scans(stack, tmp_path):
    with GuiProcess("plot", "demo", stack.tango_host, tmp_path) as plot:
        scan = dev(stack, "demo/scan/demo")
        n = scan.ascan(["m0", "0", "5", "40", "0.01", "diode"])
        plot.eval("1", until=f"panel('').view is not None and panel('').view.number == {n} and panel('').view.ended",
                  timeout=120)
        x, y = plot.eval("panel('').plot.curve_data('simulation:diode')")
        points = scan_points(stack, ["m0", "diode"])
        assert (x, y) == (points["m0"], points["diode"])
        save_screenshot(plot, "window", "gui-scan.png", tmp_path)


def test_shell_plot_opens_one_plot_window(stack, tmp_path, monkeypatch):
    from blisstango.clients.itango_profile import plot as shell_plot

    for key, value in gui_env(stack.tango_host, tmp_path / "home").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    window = shell_plot.open_plot("demo")
    try:
        assert shell_plot.open_plot("demo") is window      # already open: the same window
        assert window.args[-3:] == ["plot", "-s", "demo"]
        log = shell_plot.log_file("demo")
        deadline = time.monotonic() + 90
        while "following demo/scan/demo" not in log.read_text():
            assert window.poll() is None, f"blisstango plot exited: {log.read_text()}"
            assert time.monotonic() < deadline, f"no plot window after 90 s: {log.read_text()}"
            time.sleep(0.1)
    finally:
        shell_plot.close_plot()
    assert window.poll() is not None
