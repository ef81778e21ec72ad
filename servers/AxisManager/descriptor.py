"""How the configuration maps onto AxisManager devices (for core/config/servers.py)."""

from __future__ import annotations

from typing import Any

from blisstango.core.comm.simulators import simulators_for
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
    # YAML limits are dial values; Position is a user value (user = sign * dial + offset)
    sign = -1.0 if float(node.get("sign", 1) or 1) < 0 else 1.0
    offset = float(node.get("offset", 0.0) or 0.0)
    user = sorted(sign * float(node[k]) + offset for k in ("low_limit", "high_limit")
                  if node.get(k) is not None)
    if len(user) == 2:
        props["Position"]["min_alarm"], props["Position"]["max_alarm"] = repr(user[0]), repr(user[1])
    elif user:  # one limit only: it bounds the side its dial key names, after the sign
        key = "low_limit" if node.get("low_limit") is not None else "high_limit"
        prop = "min_alarm" if (key == "low_limit") == (sign > 0) else "max_alarm"
        props["Position"][prop] = repr(user[0])
    return props


SERVER_KIND = ServerKind(server="AxisManager", device_class="BlissAxis", family="axis",
                         select=is_axis, instance=instance_of,
                         manager_class="AxisManagerDevice",
                         attribute_properties=attribute_properties,
                         simulators=simulators_for,
                         clients={"BlissAxis": "blisstango.core.motion.axis_proxy:session_client"},
                         plugins=("emotion",))
