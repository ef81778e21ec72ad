"""Synoptics as Taurus reads them: the demo's drawing (examples/demo_beamline/sessions/
demo.jdw) and one the generator draws from a session's objects parse with Taurus's own
JDraw parser (its result is checked: it returns None on errors and only logs), and
every item named by a device names one the configuration exports (core's tango view).
Parsed in a process of its own (Qt offscreen, a HOME for the parser's tables), items not
connected (delayed models: no database needed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from blisstango.core.config import load_tree
from blisstango.core.config.tango_view import tango_view
from blisstango.taurus_gui.session_view import GuiObject, SessionView
from blisstango.taurus_gui.synoptic_gen import draw, stations

pytestmark = pytest.mark.e2e

PARSE = r"""
import json, sys
from taurus.external.qt import Qt
app = Qt.QApplication([])
from taurus.qt.qtgui.graphic import TaurusGraphicsScene, TaurusJDrawGraphicsFactory
from taurus.qt.qtgui.graphic.jdraw.jdraw_parser import parse
scene = parse(sys.argv[1], TaurusJDrawGraphicsFactory(None, delayed=True))
if not isinstance(scene, TaurusGraphicsScene):
    print(json.dumps({"scene": repr(scene)}))
    sys.exit(0)
items = [i for i in scene.items() if getattr(i, "_name", "")]
texts = [i.toPlainText() for i in scene.items() if hasattr(i, "toPlainText")]
r = scene.itemsBoundingRect()
print(json.dumps({"scene": "TaurusGraphicsScene", "names": sorted({i._name for i in items}), "texts": texts,
                  "size": [r.width(), r.height()]}))
"""


def parse(path, tmp_path) -> dict:
    env = {"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin",
           "TANGO_HOST": "127.0.0.1:1"}
    res = subprocess.run([sys.executable, "-c", PARSE, str(path)], capture_output=True, text=True, timeout=120,
                         env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def demo_devices(demo_config) -> set[str]:
    return {d.name.lower() for d in tango_view(load_tree(demo_config)).devices.values()}


def test_the_demo_synoptic_parses_into_devices_of_the_demo(demo_config, tmp_path):
    result = parse(demo_config / "sessions" / "demo.jdw", tmp_path)
    assert result["scene"] == "TaurusGraphicsScene"
    devices = demo_devices(demo_config)
    assert result["names"], "no item is named by a device"
    assert set(n.lower() for n in result["names"]) <= devices, set(result["names"]) - devices
    for element in ("demo/shutter/shutter1", "demo/valve/valve1", "demo/axis/sl_up", "demo/axis/sl_down",
                    "demo/axis/sx", "demo/axis/th", "demo/axis/tth", "demo/loop/sample_temp",
                    "demo/loop/cryo_loop", "demo/mca/mca1", "demo/lima/cam1"):
        assert element in result["names"]
    for label in ("source", "shutter", "slits", "sample stage", "furnace", "2D detector"):
        assert label in result["texts"]


def test_a_generated_synoptic_draws_every_object_and_parses(demo_config, tmp_path):
    view = SessionView("demo", [
        GuiObject("demo", "demo/scan/demo", "ScanServer"),
        *(GuiObject(a, f"demo/axis/{a}", "BlissAxis") for a in ("m0", "m1", "sl_up", "sl_down", "sl_vgap", "sx")),
        GuiObject("mca1", "demo/mca/mca1", "Mca"), GuiObject("cam1", "demo/lima/cam1", "LimaBridge"),
        GuiObject("valve1", "demo/valve/valve1", "WagoValve"),
        GuiObject("shutter1", "demo/shutter/shutter1", "WagoShutter"), GuiObject("wago1", "demo/wago/wago1", "Wago"),
        GuiObject("sample_temp", "demo/loop/sample_temp", "Loop"),
        GuiObject("sample_tc", "demo/input/sample_tc", "Input")])
    # along the beam: shutter, valve, the slit axes as one station, the others, furnace, MCA, camera
    assert [t for t, _ in stations(view)] == ["shutter shutter1", "valve valve1", "m0", "m1", "sl", "sx",
                                             "furnace sample_temp", "fluorescence mca1", "detector cam1"]
    path = tmp_path / "generated.jdw"
    path.write_text(draw(view).text())
    result = parse(path, tmp_path)
    assert result["scene"] == "TaurusGraphicsScene"
    drawn = {o.device for o in view.objects if o.klass != "Input"}   # an input belongs to its loop
    assert set(result["names"]) == drawn
    assert set(result["names"]) <= demo_devices(demo_config)
    for obj in view.objects:
        if obj.klass != "Input":
            assert obj.name in result["texts"] or obj.klass == "ScanServer"
    width, height = result["size"]
    assert width > height > 200     # a beamline: wider than tall
