"""The MCAs this server process drives, built once per process from the YAML tree
(core.config.root: BLISSTANGO_CONFIG, else the folder Beacon serves)."""

from __future__ import annotations

from blisstango.core.config.root import process_objects, reset_process_objects
from blisstango.core.mca import McaController


def get_mca(name: str) -> McaController:
    obj = process_objects().get(name)
    if not isinstance(obj, McaController):
        raise RuntimeError(f"{name} is a {type(obj).__name__}, not an MCA (plugin mca)")
    return obj


def reset() -> None:
    """Forget built objects (tests)."""
    reset_process_objects()
