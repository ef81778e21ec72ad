"""AxisManager device classes served by the real `AxisManager` server in its own
process, its devices registered in a BeaconDB as the tree implies, on a tree and a
settings Redis the test owns: device-level tests through Tango clients."""

from __future__ import annotations

import itertools
import os
from contextlib import contextmanager
from pathlib import Path

from helpers.axis_e2e import _axis_manager_on, register_axis_devices
from helpers.tango_db import BeaconDBProcess

_STACKS = itertools.count()
#: the demo's mockup and slit axes: the icepap's would look for their instrument
DEMO_AXES = ("m0", "m1", "sl_up", "sl_down", "sl_vgap", "sl_voffset")


def _put_event_period(tango_host: str, devices: list[str], period: float) -> None:
    import tango

    host, port = tango_host.rsplit(":", 1)
    db = tango.Database(host, int(port))
    for name in devices:
        db.put_device_property(name, {"EventPeriod": [str(period)]})


@contextmanager
def axis_context(tree: Path, redis_url: str, axes=DEMO_AXES, event_period: float | None = None):
    """Yield {device name: fully qualified access} of the given axes of the tree and
    their manager (one `AxisManager demo` serving only those, on a BeaconDB of its own,
    stopped after)."""
    work = tree.parent / f"axis-stack-{os.getpid()}-{next(_STACKS)}"
    work.mkdir()
    db = BeaconDBProcess(work / "db").start()
    env = {"TANGO_HOST": db.tango_host, "BLISSTANGO_CONFIG": str(tree),
           "BLISSTANGO_SETTINGS_REDIS": redis_url}
    registered: dict[str, list[str]] = {}

    def register() -> None:
        registered.update(register_axis_devices(db.tango_host, tree, set(axes)))
        if event_period is not None:
            _put_event_period(db.tango_host, registered.get("demo", []), event_period)

    with _axis_manager_on(db, env, work, before=register) as server:
        names = [*registered.get("demo", []), server.manager.split("/", 3)[-1]]
        yield {name: f"tango://{db.tango_host}/{name}" for name in names}
