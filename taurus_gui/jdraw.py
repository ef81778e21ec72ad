"""Writing JDraw (.jdw) drawings: the text format of ESRF's JDraw editor (Jive), which
Taurus's TaurusJDrawSynopticsView renders.

Only what both read is written: JDRectangle, JDRoundRectangle, JDEllipse, JDLine,
JDLabel, JDGroup (`children: { ... }`), with summit, origin, foreground, background,
fillStyle, lineWidth, name, text, font and alignments. An item whose `name` is a Tango
device is drawn in the colour of the device's State by Taurus and selects that device
when clicked; an item named "" is decoration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Colour = tuple[int, int, int]
BLACK: Colour = (0, 0, 0)
WHITE: Colour = (255, 255, 255)


def _quote(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'


@dataclass
class Item:
    """A rectangular JDraw object (x, y: top left; w, h: size)."""

    kind: str                     # JDRectangle, JDRoundRectangle, JDEllipse, JDLabel, JDLine, JDGroup
    # (a JDLine goes from (x, y) to (x + w, y + h); a label's text may have several lines)
    x: float
    y: float
    w: float
    h: float
    name: str = ""
    foreground: Colour = BLACK
    background: Colour | None = None      # filled when given
    line_width: int = 1
    text: str = ""
    font: tuple[str, int, int] = ("Dialog", 0, 12)   # family, style (1 bold, 2 italic), size
    h_align: int = 0              # 0 centre, 1 left, 2 right
    children: list[Item] = field(default_factory=list)
    extensions: dict[str, str] = field(default_factory=dict)

    def lines(self, indent: int = 1) -> list[str]:
        pad = "  " * indent
        x1, y1, x2, y2 = self.x, self.y, self.x + self.w, self.y + self.h
        out = [f"{pad}{self.kind} {{"]
        out.append(f"{pad}  summit:{x1:g},{y1:g},{x2:g},{y2:g}")
        out.append(f"{pad}  origin:{(x1 + x2) / 2:g},{(y1 + y2) / 2:g}")
        if self.foreground != BLACK:
            out.append(f"{pad}  foreground:{','.join(map(str, self.foreground))}")
        if self.background is not None:
            out.append(f"{pad}  background:{','.join(map(str, self.background))}")
            out.append(f"{pad}  fillStyle:1")
        if self.line_width != 1:
            out.append(f"{pad}  lineWidth:{self.line_width}")
        out.append(f"{pad}  name:{_quote(self.name)}")
        if self.kind == "JDLabel":
            out.append(f"{pad}  font:{_quote(self.font[0])},{self.font[1]},{self.font[2]}")
            out.append(f"{pad}  text:{','.join(_quote(line) for line in self.text.split(chr(10)))}")
            if self.h_align:
                out.append(f"{pad}  hAlignment:{self.h_align}")
        if self.extensions:
            out.append(f"{pad}  extensions:{{")
            for k, v in self.extensions.items():
                out.append(f"{pad}    {k}:{_quote(v)}")
            out.append(f"{pad}  }}")
        if self.kind == "JDGroup":
            out.append(f"{pad}  children:{{")
            for child in self.children:
                out.extend(child.lines(indent + 2))
            out.append(f"{pad}  }}")
        out.append(f"{pad}}}")
        return out


class Drawing:
    """A JDraw drawing built item by item, written with `text()`."""

    def __init__(self) -> None:
        self.items: list[Item] = []

    def add(self, item: Item) -> Item:
        self.items.append(item)
        return item

    def rect(self, x: float, y: float, w: float, h: float, name: str = "", **kw) -> Item:
        return self.add(Item("JDRectangle", x, y, w, h, name, **kw))

    def round_rect(self, x: float, y: float, w: float, h: float, name: str = "", **kw) -> Item:
        return self.add(Item("JDRoundRectangle", x, y, w, h, name, **kw))

    def ellipse(self, x: float, y: float, w: float, h: float, name: str = "", **kw) -> Item:
        return self.add(Item("JDEllipse", x, y, w, h, name, **kw))

    def line(self, x1: float, y1: float, x2: float, y2: float, colour: Colour = BLACK, width: int = 1) -> Item:
        return self.add(Item("JDLine", x1, y1, x2 - x1, y2 - y1, "", foreground=colour, line_width=width))

    def label(self, x: float, y: float, w: float, h: float, text: str, size: int = 12, bold: bool = False,
              colour: Colour = BLACK, align: int = 0, name: str = "") -> Item:
        return self.add(Item("JDLabel", x, y, w, h, name, foreground=colour, line_width=0, text=text,
                             font=("Dialog", 1 if bold else 0, size), h_align=align))

    def text(self) -> str:
        body = [line for item in self.items for line in item.lines()]
        return "\n".join(["JDFile v11 {", "  Global {", "    background:255,255,255", "  }", *body, "}", ""])

    def named(self) -> list[str]:
        """Names of the items that are Tango models."""
        out: list[str] = []

        def walk(items: list[Item]) -> None:
            for it in items:
                if it.name:
                    out.append(it.name)
                walk(it.children)

        walk(self.items)
        return out
