"""How the configuration maps onto Regulation devices (for core/config/servers.py): one
server kind whose class_of tells Loop (`<domain>/loop/<name>`), Input
(`<domain>/input/<name>`) and Output (`<domain>/output/<name>`) apart, all served by
`Regulation <instance>`."""

from __future__ import annotations

from typing import Any

from blisstango.core.comm.simulators import simulators_for
from blisstango.core.config.servers import ServerKind, tango_override

SERVER = "Regulation"
PLUGIN = "regulation"


def _listed_in(node: Any, key: str) -> bool:
    parent = node.parent
    if node.plugin != PLUGIN or parent is None:
        return False
    return any(isinstance(i, dict) and i.get("name") == node.name for i in parent.get(key, []) or [])


def _top_level(node: Any, klass: str) -> bool:
    return node.plugin == PLUGIN and node.parent is None and node.get("class") == klass


def is_loop(node: Any) -> bool:
    return _top_level(node, "SoftLoop") or _listed_in(node, "ctrl_loops")


def is_input(node: Any) -> bool:
    return _top_level(node, "ExternalInput") or _listed_in(node, "inputs")


def is_output(node: Any) -> bool:
    return _top_level(node, "ExternalOutput") or _listed_in(node, "outputs")


def instance_of(node: Any) -> str:
    """`tango: {server: ...}` of the object or its controller, else "default". A loop
    and the inputs/outputs it uses must be served by the same instance (one owner of
    the hardware)."""
    return str(tango_override(node, "server") or "default")


def _unit_of(node: Any) -> str:
    return str(node.get("unit", "") or "")


def _input_unit(node: Any) -> str:
    """A loop's unit is its input's (the reference `$name` looked up in the tree)."""
    ref = node.get("input")
    tree = getattr(node, "tree", None)
    if isinstance(ref, str) and ref.startswith("$") and tree is not None and ref[1:] in tree:
        return _unit_of(tree[ref[1:]])
    return _unit_of(node)


def _output_unit(node: Any) -> str:
    ref = node.get("output")
    tree = getattr(node, "tree", None)
    if isinstance(ref, str) and ref.startswith("$") and tree is not None and ref[1:] in tree:
        return _unit_of(tree[ref[1:]])
    return ""


def _props(unit: str, fmt: str = "%.3f", label: str | None = None) -> dict[str, str]:
    out = {"unit": unit, "format": fmt}
    if label:
        out["label"] = label
    return out


def loop_attribute_properties(node: Any) -> dict[str, dict[str, str]]:
    u, out = _input_unit(node), _output_unit(node)
    props = {name: _props(u, label=f"{node.name} {name.replace('_', ' ')}")
             for name in ("setpoint", "working_setpoint", "input_value", "axis_position", "deadband",
                          "setpoint_low_limit", "setpoint_high_limit")}
    props["output_value"] = _props(out, label=f"{node.name} output")
    props["ramprate"] = _props(f"{u}/s" if u else "")
    props["deadband_time"] = _props("s", "%.2f")
    props["sampling_frequency"] = _props("Hz", "%.2f")
    for name in ("kp", "ki", "kd", "pid_range_low", "pid_range_high", "deadband_idle_factor"):
        props[name] = _props("", "%.4g")
    return props


def io_attribute_properties(node: Any) -> dict[str, dict[str, str]]:
    u = _unit_of(node)
    props = {"value": _props(u, label=node.name), "target_read": _props(u)}
    if is_output(node):
        for name in ("set_value", "limit_low", "limit_high", "safe_value"):
            props[name] = _props(u)
        props["ramprate"] = _props(f"{u}/s" if u else "")
    return props


def is_regulation_device(node: Any) -> bool:
    return is_loop(node) or is_input(node) or is_output(node)


def class_of(node: Any) -> tuple[str, str]:
    """(Tango class, family) of a selected node."""
    if is_loop(node):
        return "Loop", "loop"
    if is_input(node):
        return "Input", "input"
    return "Output", "output"


def attribute_properties(node: Any) -> dict[str, dict[str, str]]:
    return loop_attribute_properties(node) if is_loop(node) else io_attribute_properties(node)


SERVER_KIND = ServerKind(server=SERVER, device_class="Loop", family="loop", select=is_regulation_device,
                         instance=instance_of, attribute_properties=attribute_properties, class_of=class_of,
                         simulators=simulators_for,
                         clients={"Loop": "blisstango.core.regulation.client:loop_client",
                                  "Input": "blisstango.core.regulation.client:io_client",
                                  "Output": "blisstango.core.regulation.client:io_client"},
                         plugins=(PLUGIN,))
"""`Regulation <instance>`: Loop, Input and Output devices of one server kind."""
