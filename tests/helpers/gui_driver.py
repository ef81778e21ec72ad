"""A blisstango Taurus GUI (or the standalone plot window) in a process of its own, Qt
offscreen, driven by a test through stdin/stdout, one JSON object per line.

    python gui_driver.py gui SESSION [--synoptic PATH]
    python gui_driver.py plot SESSION
    python gui_driver.py taurus SESSION CONF   (Taurus's own launcher, `taurus gui CONF`,
                                                run unchanged: the driver joins its loop)
    python gui_driver.py form FILE       (a TaurusForm of the models in FILE, one a line:
                                          what `taurus form` shows; benchmarks' peer)

Runs the application's event loop (app.exec_(), as `blisstango gui` does). Prints
{"ready": true, "startup": s} once the window is built, shown and the loop runs, then
answers each request:
    {"exec": "python statements"}                      -> {"ok": true}
    {"eval": "expr", "until": "expr", "timeout": s}    -> {"ok": true, "value": ..., "at": t}
`until` (optional) is evaluated every 20 ms of the event loop; when it becomes true (or
the timeout passes: "ok": false) `eval` is evaluated and `at` is the time.time() at which
`until` was seen true. Closing stdin quits the application. The namespace holds gui/window, panel(name), app, Qt,
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
    from pyqtgraph.Qt import QtTest  # the binding Taurus uses
    from taurus.external.qt import Qt
    from taurus.qt.qtgui.application import TaurusApplication

    from blisstango.taurus_gui import app as gui_app

    if what == "taurus":
        return taurus_launcher(session, sys.argv[3], t0)
    app = TaurusApplication([sys.argv[0]], cmd_line_parser=None, app_name=f"blisstango-test-{what}",
                            org_name="blisstango")
    ns: dict = {"app": app, "Qt": Qt, "QTest": QtTest.QTest, "np": np, "taurus": taurus, "time": time}
    if what == "gui":
        gui = gui_app.build_gui(session, synoptic)
        gui.resize(1400, 860)
        gui.show()
        ns.update(gui=gui, window=gui, panel=lambda name: gui.getPanel(name).widget())
    elif what == "form":
        from taurus.qt.qtgui.panel import TaurusForm

        form = TaurusForm()
        form.setModel([m for m in open(session).read().split() if m])
        form.resize(900, 700)
        form.show()
        ns.update(window=form, form=form)
    else:
        plot = gui_app.PlotWindow(session)
        plot.window.show()
        ns.update(window=plot.window, panel=lambda name: plot.panel)

    def run_events(ms: int = 20) -> None:
        loop = Qt.QEventLoop()
        Qt.QTimer.singleShot(ms, loop.quit)
        loop.exec_()

    ns["run_events"] = run_events
    ns["showing_values"] = lambda: showing_values(ns["window"])
    driver = Driver(ns, Qt)
    Qt.QTimer.singleShot(0, lambda: driver.say({"ready": True, "startup": time.monotonic() - t0}))
    return app.exec_()     # Taurus's application: its polling timers start only once it runs


def taurus_launcher(session: str, conf: str, t0: float) -> int:
    """`taurus gui CONF` (CONF: what `blisstango gui --conf-path` prints) as the `taurus` console script runs it
    (taurus.cli.main, its `gui` command building the TaurusGui from the file); the driver
    joins when that command starts the application's event loop."""
    import os

    import taurus
    from pyqtgraph.Qt import QtTest
    from taurus.cli import main as taurus_main
    from taurus.external.qt import Qt
    from taurus.qt.qtgui.application import TaurusApplication
    from taurus.qt.qtgui.taurusgui import TaurusGui

    os.environ["BLISSTANGO_SESSION"] = session
    run_loop = TaurusApplication.exec_     # a staticmethod

    def exec_with_driver(*args):
        app = Qt.QApplication.instance()
        guis = [w for w in app.topLevelWidgets() if isinstance(w, TaurusGui)]
        assert len(guis) == 1, f"`taurus gui` made {len(guis)} TaurusGui windows"
        gui = guis[0]
        ns = {"app": app, "Qt": Qt, "QTest": QtTest.QTest, "np": np, "taurus": taurus, "time": time,
              "gui": gui, "window": gui, "panel": lambda name: gui.getPanel(name).widget()}
        ns["showing_values"] = lambda: showing_values(gui)
        app.driver = Driver(ns, Qt)
        Qt.QTimer.singleShot(0, lambda: Driver.say({"ready": True, "startup": time.monotonic() - t0}))
        return run_loop(*args)

    TaurusApplication.exec_ = staticmethod(exec_with_driver)
    sys.argv = ["taurus", "gui", conf]
    try:
        return taurus_main()
    except SystemExit as end:    # click's standalone mode ends with the command's exit code
        return end.code or 0


