"""A blisstango Taurus GUI (or the standalone plot window) in a process of its own, Qt
offscreen, driven by a test through stdin/stdout, one JSON object per line.

    python gui_driver.py gui SESSION [--synoptic PATH]   |   python gui_driver.py plot SESSION

Prints {"ready": true, "startup": s} once the window is built and shown, then answers
each request:
    {"exec": "python statements"}                      -> {"ok": true}
    {"eval": "expr", "until": "expr", "timeout": s}    -> {"ok": true, "value": ..., "at": t}
`until` (optional) is evaluated while Qt runs its event loop; when it becomes true (or
the timeout passes: "ok": false) `eval` is evaluated and `at` is the time.time() at which
`until` was first seen true. The namespace holds gui/window, panel(name), app, Qt,
QTest, np, taurus, time, and whatever `exec` put there. The process runs in whatever
TANGO_HOST and HOME the test gives it (a writable HOME: Taurus writes JDraw parser
tables there).
"""

from __future__ import annotations

import json
import sys
import time
import traceback

import numpy as np


def jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def main() -> int:
    t0 = time.monotonic()
    what, session = sys.argv[1], sys.argv[2]
    synoptic = sys.argv[sys.argv.index("--synoptic") + 1] if "--synoptic" in sys.argv else None
    import taurus
    from taurus.external.qt import Qt
    from pyqtgraph.Qt import QtTest  # the binding Taurus uses
    from taurus.qt.qtgui.application import TaurusApplication

    from blisstango.taurus_gui import app as gui_app

    app = TaurusApplication([sys.argv[0]], cmd_line_parser=None, app_name=f"blisstango-test-{what}",
                            org_name="blisstango")
    ns: dict = {"app": app, "Qt": Qt, "QTest": QtTest.QTest, "np": np, "taurus": taurus, "time": time}
    if what == "gui":
        gui = gui_app.build_gui(session, synoptic)
        gui.resize(1400, 860)
        gui.show()
        ns.update(gui=gui, window=gui, panel=lambda name: gui.getPanel(name).widget())
    else:
        plot = gui_app.PlotWindow(session)
        plot.window.show()
        ns.update(window=plot.window, panel=lambda name: plot.panel)

    def run_events(ms: int = 20) -> None:
        loop = Qt.QEventLoop()
        Qt.QTimer.singleShot(ms, loop.quit)
        loop.exec_()

    ns["run_events"] = run_events
    run_events(1)
    print(json.dumps({"ready": True, "startup": time.monotonic() - t0}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            if "exec" in req:
                exec(req["exec"], ns)  # noqa: S102 - the test's own instructions
                run_events(1)
                reply = {"ok": True}
            else:
                deadline = time.monotonic() + float(req.get("timeout", 10))
                until = req.get("until")
                ok, at = True, time.time()
                if until:
                    while not eval(until, ns):  # noqa: S307
                        if time.monotonic() > deadline:
                            ok = False
                            break
                        run_events()
                    at = time.time()
                value = eval(req["eval"], ns) if req.get("eval") else None  # noqa: S307
                reply = {"ok": ok, "value": jsonable(value), "at": at}
        except Exception:  # noqa: BLE001 - reported to the test, which fails with it
            reply = {"ok": False, "error": traceback.format_exc()}
        print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
