"""How the configuration maps onto Wago server devices (for core/config/servers.py).

Every `wago` object becomes a device: a coupler (class Wago) `<domain>/wago/<name>`, a
valve (WagoValve) `<domain>/valve/<name>`, a shutter (WagoShutter) `<domain>/shutter/<name>`.
A coupler is served by the instance its `tango: {server: ...}` names, else its own name;
a valve or shutter by the instance of its Wago (they share its controller). The database
serves each coupler attribute's unit, format and description from the YAML. Other
processes use the devices through core.wago.client.
"""

from __future__ import annotations

import socket
from typing import Any

from blisstango.core.config.servers import ServerKind, Simulator, tango_override
from blisstango.core.wago.actuator import CLASSES

WAGO_CLASS = "Wago"


def _class(node: Any) -> str:
    return str(node.get("class") or WAGO_CLASS)


def is_wago_device(node: Any) -> bool:
    return node.plugin == "wago" and (_class(node) == WAGO_CLASS or _class(node) in CLASSES)


def class_of(node: Any) -> tuple[str, str]:
    klass = _class(node)
    return (klass, CLASSES[klass]) if klass in CLASSES else (WAGO_CLASS, "wago")


def _wago_of(node: Any) -> Any:
    ref = node.get("wago")
    name = getattr(ref, "name", ref)
    name = name[1:] if isinstance(name, str) and name.startswith("$") else name
    tree = getattr(node, "tree", None)
    return tree.get(str(name)) if tree is not None and name else None


def instance_of(node: Any) -> str:
    if _class(node) in CLASSES:
        wago = _wago_of(node)
        if wago is not None:
            return instance_of(wago)
    return str(tango_override(node, "server") or node.name)


def attribute_properties(node: Any) -> dict[str, dict[str, str]]:
    """unit, format, label, description per logical name of a coupler (none for actuators)."""
    if _class(node) != WAGO_CLASS:
        return {}
    from blisstango.core.wago.mapping import WagoMapping

    cfg = node.to_dict()
    mapping = WagoMapping.from_config(cfg, name=node.name, file=node.file, line=node.line)
    units = dict(cfg.get("units") or {})
    out = {}
    for name in mapping.names:
        info = mapping.name_info(name, units)
        out[name] = {"unit": info.unit, "format": info.format, "label": name, "description": info.description}
    return out


def simulators(node: Any) -> list[Simulator]:
    """A coupler emulator for a Wago whose YAML has `emulator:`, on a port free now (kept
    across its restarts); it announces its address in the Wago's Beacon settings."""
    if _class(node) != WAGO_CLASS or not node.get("emulator"):
        return []
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = ("wago-emulator", str(node.tree.root), node.name, "--host", "127.0.0.1", "--port", str(port),
            "--announce")
    return [Simulator(f"wago-emulator/{node.name}", argv, port)]


CLIENTS = {WAGO_CLASS: "blisstango.core.wago.client:wago_client",
           **{klass: "blisstango.core.wago.client:actuator_client" for klass in CLASSES}}

SERVER_KIND = ServerKind(server="Wago", device_class=WAGO_CLASS, family="wago", select=is_wago_device,
                         instance=instance_of, attribute_properties=attribute_properties, class_of=class_of,
                         simulators=simulators, clients=CLIENTS, plugins=("wago",))
