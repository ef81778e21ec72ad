"""How the configuration implies ObjectServer devices (for core/config/servers.py).

An object whose YAML says `tango: {export: true}` (or `export: [member, ...]`, only
those members), on itself or inherited, and that no other suite server exports (a
`default` plain-dict object, an `object` of a beamline's own class), becomes
`<domain>/object/<name>`, served by the instance its `tango: {server: ...}` names, else
"default". Other processes use it as a plain DeviceProxy.

Each object is a Tango class of its own, `GenericObject_<name>`: Tango defines a dynamic
attribute once per class, so two objects of one class could not both have an `energy`
of different types (a writable float here, a read-only configuration value there).
"""

from __future__ import annotations

import re
from typing import Any

from blisstango.core.config.servers import ServerKind, server_kinds, tango_override

SERVER = "ObjectServer"
DEVICE_CLASS = "GenericObject"


def is_exported_object(node: Any) -> bool:
    """Opted in with `tango: {export: ...}` and exported by no other server."""
    if not tango_override(node, "export"):
        return False
    return not any(kind.server != SERVER and kind.select(node) for kind in server_kinds())


def instance_of(node: Any) -> str:
    return str(tango_override(node, "server") or "default")


def tango_class(name: str) -> str:
    """The Tango class of the device serving object `name`."""
    return f"{DEVICE_CLASS}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"


def class_of(node: Any) -> tuple[str, str]:
    return tango_class(node.name), "object"


SERVER_KIND = ServerKind(server=SERVER, device_class=DEVICE_CLASS, family="object", select=is_exported_object,
                         instance=instance_of, class_of=class_of)
