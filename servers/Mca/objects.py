"""The MCAs this server process drives, built once per process from the YAML tree
(core.config.root: BLISSTANGO_CONFIG, else the folder Beacon serves)."""

from __future__ import annotations

from blisstango.core.config import ObjectFactory, load_tree
from blisstango.core.config.root import config_root
from blisstango.core.mca import McaController

_factory: ObjectFactory | None = None


def get_mca(name: str) -> McaController:
    global _factory
    if _factory is None:
        _factory = ObjectFactory(load_tree(config_root()))
    obj = _factory.get(name)
    if not isinstance(obj, McaController):
        raise RuntimeError(f"{name} is a {type(obj).__name__}, not an MCA (plugin mca)")
    return obj


def reset() -> None:
    """Forget built objects (tests)."""
    global _factory
    _factory = None
