"""How the configuration implies ScanServer devices (for core/config/servers.py).

One device per session object, `<domain>/scan/<session>`, served by the instance named
after the session (a session's `tango: {server: ...}` may group several in one process),
and beside it the session's Procedures device `<domain>/procedure/<session>`.
"""

from __future__ import annotations

from typing import Any

from blisstango.core.config.servers import ServerKind, tango_override
from blisstango.core.procedures import DEVICE_FAMILY as PROCEDURE_FAMILY


def is_session(node: Any) -> bool:
    return node.plugin == "session"


def instance_of(node: Any) -> str:
    own = node.get("tango") if isinstance(node.get("tango"), dict) else {}
    return str(own.get("server") or tango_override(node, "scan_server") or node.name)


SERVER_KIND = ServerKind(server="ScanServer", device_class="ScanServer", family="scan",
                         select=is_session, instance=instance_of, plugins=("session",),
                         sub_devices=((PROCEDURE_FAMILY, "Procedures"),))
