"""Where a server process finds the configuration tree it serves: BLISSTANGO_CONFIG (a
local folder), else the Beacon device's ConfigRoot through TANGO_HOST."""

from __future__ import annotations

import os
from pathlib import Path


def config_root() -> Path:
    """The tree's root folder; RuntimeError naming the Beacon device and TANGO_HOST when
    neither answers."""
    env = os.environ.get("BLISSTANGO_CONFIG")
    if env:
        return Path(env)
    import tango

    beacon = "sys/beacon/1"
    try:
        from blisstango.core.beacon import BEACON_DEVICE as beacon  # noqa: N811
    except ImportError:
        pass
    try:
        root = tango.DeviceProxy(beacon).read_attribute("ConfigRoot").value
    except tango.DevFailed as exc:
        raise RuntimeError(f"no configuration: BLISSTANGO_CONFIG unset and {beacon} "
                           f"(TANGO_HOST={os.environ.get('TANGO_HOST')}) did not answer: "
                           f"{exc.args[0].desc.strip()}") from None
    return Path(root)
