"""Which configuration object a device serves: the one rule of every server whose
devices face YAML objects (AxisManager, Mca, Regulation, Wago).

A device names its object by a device property (ObjectName; the Wago also takes BLISS's
beacon_name), else by its alias in the Tango database (BeaconDB gives each object's
device the object's name as alias), else by the last field of its name (a server run
without a database). The object itself comes from the process's one ObjectFactory
(core.config.root.process_object), so devices sharing a controller share one object.

    try:
        self.axis = process_object(object_name(self, self.ObjectName), Axis, "motion axis")
    except Exception as exc:  # servers.errors: the device stays up in FAULT and says why
        init_failed(self, f"{object_name(self, self.ObjectName)}: cannot build the axis: {exc}", exc)
"""

from __future__ import annotations

from typing import Any

import tango


def uses_database() -> bool:
    """False in a server run without a database (nodb, a file database): nothing there
    to ask for aliases or attribute properties."""
    try:
        return bool(tango.Util._UseDb) and not bool(tango.Util._FileDb)
    except Exception:  # noqa: BLE001 - no Util yet (a test building a device class)
        return True


def object_name(device: Any, *names: str) -> str:
    """The configuration object's name: the first non-empty of `names` (device
    properties), else the device's alias, else the last field of its Tango name."""
    for name in names:
        if name:
            return name
    if uses_database():
        try:
            return tango.Database().get_alias_from_device(device.get_name())
        except tango.DevFailed:
            pass
    return device.get_name().rsplit("/", 1)[-1]


__all__ = ["object_name", "uses_database"]
