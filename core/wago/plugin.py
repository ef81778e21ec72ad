"""The `wago` config plugin: a Wago object becomes a WagoController (connected on first use).

    - name: wago1
      plugin: wago
      modbustcp: {url: wcid10a:502, timeout: 1.0}
      main_module: 750-352             # optional: checked against the coupler
      cache_period: 1.0                # s a cached read may be old
      mapping:
        - {type: 750-504, logical_names: valve_cmd, shutter_cmd, heater, spare}
        - {type: 750-469, logical_names: [tc1, tc2]}
      units: {tc1: degC}               # optional, per logical name
      emulator: {...}                  # optional: `blisstango up` runs a coupler emulator
"""

from __future__ import annotations

from .controller import WagoController


def build(node, factory) -> WagoController:
    return WagoController.from_config(node.to_dict(), name=node.name, file=node.file, line=node.line)
