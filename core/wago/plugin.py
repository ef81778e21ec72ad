"""The `wago` config plugin: a Wago object becomes a WagoController (connected on first
use); a valve or shutter (class WagoValve / WagoShutter) a WagoActuator on its Wago.

    - name: wago1
      plugin: wago
      modbustcp: {url: wcid10a:502, timeout: 1.0}
      main_module: 750-352             # optional: checked against the coupler
      polling_time: 2.0                # s between polls of the Wago server (change events)
      cache_period: 2.0                # s a cached read may be old (default polling_time)
      mapping:
        - {type: 750-504, logical_names: valve_cmd, shutter_cmd, heater, spare}
        - {type: 750-469, logical_names: [tc1, tc2]}
      units: {tc1: degC}               # optional, per logical name
      counter_names: tc1, tc2          # counted in scans (default: every input)
      emulator: {...}                  # optional: `blisstango up` runs a coupler emulator
                                       # (emulator/physics.py) and the Wago uses it, at the
                                       # address the emulator announced in settings:<name>

    - name: valve1                     # see actuator.py
      plugin: wago
      class: WagoValve
      wago: $wago1
      command: valve_cmd
      open: valve_open
      closed: valve_closed
"""

from __future__ import annotations

from .actuator import CLASSES, WagoActuator
from .controller import WagoController
from .errors import WagoConfigError


def _ref(value) -> str:
    name = getattr(value, "name", value)
    return name[1:] if isinstance(name, str) and name.startswith("$") else str(name)


EMULATOR_URL = "emulator_url"  # field of settings:<name> where an emulator announces itself


def emulator_url(name: str) -> str | None:
    """The address the emulator of Wago `name` announced, if any (settings Redis)."""
    from ..comm.simulators import announced

    return announced(name, EMULATOR_URL)


def build(node, factory):
    cfg = node.to_dict()
    cls = cfg.get("class", "Wago")
    if cls == "Wago":
        url = emulator_url(node.name) if cfg.get("emulator") else None
        return WagoController.from_config(cfg, name=node.name, file=node.file, line=node.line, url=url)
    if cls in CLASSES:
        if not cfg.get("wago"):
            raise WagoConfigError(f"{cls} {node.name}: `wago: $<the Wago object>` is missing", node.file, node.line)
        wago = factory.get(_ref(cfg["wago"]))
        if not isinstance(wago, WagoController):
            raise WagoConfigError(f"{cls} {node.name}: wago {_ref(cfg['wago'])!r} is a {type(wago).__name__}, "
                                  "not a Wago", node.file, node.line)
        return WagoActuator.from_config(cfg, wago, name=node.name, file=node.file, line=node.line)
    raise WagoConfigError(f"wago object {node.name}: unknown class {cls!r} (Wago, {', '.join(CLASSES)})",
                          node.file, node.line)
