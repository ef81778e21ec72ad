"""How the configuration implies Mca devices (for core/config/servers.py).

Every object of plugin `mca` becomes `<domain>/mca/<name>` (class Mca), served by the
instance its `tango: {server: ...}` names, else "default". Other processes (ScanServer,
the shell) use such a device through core.mca.remote.RemoteMca: the MCA's counters,
ROIs and acquisition, over Tango.
"""

from __future__ import annotations

from typing import Any

from blisstango.core.config.servers import ServerKind, tango_override

DEVICE_CLASS = "Mca"


def is_mca(node: Any) -> bool:
    return node.plugin == "mca"


def instance_of(node: Any) -> str:
    return str(tango_override(node, "server") or "default")


SERVER_KIND = ServerKind(server="Mca", device_class=DEVICE_CLASS, family="mca", select=is_mca,
                         instance=instance_of,
                         clients={DEVICE_CLASS: "blisstango.core.mca.remote:RemoteMca.from_entry"},
                         plugins=("mca",))
