"""`blisstango config <dir>`: list a tree's objects and sessions, or its errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .errors import ConfigErrors
from .tree import load_tree


def main(argv: Sequence[str] | None = None) -> int:
    """Print objects (name, plugin, file:line) and sessions; 1 and the errors if broken."""
    parser = argparse.ArgumentParser(
        prog="blisstango config", description="Validate a configuration tree and list it.")
    parser.add_argument("config_dir", help="root folder of the YAML configuration tree")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        tree = load_tree(args.config_dir)
    except ConfigErrors as exc:
        print(f"{args.config_dir}: {len(exc.errors)} configuration error(s):", file=sys.stderr)
        for err in exc.errors:
            print(f"  {err}", file=sys.stderr)
        return 1
    nodes = tree.nodes()
    width = max((len(n.name) for n in nodes), default=4)
    pwidth = max((len(n.plugin) for n in nodes), default=6)
    print(f"{len(nodes)} objects in {len(tree.files())} files under {tree.root}")
    for node in nodes:
        print(f"  {node.name:<{width}}  {node.plugin:<{pwidth}}  {node.file}:{node.line}")
    sessions = tree.sessions()
    print(f"{len(sessions)} sessions")
    for name in sessions:
        s = tree.get_session(name)
        print(f"  {name}: {' '.join(s.object_names)}")
        if s.included:
            print(f"    includes: {' '.join(s.included)}")
        for path in s.setup_files:
            print(f"    setup-file: {path}")
        for path in s.script_files:
            print(f"    script: {path}")
    return 0
