"""How the configuration implies the NexusWriter (for core/config/servers.py).

One writer per configuration: every session selects the instance "default", whose one
device `<domain>/writer/default` follows the scans of every session. No device per
session (those names belong to the ScanServer).
"""

from __future__ import annotations

from typing import Any

from blisstango.core.config.servers import ServerKind, tango_override

INSTANCE = "default"


def is_session(node: Any) -> bool:
    return node.plugin == "session"


def instance_of(node: Any) -> str:
    """A session's `tango: {writer: ...}` names another writer instance, else "default"."""
    return str(tango_override(node, "writer") or INSTANCE)


SERVER_KIND = ServerKind(server="NexusWriter", device_class="NexusWriter", family="writer",
                         select=is_session, instance=instance_of, manager_class="NexusWriter",
                         object_devices=False, manager_family="writer")
