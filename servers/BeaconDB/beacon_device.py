"""The Beacon device (core.beacon.BEACON_DEVICE): configuration objects as JSON, sessions, the Redis
URLs every process needs, reload with validation, and who holds which lock.

Servers and clients get all of this through TANGO_HOST alone.
"""

from __future__ import annotations

import fnmatch
import json

import tango
from tango.server import Device, attribute, command

from blisstango.core.config import ConfigError, ConfigErrors
from blisstango.core.tangodb.config_service import ConfigService

from ..errors import fail
from ..request_thread import request_hook

#: Set by the server before the device starts.
CONTEXT: dict = {"config": None, "settings_url": "", "data_url": ""}


def _fail(reason: str, desc: str, origin: str) -> None:
    fail(reason, desc, f"Beacon::{origin}")


class Beacon(Device):
    """Beacon configuration service of blisstango."""

    always_executed_hook = request_hook

    def init_device(self):
        Device.init_device(self)
        self.config: ConfigService | None = CONTEXT["config"]
        self.set_state(tango.DevState.ON)
        self.set_status("Beacon: serving " + (str(self.config.root) if self.config else "no configuration"))

    def _tree(self, origin: str):
        if self.config is None or self.config.tree is None:
            _fail("Beacon_NoConfig", "BeaconDB was started without --config: no configuration tree",
                  origin)
        return self.config.tree

    # -- attributes ------------------------------------------------------------------
    @attribute(dtype=str, doc="URL of the settings Redis (settings, channels, locks)")
    def SettingsRedisUrl(self) -> str:
        return CONTEXT["settings_url"]

    @attribute(dtype=str, doc="URL of the data Redis (scan data streams)")
    def DataRedisUrl(self) -> str:
        return CONTEXT["data_url"]

    @attribute(dtype=str, doc="root folder of the YAML configuration tree")
    def ConfigRoot(self) -> str:
        return str(self.config.root) if self.config else ""

    @attribute(dtype=(str,), max_dim_x=10000,
               doc="file:line: message of every problem found by the last refused Reload")
    def ConfigErrors(self) -> list[str]:
        return list(self.config.errors) if self.config else []

    # -- commands --------------------------------------------------------------------
    @command(dtype_in=str, dtype_out=str, doc_in="object name",
             doc_out="JSON of the object's configuration (inherited defaults merged)")
    def GetObjectConfig(self, name: str) -> str:
        tree = self._tree("GetObjectConfig")
        node = tree.get(name)
        if node is None:
            _fail("Beacon_UnknownObject", f"no object named {name!r} in {tree.root}", "GetObjectConfig")
        data = node.to_dict()
        data["__file__"], data["__line__"] = node.file, node.line
        return json.dumps(data)

    @command(dtype_in=(str,), dtype_out=(str,),
             doc_in="[name pattern] or [name pattern, plugin]; empty = every object",
             doc_out="sorted object names")
    def ListObjects(self, argin: list[str]) -> list[str]:
        tree = self._tree("ListObjects")
        pattern = argin[0] if len(argin) > 0 and argin[0] else "*"
        plugin = argin[1] if len(argin) > 1 and argin[1] else None
        nodes = tree.objects_by_plugin(plugin) if plugin else tree.nodes()
        return [n.name for n in nodes if fnmatch.fnmatchcase(n.name, pattern)]

    @command(dtype_in=str, dtype_out=str, doc_in="session name",
             doc_out="JSON: name, objects (resolved), included, setup_files, setup_text, script_files, "
                     "scripts_text")
    def GetSession(self, name: str) -> str:
        tree = self._tree("GetSession")
        try:
            s = tree.get_session(name)
        except ConfigError as exc:
            _fail("Beacon_UnknownSession", str(exc), "GetSession")
        return json.dumps({"name": s.name, "objects": list(s.object_names), "included": list(s.included),
                           "setup_files": [str(p) for p in s.setup_files], "setup_text": s.setup_text(),
                           "script_files": [str(p) for p in s.script_files], "scripts_text": s.scripts_text()})

    @command(dtype_out=str, doc_out="JSON {added, removed, modified} object names")
    def Reload(self) -> str:
        if self.config is None:
            _fail("Beacon_NoConfig", "BeaconDB was started without --config", "Reload")
        try:
            return json.dumps(self.config.reload())
        except (ConfigErrors, ConfigError):
            _fail("Beacon_InvalidConfig",
                  "configuration not reloaded, the previous one is still served:\n"
                  + "\n".join(self.config.errors), "Reload")

    @command(dtype_in=(str,), dtype_out=str, doc_in="object names (empty: every lock)",
             doc_out="JSON {object: holder} of the locked ones")
    def WhoLocked(self, names: list[str]) -> str:
        from blisstango.core.beacon.locks import who_locked

        try:
            return json.dumps(who_locked(list(names) or None))
        except Exception as exc:  # noqa: BLE001 - Redis down: say so
            _fail("Beacon_RedisError", f"cannot read locks from {CONTEXT['settings_url']}: {exc}",
                  "WhoLocked")
