"""Config plugin `object`: an object of a class the beamline writes itself.

    - name: att1
      plugin: object
      class: ./attenuator.py:AttenuatorBox   # a file beside this YAML (or package.module:Class)
      tango: {export: true}                  # served by the ObjectServer (else built in-session)
      filters: [...]                         # everything else: the object's configuration

The class is called as Class(name, config) (BLISS's convention), config being the
object's configuration as a plain dict (`$references` stay names: an object never
builds another server's objects).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from ..config.errors import ConfigError


def load_class(spec: str, base: Path | None, where: tuple[str | None, int | None] = (None, None)) -> type:
    """`path/to/file.py:Class` (relative to base) or `package.module:Class`."""
    module_name, sep, attr = str(spec).rpartition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"class {spec!r} must be 'file.py:Class' or 'package.module:Class'", *where)
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_absolute() and base is not None:
                path = base / path
            path = path.resolve()
            if not path.is_file():
                raise ConfigError(f"class {spec!r}: no file {path}", *where)
            key = "blisstango_objects_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
            module = sys.modules.get(key)
            if module is None:
                loader_spec = importlib.util.spec_from_file_location(key, path)
                module = importlib.util.module_from_spec(loader_spec)
                sys.modules[key] = module
                try:
                    loader_spec.loader.exec_module(module)
                except BaseException:
                    sys.modules.pop(key, None)
                    raise
        else:
            module = importlib.import_module(module_name)
        cls = module
        for part in attr.split("."):
            cls = getattr(cls, part)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to load is the configuration's problem
        raise ConfigError(f"class {spec!r} cannot be loaded: {type(exc).__name__}: {exc}", *where) from exc
    if not isinstance(cls, type):
        raise ConfigError(f"class {spec!r} is not a class", *where)
    return cls


def build(node: Any, factory: Any) -> Any:
    """An `object` object: its class called with (name, config)."""
    config = node.to_dict()
    spec = config.get("class")
    where = (node.file, node.key_line("class") if "class" in node.keys() else node.line)
    if not spec:
        raise ConfigError(f"{node.name}: an `object` needs `class: file.py:Class` or `class: package.module:Class`",
                          *where)
    root = getattr(getattr(node, "tree", None), "root", None)
    if root is None and node.file and ".py:" in str(spec):
        from ..config.root import config_root  # a node from Beacon: the tree this host sees

        root = config_root()
    base = Path(root) / Path(node.file).parent if root is not None and node.file else None
    cls = load_class(spec, base, where)
    try:
        return cls(node.name, config)
    except Exception as exc:  # noqa: BLE001 - the object's own constructor refused
        raise ConfigError(f"{node.name}: {cls.__name__}({node.name!r}, config) failed: {type(exc).__name__}: {exc}",
                          *where) from exc


__all__ = ["build", "load_class"]
