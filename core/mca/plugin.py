"""The `mca` config plugin: builds the MCA an Mca server drives.

    - name: mca1                        # examples/demo_beamline/mca/mca1.yml
      class: FluorescenceSimulator      # or package.module:Class (an McaController)
      elements: 4
      spectrum_size: 4096
      calibration: [0.0, 0.005, 0.0]    # keV: offset, gain, quadratic
      rois: {Fe: [1250, 1312]}          # bins start..stop-1
      sample: {axes: [$sx, $sy], spots: [...]}
"""

from __future__ import annotations

import importlib

from ..config.errors import ConfigError
from .controller import McaController
from .errors import McaParameterError

CLASSES = {"FluorescenceSimulator": "blisstango.core.mca.simulator:FluorescenceSimulator"}


def _class(name: str):
    path = CLASSES.get(name, name)
    module, _, attr = path.partition(":")
    if not attr:
        raise ValueError(f"unknown class {name!r} (known: {', '.join(CLASSES)}, or package.module:Class)")
    cls = getattr(importlib.import_module(module), attr)
    if not (isinstance(cls, type) and issubclass(cls, McaController)):
        raise ValueError(f"{path} is not an McaController")
    return cls


def build(node, factory):
    cfg = node.to_dict()
    try:
        cls = _class(str(cfg.get("class", "")))
        return cls(node.name, cfg)
    except (ValueError, TypeError, McaParameterError, ImportError, AttributeError) as exc:
        raise ConfigError(f"mca {node.name}: {exc}", getattr(node, "file", None), getattr(node, "line", None)) \
            from None
