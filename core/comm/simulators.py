"""Instruments served by the simulators their makers publish (sinstruments devices).

A controller with a `simulator:` block is served by the simulator of its class, run by
sinstruments on TCP, UDP, or a pseudo-terminal for a serial line (the transport of the
controller's own `tcp:`/`udp:`/`serial:`)::

    - name: ice1
      class: IcePAP
      tcp: {url: iceid311:5000}        # the instrument, talked to without the block
      simulator:                       # `blisstango up` runs its simulator instead
        axes: [{address: 2, status: 0x00A43203}]   # optional: the simulator's own options
        # url: 127.0.0.1:5001          # optional: where to serve it (default: a free port)

`blisstango up` runs one `blisstango simulate <config> <name> --announce` process per
such controller (ServerKind.simulators: `simulators_for`), on a port free at start (or
a fresh pseudo-terminal); the process announces where it serves in the controller's
Beacon settings (`settings:<name>` simulator_url), where core.comm.config looks when it
builds the controller's link. So stacks run side by side never share a simulator, and
the YAML never holds a runtime address. The simulator's class and package come from the
controller class (SIMULATORS, which also derives options from the controller's YAML: an
IcePAP's axis addresses), or from `class:` and `package:` in the block.
"""

from __future__ import annotations

import importlib
import socket
import tempfile
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from .config import CommConfigError, link_kind

#: field of settings:<name> where a running simulator announces its address
SIMULATOR_URL = "simulator_url"

#: controller class -> "module:function(name, config, options) -> device": the
#: simulator's class, package and options, derived from the controller's YAML and the
#: block's own options
SIMULATORS: dict[str, str] = {
    "CryoCon": "blisstango.core.regulation.cryocon.simulator:simulator_device",
    "IcePAP": "blisstango.core.motion.icepap.simulator:simulator_device",
}


def announce(name: str, url: str, field: str = SIMULATOR_URL) -> None:
    """Store where the simulated `name` is served (its Beacon settings)."""
    from blisstango.core.beacon.settings import object_settings

    object_settings(name)[field] = url


def announced(name: str, field: str = SIMULATOR_URL) -> str | None:
    """Where the simulated `name` said it is served, if it did (None without Beacon)."""
    from blisstango.core.beacon.settings import object_settings

    try:
        return object_settings(name).get(field)
    except Exception:  # noqa: BLE001 - no Beacon/Redis reachable: nothing announced
        return None


def block_of(config: Mapping[str, Any]) -> dict[str, Any]:
    """The `simulator:` block's options (`simulator: true` or `{}`: none)."""
    block = config.get("simulator")
    return dict(block) if isinstance(block, Mapping) else {}


def _builder(klass: str) -> Callable[[str, dict, dict], dict] | None:
    path = SIMULATORS.get(klass)
    if path is None:
        return None
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def simulator_device(name: str, config: Mapping[str, Any], url: str) -> dict[str, Any]:
    """The sinstruments device entry serving the controller `name` at `url`."""
    kind = link_kind(config, name)
    options = block_of(config)
    options.pop("url", None)
    given = {key: options.pop(key) for key in ("class", "package") if key in options}
    builder = _builder(str(config.get("class", "")))
    if given or builder is None:
        if set(given) != {"class", "package"}:
            raise CommConfigError(f"{name}: no known simulator for class {config.get('class')!r}: give "
                                  "`class:` and `package:` of a sinstruments device in its `simulator:` block")
        device = {**given, **options}
    else:
        device = builder(name, dict(config), options)
    transport: dict[str, Any] = {"type": kind, "url": url}
    settings = config[kind] if isinstance(config[kind], Mapping) else {}
    if kind == "serial" and "baudrate" in settings:
        transport["baudrate"] = int(settings["baudrate"])
    device.update(name=name, transports=[transport])
    return device


def free_port(kind: str = "tcp") -> int:
    """A port free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(type=socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def simulators_for(node: Any) -> list[Any]:
    """ServerKind.simulators for any controller: the simulator process of the controller
    owning `node` (itself, or the controller whose axis/input/loop it is), if that has a
    `simulator:` block (core.config.servers.implied_simulators keeps one per name)."""
    from blisstango.core.config.servers import Simulator

    owner = node
    while owner is not None and "simulator" not in owner.own_keys():
        owner = owner.parent
    if owner is None:
        return []
    config = owner.to_dict()
    kind = link_kind(config, owner.name)
    given = block_of(config).get("url")
    argv = ["blisstango", "simulate", str(owner.tree.root), owner.name, "--announce"]
    if kind == "serial":
        path = str(given or f"{tempfile.gettempdir()}/blisstango-{owner.name}-{uuid.uuid4().hex[:8]}.pty")
        return [Simulator(f"simulator/{owner.name}", (*argv, "--url", path), None, path=path)]
    if given:
        from .tcp import split_url

        port = split_url(str(given))[1]
        url = str(given)
    else:
        port = free_port(kind)
        url = f"127.0.0.1:{port}"
    return [Simulator(f"simulator/{owner.name}", (*argv, "--url", url), port if kind == "tcp" else None)]


def serve(config_dir: str, name: str, url: str | None = None, announce_it: bool = False,
          ready: Callable[[str], None] | None = None) -> None:
    """Serve the simulator of controller `name` of a configuration tree (at `url`, else
    the block's `url`), announcing the address first if asked; returns when it stops."""
    from sinstruments.simulator import Server

    from blisstango.core.config import load_tree

    tree = load_tree(config_dir, strict=False)
    node = tree.get(name)
    if node is None:
        raise CommConfigError(f"no object {name!r} in {config_dir}")
    config = node.to_dict()
    if "simulator" not in config:
        raise CommConfigError(f"{name}: no `simulator:` block in {node.file}:{node.line}")
    url = url or block_of(config).get("url")
    if not url:
        raise CommConfigError(f"{name}: where to serve its simulator? give --url or `simulator: {{url: ...}}`")
    device = simulator_device(name, config, str(url))
    if announce_it:
        announce(name, str(url))
    server = Server()
    server.create_device(device)  # raises (the constructor's loop only logs)
    tasks = server.start()
    if ready is not None:
        ready(str(url))
    try:
        import gevent

        gevent.joinall(tasks, raise_error=True)
    finally:
        server.stop()
