"""End-to-end AxisManager: devices registered in a real Tango database the way the
configuration implies (ServerKind of the AxisManager), the server in its own process."""

from __future__ import annotations

import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

from helpers.procs import ServerProcess
from helpers.waiting import device_answers

BIN = Path(sys.executable).parent


def register_axis_devices(tango_host: str, tree_dir: Path, objects=None) -> dict[str, list[str]]:
    """Add every AxisManager device (axes + one manager per instance) exactly as
    core.config.tango_view defines them (name, class, server, alias, properties,
    attribute properties derived from the YAML), or only the axes named in objects (and
    the managers); {instance: axis devices}."""
    import tango

    from blisstango.core.config import load_tree
    from blisstango.core.config.tango_view import tango_view
    from blisstango.servers.AxisManager.descriptor import SERVER_KIND

    host, port = tango_host.rsplit(":", 1)
    db = tango.Database(host, int(port))
    out: dict[str, list[str]] = {}
    for dev in tango_view(load_tree(tree_dir), [SERVER_KIND]).devices.values():
        if objects is not None and dev.object is not None and dev.object not in objects:
            continue
        info = tango.DbDevInfo()
        info.name, info._class, info.server = dev.name, dev.klass, dev.server
        db.add_device(info)
        if dev.alias:
            db.put_device_alias(dev.name, dev.alias)
        if dev.properties:
            db.put_device_property(dev.name, dev.properties)
        if dev.attribute_properties:
            db.put_device_attribute_property(dev.name, dev.attribute_properties)
        if dev.object is not None:
            out.setdefault(dev.server.split("/", 1)[1], []).append(dev.name)
    return out


class AxisManagerProcess(ServerProcess):
    """`AxisManager <instance>` in its own process; devices reached by fully qualified names
    (a client process keeps the first TANGO_HOST it used, whatever the environment says later)."""

    def __init__(self, instance: str, env: dict[str, str], workdir: Path) -> None:
        self.instance, self.env, self.workdir = instance, env, Path(workdir)
        self.tango_host = env["TANGO_HOST"]
        self.log = self.workdir / f"AxisManager-{instance}.log"

    @property
    def manager(self) -> str:
        """The instance's manager device, as the database knows it."""
        import tango

        from blisstango.servers.AxisManager.descriptor import SERVER_KIND

        host, port = self.tango_host.rsplit(":", 1)
        pairs = list(tango.Database(host, int(port)).get_device_class_list(f"{SERVER_KIND.server}/{self.instance}"))
        found = [d for d, k in zip(pairs[::2], pairs[1::2]) if k == SERVER_KIND.manager_class]
        return f"tango://{self.tango_host}/{found[0]}"

    def device_name(self, alias: str) -> str:
        """Device name of an alias, asked to this stack's database."""
        import tango

        host, port = self.tango_host.rsplit(":", 1)
        return tango.Database(host, int(port)).get_device_from_alias(alias)

    def proxy(self, alias: str):
        """DeviceProxy of an object (its alias) on this stack."""
        import tango

        return tango.DeviceProxy(f"tango://{self.tango_host}/{self.device_name(alias)}")

    def start(self, timeout: float = 60.0) -> AxisManagerProcess:
        self.launch([str(BIN / "AxisManager"), self.instance], env=self.env)
        self.wait_ready(lambda: device_answers(self.manager), f"AxisManager {self.instance}", timeout)
        return self


@contextmanager
def axis_stack(demo_config: Path, work: Path, settings_url: str):
    """BeaconDB + registered demo axes + `AxisManager demo` on a copy of demo_config;
    TANGO_HOST set meanwhile. Yields (server, tree)."""
    from blisstango.core.config import load_tree
    from helpers.motion import forget_settings

    tree = work / "beamline"
    shutil.copytree(demo_config, tree)
    forget_settings(settings_url, load_tree(tree).names())
    with tree_stack(tree, work, settings_url) as (server, _):
        yield server, tree


@contextmanager
def tree_stack(tree: Path, work: Path, settings_url: str, objects=None):
    """BeaconDB with the AxisManager devices of tree registered (only the axes named in
    objects, if given) + `AxisManager demo`; TANGO_HOST set meanwhile. Yields (server,
    {instance: axis devices})."""
    from helpers.tango_db import BeaconDBProcess

    db = BeaconDBProcess(work / "db").start()
    env = {"TANGO_HOST": db.tango_host, "BLISSTANGO_CONFIG": str(tree),
           "BLISSTANGO_SETTINGS_REDIS": settings_url}
    registered: dict[str, list[str]] = {}
    with _axis_manager_on(db, env, work,
                          before=lambda: registered.update(register_axis_devices(db.tango_host, tree, objects))) as server:
        yield server, registered


@contextmanager
def config_stack(demo_config: Path, work: Path):
    """BeaconDB serving a copy of the demo tree (--config, its own Redis servers) +
    `AxisManager demo` finding tree and Redis through it; TANGO_HOST set meanwhile.
    Yields (server, tree)."""
    from helpers.tango_db import BeaconDBProcess

    tree = work / "beamline"
    shutil.copytree(demo_config, tree)
    db = BeaconDBProcess(work / "db", config=tree, extra=[]).start()
    env = {"TANGO_HOST": db.tango_host, "BLISSTANGO_CONFIG": "",
           "BLISSTANGO_SETTINGS_REDIS": "", "BLISSTANGO_DATA_REDIS": ""}
    with _axis_manager_on(db, env, work) as server:
        yield server, tree


@contextmanager
def _axis_manager_on(db, env: dict[str, str], work: Path, before=None):
    """`AxisManager demo` (env) on the running database db, TANGO_HOST pointing there
    meanwhile; the server, then db, stopped after, and TANGO_HOST restored."""
    saved = os.environ.get("TANGO_HOST")
    os.environ["TANGO_HOST"] = db.tango_host
    server = None
    try:
        if before is not None:
            before()
        server = AxisManagerProcess("demo", env, work).start()
        yield server
    finally:
        if server is not None:
            server.stop()
        db.stop()
        if saved is None:
            os.environ.pop("TANGO_HOST", None)
        else:
            os.environ["TANGO_HOST"] = saved
