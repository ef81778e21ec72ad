"""Where a server process finds the YAML tree of the objects it drives.

BLISSTANGO_CONFIG (a local folder) if set, else the folder the Beacon device
(`sys/beacon/1`, attribute ConfigRoot) serves, reached through TANGO_HOST: a server runs
on a host that sees the beamline's configuration files.
"""

from __future__ import annotations

import os
from pathlib import Path

BEACON_DEVICE = "sys/beacon/1"


def config_root() -> Path:
    env = os.environ.get("BLISSTANGO_CONFIG")
    if env:
        return Path(env)
    import tango

    try:
        root = tango.DeviceProxy(BEACON_DEVICE).read_attribute("ConfigRoot").value
    except tango.DevFailed as exc:
        raise RuntimeError(f"no configuration: BLISSTANGO_CONFIG unset and {BEACON_DEVICE} "
                           f"(TANGO_HOST={os.environ.get('TANGO_HOST')}) did not answer: "
                           f"{exc.args[0].desc.strip()}") from None
    return Path(root)
