"""A first synoptic of any session, drawn from its objects: the beam from the source
through shutters, valves, slits and stages to the detectors, one station per group of
objects, each object a box named by its Tango device (State colour, click opens its
panel), the controllers and the ScanServer below. A person then moves things around
in Jive's JDraw editor: the file is plain JDraw.

    blisstango synoptic -s demo -o demo.jdw
"""

from __future__ import annotations

from .jdraw import Drawing
from .session_view import GuiObject, SessionView

BEAM = (230, 80, 30)
GREY = (200, 200, 200)
DARK = (60, 60, 60)
#: order of the kinds along the beam, then what stays off the beam
BEAM_ORDER = ("WagoShutter", "WagoValve", "BlissAxis", "Loop", "Mca", "LimaBridge")
OFF_BEAM = ("Wago", "ScanServer")
STATION_TITLES = {"WagoShutter": "shutter", "WagoValve": "valve", "Loop": "furnace", "Mca": "fluorescence",
                  "LimaBridge": "detector"}

BOX_W, BOX_H, GAP = 104, 26, 6
STATION_W = 128
BEAM_Y = 190


def stations(view: SessionView) -> list[tuple[str, list[GuiObject]]]:
    """(title, objects) along the beam. Axes sharing a name prefix (`sl_up`, `sl_down`,
    `sl_vgap`) form one station titled by the prefix; other objects one station each."""
    out: list[tuple[str, list[GuiObject]]] = []
    for klass in BEAM_ORDER:
        objs = [o for o in view.objects if o.klass == klass]
        if klass != "BlissAxis":
            out.extend((f"{STATION_TITLES.get(klass, klass)} {o.name}", [o]) for o in objs)
            continue
        groups: dict[str, list[GuiObject]] = {}
        for o in objs:
            prefix = o.name.split("_", 1)[0] if "_" in o.name else o.name
            groups.setdefault(prefix, []).append(o)
        out.extend((prefix if len(members) > 1 else members[0].name, members) for prefix, members in groups.items())
    return out


def draw(view: SessionView) -> Drawing:
    """The drawing of a session (see the module's docstring)."""
    d = Drawing()
    line = stations(view)
    width = 140 + STATION_W * max(1, len(line))
    tallest = max((len(objs) for _, objs in line), default=1)
    beam_y = max(BEAM_Y, 110 + (tallest * (BOX_H + GAP)) // 2)
    d.label(16, 12, 420, 26, f"{view.name} beamline", size=16, bold=True, align=1)
    d.label(16, 38, 520, 18, "colour = Tango state; click an element to open its panel", size=12,
            colour=DARK, align=1)
    d.line(30, beam_y, width - 20, beam_y, BEAM, 3)
    d.ellipse(24, beam_y - 24, 56, 48, "", background=GREY)
    d.label(14, beam_y + 28, 76, 18, "source", size=12, bold=True)
    for i, (title, objs) in enumerate(line):
        x = 110 + i * STATION_W
        height = len(objs) * BOX_H + (len(objs) - 1) * GAP
        top = beam_y - height / 2
        d.label(x - 8, top - 26, BOX_W + 16, 20, title, size=12, bold=True)
        for j, obj in enumerate(objs):
            y = top + j * (BOX_H + GAP)
            shape = d.ellipse if obj.klass == "WagoValve" else d.round_rect if obj.klass == "Loop" else d.rect
            shape(x, y, BOX_W, BOX_H, obj.device, background=GREY)
            d.label(x, y + 3, BOX_W, BOX_H - 6, obj.name, size=12, bold=True)
    off = [o for klass in OFF_BEAM for o in view.objects if o.klass == klass]
    y = beam_y + 90 + (tallest * (BOX_H + GAP)) // 2
    if off:
        d.label(16, y - 26, 300, 20, "controllers and services", size=12, bold=True, align=1)
    for i, obj in enumerate(off):
        x = 30 + i * (BOX_W + 24)
        d.rect(x, y, BOX_W, BOX_H, obj.device, background=GREY)
        d.label(x, y + 3, BOX_W, BOX_H - 6, obj.name if obj.klass != "ScanServer" else "scans", size=12,
                bold=True)
    return d


def synoptic_text(view: SessionView) -> str:
    return draw(view).text()
