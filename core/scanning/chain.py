"""AcquisitionChain: the tree of masters and slaves a scan runs (several top masters)."""

from __future__ import annotations

from .acquisition import AcquisitionMaster, AcquisitionObject
from .channels import AcquisitionChannel


class AcquisitionChain:
    """`chain.add(master, slave)` hangs slave (a slave or another master) under master.

    A master added with no parent is a top master; each top master drives its own
    iteration loop during the scan.
    """

    def __init__(self) -> None:
        self._nodes: list[AcquisitionObject] = []

    def add(self, master: AcquisitionMaster, slave: AcquisitionObject | None = None) -> None:
        if not isinstance(master, AcquisitionMaster):
            raise TypeError(f"{master!r} is not an AcquisitionMaster: it cannot have children")
        if master not in self._nodes:
            self._nodes.append(master)
        if slave is None:
            return
        if slave is master:
            raise ValueError(f"{master!r} cannot be its own slave")
        if slave.parent is not None and slave.parent is not master:
            raise ValueError(f"{slave!r} is already under {slave.parent!r}")
        if slave in self._ancestors(master):
            raise ValueError(f"adding {slave!r} under {master!r} would make a cycle")
        if slave.parent is None:
            slave.parent = master
            master.slaves.append(slave)
        if slave not in self._nodes:
            self._nodes.append(slave)

    @staticmethod
    def _ancestors(node: AcquisitionObject) -> list[AcquisitionObject]:
        out = []
        while node.parent is not None:
            node = node.parent
            out.append(node)
        return out

    @property
    def top_masters(self) -> list[AcquisitionMaster]:
        return [n for n in self._nodes if n.parent is None]

    @property
    def nodes(self) -> list[AcquisitionObject]:
        """Every node, top masters first, breadth first."""
        return [n for level in self.levels() for n in level]

    def levels(self) -> list[list[AcquisitionObject]]:
        """Nodes by depth: levels()[0] are the top masters."""
        out: list[list[AcquisitionObject]] = []
        current: list[AcquisitionObject] = list(self.top_masters)
        while current:
            out.append(current)
            current = [s for n in current for s in getattr(n, "slaves", [])]
        return out

    @property
    def channels(self) -> list[AcquisitionChannel]:
        return [c for n in self.nodes for c in n.channels]

    def description(self) -> list[dict]:
        """JSON-able tree: [{name, class, trigger_mode, npoints, channels, children}]."""
        def desc(node):
            d = node.description()
            d["children"] = [desc(s) for s in getattr(node, "slaves", [])]
            return d

        return [desc(t) for t in self.top_masters]

    def __str__(self) -> str:
        lines: list[str] = []

        def walk(node, indent):
            lines.append("  " * indent + f"{node.name} ({type(node).__name__})")
            for s in getattr(node, "slaves", []):
                walk(s, indent + 1)

        for t in self.top_masters:
            walk(t, 0)
        return "\n".join(lines)
