"""Child process: a TaurusForm on one attribute, rendered offscreen; prints the text
its read widget displays (JSON lines) whenever it changes, until its stdin is closed
(the parent has seen what it waited for) or at the latest after `duration` seconds."""

from __future__ import annotations

import json
import os
import select
import stat
import sys
import time


def main(model: str, duration: float) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from taurus.external.qt import Qt
    from taurus.qt.qtgui.application import TaurusApplication
    from taurus.qt.qtgui.panel import TaurusForm

    app = TaurusApplication(sys.argv[:1], cmd_line_parser=None)
    form = TaurusForm()
    form.setModel([model])
    form.show()
    last = None
    # a parent that gave a pipe as stdin stops the child by closing it (an inherited
    # terminal or /dev/null is not watched)
    watched = [sys.stdin] if stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode) else []
    end = time.monotonic() + duration
    while time.monotonic() < end:
        app.processEvents(Qt.QEventLoop.AllEvents, 20)
        item = form[0]
        read, units = item.readWidget(), item.unitsWidget()
        text = read.text() if read is not None else ""
        unit = units.text() if units is not None and units.isVisible() else ""
        if (text, unit) != last:
            last = (text, unit)
            print(json.dumps({"t": time.monotonic(), "text": text, "unit": unit}), flush=True)
        if select.select(watched, [], [], 0.01)[0] and not sys.stdin.readline():
            break  # the parent is done
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
