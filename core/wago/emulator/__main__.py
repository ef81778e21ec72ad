"""`wago-emulator CONFIG_DIR NAME [--host H] [--port P] [--announce]`: emulate the coupler of
the Wago object NAME of a configuration tree, at its `modbustcp: url` unless --host/--port
say otherwise (--port 0: a free port). With --announce the address is stored in the
object's Beacon settings (`settings:NAME` emulator_url, found through TANGO_HOST), where
the Wago server looks for the coupler of an emulated Wago: `blisstango up` runs it so, on
a port it chose free. Prints `listening on HOST:PORT` once it accepts connections; stops
on SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import sys

from ...comm.modbus import split_url
from ...config import ConfigError, load_tree
from ..mapping import WagoMapping
from ..plugin import EMULATOR_URL
from .server import EmulatedCoupler, run


def build(config_dir: str, name: str) -> tuple[EmulatedCoupler, str, int]:
    """The emulated coupler of object `name`, and the address its YAML gives it."""
    tree = load_tree(config_dir, strict=False)
    node = tree.get(name)
    if node is None:
        raise ConfigError(f"no object {name!r} in {config_dir}")
    cfg = node.to_dict()
    mapping = WagoMapping.from_config(cfg, name=name, file=node.file, line=node.line)
    spec = cfg.get("emulator") if isinstance(cfg.get("emulator"), dict) else {}
    if spec.get("plugged"):  # a coupler whose modules are not those of the mapping
        mapping = WagoMapping([(str(code), []) for code in spec["plugged"]], name=name, ignore_missing=True,
                              main_module=cfg.get("main_module"), file=node.file, line=node.line)
        spec = {k: v for k, v in spec.items() if k not in ("valves", "heaters", "inputs")}
    url = (cfg.get("modbustcp") or {}).get("url") or "127.0.0.1:502"
    host, port = split_url(url)
    return EmulatedCoupler.build(mapping, spec, spec.get("coupler")), host, port


def announce(name: str, host: str, port: int) -> None:
    """Store the emulated coupler's address where the Wago plugin looks for it."""
    from ...comm.simulators import announce as store

    store(name, f"{host}:{port}", EMULATOR_URL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wago-emulator", description=__doc__.split("\n\n")[0])
    parser.add_argument("config_dir")
    parser.add_argument("name", help="the Wago object to emulate")
    parser.add_argument("--host", help="address to listen on (default: the url's host)")
    parser.add_argument("--port", type=int, help="port to listen on (default: the url's port; 0: any free)")
    parser.add_argument("--announce", action="store_true",
                        help="store the address in the object's Beacon settings (emulator_url)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        coupler, host, port = build(args.config_dir, args.name)
    except (ConfigError, KeyError, ValueError) as exc:
        print(f"wago-emulator: {exc}", file=sys.stderr)
        return 2
    host = args.host or host
    port = port if args.port is None else args.port

    if args.announce and port:  # announced before listening: whoever connects finds it
        announce(args.name, host, port)

    def ready(bound_host: str, bound_port: int) -> None:
        if args.announce and not port:
            announce(args.name, bound_host, bound_port)
        print(f"listening on {bound_host}:{bound_port}", flush=True)

    try:
        run(coupler, host, port, ready)
    except (OSError, RuntimeError) as exc:
        print(f"wago-emulator: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
