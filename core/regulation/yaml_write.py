"""Runtime parameters written back into an object's YAML (the one edit path, ConfigWriter),
rounded so the file reads as a person would have written it."""

from __future__ import annotations

from typing import Any

from .errors import RegulationError


def tidy(value: Any) -> Any:
    """Floats to 10 significant digits (0.30000000000000004 -> 0.3); others unchanged."""
    if isinstance(value, float):
        return float(f"{value:.10g}")
    return value


def write_keys(config_root: str | None, name: str, config: dict[str, Any],
               values: dict[str, Any]) -> dict[str, Any]:
    """Set (or, for None, delete) each key of object `name`, comments and layout kept;
    `config` (the object's dict) follows. Returns what was written."""
    if not config_root:
        raise RegulationError(f"{name}: built without a configuration tree, nothing to write")
    from blisstango.core.config.errors import ConfigError
    from blisstango.core.config.writer import ConfigWriter

    writer = ConfigWriter(config_root)
    written: dict[str, Any] = {}
    with writer.locked():
        for key, value in values.items():
            if value is None:
                if key in config:
                    try:
                        writer.delete_key(name, key)
                    except ConfigError:  # inherited from an __init__.yml: not this object's
                        continue
                    del config[key]
                continue
            value = tidy(value)
            writer.set_key(name, key, value)
            config[key] = written[key] = value
    return written
