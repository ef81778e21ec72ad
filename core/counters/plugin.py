"""The `counters` config plugin: builds counters and measurement groups from YAML.

    - name: diode                 # examples/demo_beamline/counters/simulation.yml
      class: SimulationCounter
      axis: $m0
      curve: gaussian             # gaussian | linear | flat
      center: 2.5; fwhm: 1.2; height: 10000.0; background: 50.0; noise: 0.002; unit: counts
    - name: tg_double
      class: TangoAttrCounter
      device: sys/tg_test/1       # or tango://host:port/sys/tg_test/1#dbase=no
      attribute: double_scalar
    - name: MG1
      class: MeasurementGroup
      counters: [$diode, $diode2]
"""

from __future__ import annotations

from ..config.errors import ConfigError
from .measurement_group import MeasurementGroup
from .sampling import SamplingMode
from .simulation import SimulationCounter
from .tango_attr import TangoAttrCounter

_SIM_KEYS = ("curve", "center", "fwhm", "height", "background", "slope", "noise", "unit")


def _ref_name(value) -> str:
    name = getattr(value, "name", value)
    return name[1:] if isinstance(name, str) and name.startswith("$") else name


def _settings_redis():
    try:
        from ..beacon import connection

        return connection.get_redis("settings")
    except Exception:  # no Beacon reachable: the group works, unpersisted
        return None


def build(node, factory):
    cfg = node.to_dict()
    cls = cfg.get("class")
    try:
        if cls == "SimulationCounter":
            axis = factory.get(_ref_name(cfg["axis"])) if cfg.get("axis") else None
            kwargs = {k: cfg[k] for k in _SIM_KEYS if k in cfg}
            return SimulationCounter(node.name, axis=axis, mode=SamplingMode(cfg.get("mode", "MEAN")), **kwargs)
        if cls == "TangoAttrCounter":
            return TangoAttrCounter(node.name, cfg["device"], cfg["attribute"], unit=cfg.get("unit"),
                                    mode=SamplingMode(cfg.get("mode", "SINGLE")))
        if cls == "MeasurementGroup":
            counters = [factory.get(_ref_name(c)) for c in cfg.get("counters", [])]
            return MeasurementGroup(node.name, counters, _settings_redis())
    except KeyError as exc:
        raise ConfigError(f"{cls} {node.name}: missing key {exc}", node.file, node.line) from None
    except ValueError as exc:
        raise ConfigError(f"{cls} {node.name}: {exc}", node.file, node.line) from None
    raise ConfigError(f"counter {node.name}: unknown class {cls!r} (SimulationCounter, TangoAttrCounter, "
                      f"MeasurementGroup)", getattr(node, "file", None), getattr(node, "line", None))