def showing_values(window) -> bool:
    """Every value widget of the window shows a value: Taurus labels (the form's read
    widgets too) have text, the MCA its spectra, trends a first point, the synoptic a
    colour per item, the scan plot the last scan (when the ScanServer has one)."""
    from taurus.qt.qtgui.display import TaurusLabel

    for label in window.findChildren(TaurusLabel):
        model = label.getModelName() or ""
        if model and "#" not in model and label.text().strip() in ("", "-----", "None"):
            return False     # (a units label, `...#rvalue.units`, is empty for unitless values)
    for w in window.findChildren(object):
        name = type(w).__name__
        if name == "McaView" and (len(w.energy) == 0 or len(w.spectra) < len(w.elements)):
            return False
        if name == "TaurusTrend" and any(len(ts) == 0 for ts in w.getTrendSets()):
            return False
        if name == "SynopticPanel" and set(w.items()) - set(w.item_colours()):
            return False
        if name == "ScanPanel" and w.feed is not None and w.feed.latest() is not None and w.view is None:
            return False
    return True


class Driver:
    """Requests read from stdin while the application's event loop runs: an `until`
    condition is checked every 20 ms of that loop (the GUI keeps running meanwhile)."""

    def __init__(self, ns: dict, qt) -> None:
        import os

        self.ns, self.qt = ns, qt
        self.buf = b""
        self.pending: tuple[dict, float] | None = None
        self.fd = sys.stdin.fileno()
        os.set_blocking(self.fd, False)
        self.notifier = qt.QSocketNotifier(self.fd, qt.QSocketNotifier.Read)
        self.notifier.activated.connect(self.on_input)
        self.timer = qt.QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self.check)

    @staticmethod
    def say(reply: dict) -> None:
        print(json.dumps(reply, default=repr), flush=True)

    def on_input(self, *_args) -> None:
        import os

        try:
            chunk = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        if not chunk:                      # the test closed our stdin: quit
            self.notifier.setEnabled(False)
            self.qt.QApplication.instance().quit()
            return
        self.buf += chunk
        while b"\n" in self.buf and self.pending is None:
            line, self.buf = self.buf.split(b"\n", 1)
            if line.strip():
                self.start(json.loads(line))

    def start(self, req: dict) -> None:
        try:
            if "exec" in req:
                exec(req["exec"], self.ns)  # noqa: S102 - the test's own instructions
                self.say({"ok": True})
                return
        except Exception:  # noqa: BLE001 - reported to the test, which fails with it
            self.say({"ok": False, "error": traceback.format_exc()})
            return
        self.pending = (req, time.monotonic() + float(req.get("timeout", 10)))
        self.check()
        if self.pending is not None:
            self.timer.start()

    def check(self) -> None:
        if self.pending is None:
            return
        req, deadline = self.pending
        try:
            until = req.get("until")
            done = not until or eval(until, self.ns)  # noqa: S307
            if not done and time.monotonic() < deadline:
                return
            value = eval(req["eval"], self.ns) if req.get("eval") else None  # noqa: S307
            reply = {"ok": bool(done), "value": jsonable(value), "at": time.time()}
        except Exception:  # noqa: BLE001
            reply = {"ok": False, "error": traceback.format_exc()}
        self.pending = None
        self.timer.stop()
        self.say(reply)
        if b"\n" in self.buf:
            self.qt.QTimer.singleShot(0, self.on_input_buffered)

    def on_input_buffered(self) -> None:
        while b"\n" in self.buf and self.pending is None:
            line, self.buf = self.buf.split(b"\n", 1)
            if line.strip():
                self.start(json.loads(line))


if __name__ == "__main__":
    sys.exit(main())
