"""AxisManager device classes in a tango.test_context (its own process), on a copy of
the demo tree and a real settings Redis: unit-level tests of the device classes."""

from __future__ import annotations

import os
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


def axis_devices(tree: Path, axes=DEMO_AXES) -> tuple[dict[str, str], str]:
    """({axis: device name}, manager device name) as core's tango view of the tree names them."""
    from blisstango.core.config import load_tree
    from blisstango.core.config.tango_view import tango_view
    from blisstango.servers.AxisManager.descriptor import SERVER_KIND

    view = tango_view(load_tree(tree), [SERVER_KIND])
    names = {a: view.aliases[a.lower()].name for a in axes}
    servers = {view.aliases[a.lower()].server for a in axes}
    manager = [d.name for d in view.devices.values() if d.server in servers and d.klass == SERVER_KIND.manager_class]
    return names, manager[0]


@contextmanager
def axis_context(tree: Path, redis_url: str, axes=DEMO_AXES, event_period: float | None = None):
    """Yield {device name: access string} for the axes' devices + their manager device
    (one AxisManager instance), named as core's tango view of the tree names them."""
    from tango.test_context import MultiDeviceTestContext

    from blisstango.servers.AxisManager.axis_device import BlissAxis
    from blisstango.servers.AxisManager.manager_device import AxisManagerDevice

    names, manager = axis_devices(tree, axes)
    props = {} if event_period is None else {"EventPeriod": event_period}
    devices = [
        {"class": BlissAxis, "devices": [{"name": names[n], "properties": {"ObjectName": n, **props}}
                                         for n in axes]},
        {"class": AxisManagerDevice, "devices": [{"name": manager}]},
    ]
    old = {k: os.environ.get(k) for k in ("BLISSTANGO_CONFIG", "BLISSTANGO_SETTINGS_REDIS")}
    os.environ["BLISSTANGO_CONFIG"] = str(tree)
    os.environ["BLISSTANGO_SETTINGS_REDIS"] = redis_url
    try:
        with MultiDeviceTestContext(devices, process=True, timeout=30) as ctx:
            yield {name: ctx.get_device_access(name) for name in [*names.values(), manager]}
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

