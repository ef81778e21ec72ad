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


def attribute_properties(node: Any) -> dict[str, dict[str, str]]:
    """Per-device attribute properties derived from an axis' YAML (unit, format, label,
    Position alarm range = configured limits), for a database that derives them instead of
    storing what the device would otherwise write at its first start."""
    import math

    spu = abs(float(node.get("steps_per_unit", 1.0) or 1.0))
    fmt = f"%.{max(1, min(8, math.ceil(math.log10(max(1.0, spu)))))}f"
    unit = str(node.get("unit", "") or "")
    props: dict[str, dict[str, str]] = {}
    for name in ("Position", "Dial_position", "Measured_Position", "Offset", "Backlash",
                 "Tolerance", "Limits", "Low_limit", "High_limit", "Home_position"):
        props[name] = {"unit": unit, "format": fmt,
                       "label": f"{node.name} {name.replace('_', ' ').lower()}"}
    for name, u in (("Velocity", f"{unit}/s"), ("Acceleration", f"{unit}/s2"), ("AccTime", "s")):
        props[name] = {"unit": u, "format": "%.4f"}
    for key, prop in (("low_limit", "min_alarm"), ("high_limit", "max_alarm")):
        if node.get(key) is not None:
            props["Position"][prop] = repr(float(node[key]))
    return props
