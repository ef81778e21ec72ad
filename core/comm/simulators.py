"""Which instrument simulators a configuration asks for, as one `sinstruments-server` config.

A controller with a `simulator:` block is served by the simulator its makers publish,
run by sinstruments (TCP, UDP, or a pseudo-terminal for a serial line) at the block's
`url`; the controller talks to that url instead of the instrument's (core.comm.config)::

    - name: ice1
      class: IcePAP
      tcp: {url: iceid311:5000}          # the real one, used without the block
      simulator:
        url: 127.0.0.1:5001              # served here by `blisstango up`
        axes: [{address: 2, status: 0x00A43203}]   # optional: the simulator's own options

The simulator's class and package come from the controller class (SIMULATORS, where each
entry also derives the simulator's options from the controller's YAML: an IcePAP's axis
addresses), or from `class:` and `package:` in the block for any other sinstruments device.
"""

from __future__ import annotations

import importlib
import os
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gevent

from .config import CommConfigError, link_settings

#: controller class -> "module:function(name, config, options) -> device": the
#: simulator's class, package and options, derived from the controller's YAML and the
#: block's own options
SIMULATORS: dict[str, str] = {
    "IcePAP": "blisstango.core.motion.icepap.simulator:simulator_device",
}


def _builder(klass: str) -> Callable[[str, dict, dict], dict] | None:
    path = SIMULATORS.get(klass)
    if path is None:
        return None
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def simulator_device(name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The sinstruments device entry serving one controller's `simulator:` block."""
    kind, settings = link_settings(config, name)
    options = dict(config["simulator"])
    url = str(options.pop("url"))
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
    if kind == "serial" and "baudrate" in settings:
        transport["baudrate"] = int(settings["baudrate"])
    device.update(name=name, transports=[transport])
    return device


def simulated_devices(tree: Any) -> list[dict[str, Any]]:
    """Every sinstruments device a configuration tree asks for (controllers with a
    `simulator:` block), in name order; CommConfigError naming the object if one is wrong."""
    devices = []
    for node in tree.nodes():
        if node.parent is None and "simulator" in node.own_keys():
            try:
                devices.append(simulator_device(node.name, node.to_dict()))
            except CommConfigError as exc:
                raise CommConfigError(f"{node.file}:{node.line}: {exc}") from None
    return devices


def write_config(devices: list[dict[str, Any]], path: Path) -> Path:
    """The sinstruments-server configuration file for these devices."""
    import yaml

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"devices": devices}, sort_keys=False))
    return path


def endpoints(devices: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(device name, transport type, url) of every transport."""
    return [(d["name"], t["type"], str(t["url"])) for d in devices for t in d["transports"]]


def endpoint_ready(kind: str, url: str) -> bool:
    """A TCP transport accepts connections; a serial one's pseudo-terminal link exists
    (UDP has nothing to probe: it is ready when the process is)."""
    if kind == "serial":
        return os.path.exists(url)
    if kind == "tcp":
        from .tcp import split_url

        host, port = split_url(url)
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            return False
    return True


def wait_ready(devices: list[dict[str, Any]], timeout: float = 30.0,
               alive: Callable[[], bool] = lambda: True) -> None:
    """Until every transport is ready; TimeoutError naming the first that is not (a port
    taken by another program makes sinstruments skip the device)."""
    deadline = time.monotonic() + timeout
    for name, kind, url in endpoints(devices):
        while not endpoint_ready(kind, url):
            if not alive():
                raise RuntimeError(f"the simulator server exited before {name} answered on {kind} {url}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"simulator {name} does not answer on {kind} {url} after {timeout:g} s "
                                   "(is the port taken by another program?)")
            gevent.sleep(0.05)


def free_port(kind: str = "tcp") -> int:
    """A port free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(type=socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rebind(root: Path, pty_dir: Path) -> dict[str, str]:
    """Give every simulator of a configuration tree a place of its own: a free port on
    127.0.0.1, or a pseudo-terminal link in pty_dir; written into the YAML (comments
    kept) so that every server reads it. For copies of a tree run beside others (the
    demo, tests), whose fixed simulator addresses would collide. Returns name -> url."""
    from blisstango.core.config import load_tree
    from blisstango.core.config.writer import ConfigWriter

    tree = load_tree(root)
    writer = ConfigWriter(tree.root)
    urls: dict[str, str] = {}
    with writer.locked():
        for device in simulated_devices(tree):
            kind = device["transports"][0]["type"]
            if kind == "serial":
                url = str(Path(pty_dir) / f"{device['name']}.pty")
            else:
                url = f"127.0.0.1:{free_port(kind)}"
            writer.set_key(device["name"], ("simulator", "url"), url)
            urls[device["name"]] = url
    return urls
