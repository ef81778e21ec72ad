"""Build the default chain of a scan from a list of counters, grouped by controller.

Counters may be given as Counter, CounterController (all its counters) or
MeasurementGroup (its enabled counters). Each controller gets one acquisition object
reading all its counters per point; calc counters are computed from their inputs'
channels (inputs not asked for are still read, since the calc needs them).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..counters.calc import CalcCounter, CalcSlave
from ..counters.counter import Counter, CounterController
from .acquisition import AcquisitionMaster, AcquisitionObject
from .chain import AcquisitionChain


def expand_counters(items: Iterable) -> list[Counter]:
    """Flatten counters, controllers and measurement groups, keep order, drop repeats."""
    out: list[Counter] = []
    for item in items:
        if isinstance(item, Counter):
            found = [item]
        elif isinstance(item, CounterController):
            found = item.counters
        elif hasattr(item, "enabled") and hasattr(item, "available"):  # MeasurementGroup
            found = item.enabled
        elif isinstance(item, (list, tuple, set)):
            found = expand_counters(item)
        else:
            raise TypeError(f"{item!r} is not a counter, a counter controller or a measurement group")
        for c in found:
            if c not in out:
                out.append(c)
    return out


def counters_by_controller(counters: Iterable[Counter]) -> dict[CounterController, list[Counter]]:
    groups: dict[CounterController, list[Counter]] = {}
    for c in counters:
        groups.setdefault(c.controller, []).append(c)
    return groups


def add_counters(chain: AcquisitionChain, master: AcquisitionMaster, counters: Iterable,
                 scan_params: dict, acq_params: dict | None = None) -> list[AcquisitionObject]:
    """Hang one acquisition object per controller under master; returns them.

    scan_params: {"npoints", "count_time"}; acq_params: per-controller-name overrides."""
    wanted = expand_counters(counters)
    calcs = [c for c in wanted if isinstance(c, CalcCounter)]
    plain = [c for c in wanted if not isinstance(c, CalcCounter)]
    for calc in calcs:
        for i in calc.inputs:
            if i not in plain:
                plain.append(i)
    overrides = acq_params or {}
    nodes: list[AcquisitionObject] = []
    channels: dict = {}
    for ctrl, cnts in counters_by_controller(plain).items():
        params = ctrl.get_default_acq_params(scan_params)
        params.update(overrides.get(ctrl.name, {}))
        node = ctrl.get_acquisition_object(cnts, params)
        chain.add(master, node)
        nodes.append(node)
        channels.update({ch.name: ch for ch in node.channels})
    for calc in calcs:
        node = calc.controller.get_acquisition_object([calc], {"npoints": scan_params.get("npoints", 1)})
        assert isinstance(node, CalcSlave)
        node.input_channels = {i.fullname: channels[i.fullname] for i in calc.inputs}
        chain.add(master, node)
        nodes.append(node)
    return nodes
