"""How the configuration maps onto AxisManager devices (for core/config/servers.py)."""

from __future__ import annotations

from typing import Any

from blisstango.core.config.servers import ServerKind, tango_override


def is_axis(node: Any) -> bool:
    """emotion objects written inside a controller's `axes` (real or calc), not references."""
    parent = node.parent
    if node.plugin != "emotion" or parent is None or "class" not in parent:
        return False
    return any(isinstance(i, dict) and i.get("name") == node.name for i in parent.get("axes", []) or [])


def instance_of(node: Any) -> str:
    """The controller's `tango: {server: ...}`, else "default"."""
    return str(tango_override(node, "server") or "default")


SERVER_KIND = ServerKind(server="AxisManager", device_class="BlissAxis", family="axis",
                         select=is_axis, instance=instance_of,
                         manager_class="AxisManagerDevice")
