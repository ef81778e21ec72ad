"""How the configuration implies LimaSimulator servers (for core/config/servers.py).

An object with `plugin: lima_simulator` is a simulated camera: the server instance named
after it (or its `tango: {server: ...}`) serves its LimaCCDs device
`<domain>/limaccds/<name>` and the plugin devices `<domain>/roicounter/<name>` and
`<domain>/bpm/<name>`, one camera per process as with Lima.
"""

from __future__ import annotations

from typing import Any

from blisstango.core.config.servers import ServerKind, tango_override

PLUGIN = "lima_simulator"


def is_simulator(node: Any) -> bool:
    return node.plugin == PLUGIN


def instance_of(node: Any) -> str:
    return str(tango_override(node, "server") or node.name)


SERVER_KIND = ServerKind(server="LimaSimulator", device_class="LimaCCDs", family="limaccds",
                         select=is_simulator, instance=instance_of,
                         sub_devices=(("roicounter", "RoiCounterDeviceServer"), ("bpm", "BpmDeviceServer")),
                         plugins=(PLUGIN,))
