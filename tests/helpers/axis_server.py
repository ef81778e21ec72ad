"""AxisManager device classes in a tango.test_context (its own process), on a copy of
the demo tree and a real settings Redis: unit-level tests of the device classes."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

DEMO_AXES = ("m0", "m1", "sl_up", "sl_down", "sl_vgap", "sl_voffset")


def _fresh_tango_gevent_executor() -> None:
    """A test context forks this process: the child must not inherit PyTango's gevent
    executor and thread pools (their threads do not exist there; the server would hang)."""
    try:
        from tango import gevent_executor as ge
    except ImportError:
        return
    ge._MAIN_EXECUTOR = None
    ge._THREAD_POOL = None
    ge._THREAD_EXECUTORS.clear()


os.register_at_fork(after_in_child=_fresh_tango_gevent_executor)
MANAGER = "demo/axismanager/demo"


@contextmanager
def axis_context(tree: Path, redis_url: str, axes=DEMO_AXES, event_period: float | None = None):
    """Yield {device name: access string} for demo/axis/<name> + the manager device."""
    from tango.test_context import MultiDeviceTestContext

    from blisstango.servers.AxisManager.axis_device import BlissAxis
    from blisstango.servers.AxisManager.manager_device import AxisManagerDevice

    props = {} if event_period is None else {"EventPeriod": event_period}
    devices = [
        {"class": BlissAxis, "devices": [{"name": f"demo/axis/{n}", "properties": {"ObjectName": n, **props}}
                                         for n in axes]},
        {"class": AxisManagerDevice, "devices": [{"name": MANAGER}]},
    ]
    old = {k: os.environ.get(k) for k in ("BLISSTANGO_CONFIG", "BLISSTANGO_SETTINGS_REDIS")}
    os.environ["BLISSTANGO_CONFIG"] = str(tree)
    os.environ["BLISSTANGO_SETTINGS_REDIS"] = redis_url
    try:
        with MultiDeviceTestContext(devices, process=True, timeout=30) as ctx:
            yield {name: ctx.get_device_access(name)
                   for name in [f"demo/axis/{n}" for n in axes] + [MANAGER]}
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def copy_demo(demo_config: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "beamline"
    shutil.copytree(demo_config, dst)
    return dst
