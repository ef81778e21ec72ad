"""How the configuration implies LimaBridge servers (for core/config/servers.py).

Every object with `plugin: lima` is exported as `<domain>/lima/<name>` (class LimaBridge),
served by the instance its `tango: {server: ...}` names, else by one of its own (a bridge
killed takes only its detector with it). Other processes (a ScanServer, the shell) use the
device through core.lima.remote.RemoteLima, a counter controller.
"""

from __future__ import annotations

from typing import Any

from blisstango.core.config.servers import ServerKind, tango_override

PLUGIN = "lima"


def is_detector(node: Any) -> bool:
    return node.plugin == PLUGIN


def instance_of(node: Any) -> str:
    return str(tango_override(node, "server") or node.name)


SERVER_KIND = ServerKind(server="LimaBridge", device_class="LimaBridge", family="lima",
                         select=is_detector, instance=instance_of,
                         clients={"LimaBridge": "blisstango.core.lima.remote:RemoteLima.from_entry"},
                         plugins=(PLUGIN,))
