"""Step-by-step chain building for clients that cannot send a whole JSON description:
ChainCreate, ChainAddMaster (returns an id), ChainAddSlave, ChainAddPreset; the result is
the same description RunScan takes (docs/scan_chain_json.md)."""

from __future__ import annotations

import json
from typing import Any

from blisstango.core.scanning.arguments import ScanArgumentError


def _obj(text: str, what: str, allow_empty: bool = False) -> Any:
    if allow_empty and not text.strip():
        return {}
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise ScanArgumentError(f"{what}: malformed JSON: {exc}") from None


class PendingChain:
    def __init__(self) -> None:
        self.top: dict | None = None
        self.nodes: dict[str, dict] = {}

    def create(self, options: str) -> None:
        opts = _obj(options, "ChainCreate", allow_empty=True)
        if not isinstance(opts, dict):
            raise ScanArgumentError("ChainCreate: options must be a JSON object")
        self.top = {**opts, "chain": [], "presets": []}
        self.nodes = {}

    def _need(self) -> dict:
        if self.top is None:
            raise ScanArgumentError("no chain being built: call ChainCreate first")
        return self.top

    def add_master(self, text: str) -> str:
        top = self._need()
        node = _obj(text, "ChainAddMaster")
        if not isinstance(node, dict):
            raise ScanArgumentError("ChainAddMaster: the master must be a JSON object")
        node = dict(node)
        ident = str(node.pop("id", None) or f"m{len(self.nodes)}")
        parent = node.pop("parent", None)
        if ident in self.nodes:
            raise ScanArgumentError(f"ChainAddMaster: id {ident!r} is already used")
        node.setdefault("children", [])
        if parent is None:
            top["chain"].append(node)
        else:
            self._parent(parent, "ChainAddMaster")["children"].append(node)
        self.nodes[ident] = node
        return ident

    def _parent(self, parent: Any, what: str) -> dict:
        node = self.nodes.get(str(parent))
        if node is None:
            raise ScanArgumentError(f"{what}: no master with id {parent!r} (ids: {', '.join(self.nodes) or 'none'})")
        return node

    def add_slave(self, text: str) -> None:
        self._need()
        node = _obj(text, "ChainAddSlave")
        if not isinstance(node, dict) or "parent" not in node:
            raise ScanArgumentError('ChainAddSlave: give a JSON object with "parent" and "counters"')
        node = dict(node)
        parent = self._parent(node.pop("parent"), "ChainAddSlave")
        node.setdefault("type", "counters")
        parent["children"].append(node)

    def add_preset(self, text: str) -> None:
        self._need()["presets"].append(_obj(text, "ChainAddPreset"))

    def description(self) -> dict:
        top = self._need()
        if not top["chain"]:
            raise ScanArgumentError("the chain has no master: call ChainAddMaster")
        return json.loads(json.dumps(top))
