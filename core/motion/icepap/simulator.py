"""The IcePAP simulator its makers publish (`icepap.simulator`, served by sinstruments)
for a controller's `simulator:` block: one simulated driver per configured axis address.

Options of the block (the simulator's own): `axes: [{address: 2, velocity: 100,
acctime: 0.1, status: 0x00A43203}]` adds to, or changes, the driver at that address
(`status` is its initial status word: 0x00A43203 is a driver on its positive limit
switch); any other key goes to the simulated system as given.
"""

from __future__ import annotations

from typing import Any


def simulator_device(name: str, config: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    axes = {int(a["address"]): {"address": int(a["address"]), "name": str(a.get("name", ""))}
            for a in config.get("axes", []) or [] if isinstance(a, dict) and "address" in a}
    for extra in options.pop("axes", []) or []:
        address = int(extra["address"])
        axes.setdefault(address, {"address": address}).update(extra)
    return {"class": "IcePAP", "package": "icepap.simulator", **options,
            "axes": [axes[a] for a in sorted(axes)]}
