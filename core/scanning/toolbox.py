"""Build the default chain of a scan from a list of counters, grouped by controller.

Counters may be given as Counter, CounterController (all its counters) or
MeasurementGroup (its enabled counters). Each controller gets one acquisition object
reading all its counters per point; calc counters are computed from their inputs'
channels (inputs not asked for are still read, since the calc needs them).

Detectors that are acquisition masters (a 2D detector: its frames are the clock of the
values computed on them): a controller with `get_acquisition_master(params)` gets one
master node under the scan's master, its own counters (the image) become that node's
channels (`node.add_counters(counters)`), and the controllers naming it as their
`master_controller` (its ROI and BPM counters) hang their slaves under that node. The
params carry `timed` (true when the master is a top timer: nothing moves between points,
the detector may time its frames itself) and the timer's `sleep_time`.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..counters.calc import CalcCounter, CalcSlave
from ..counters.counter import Counter, CounterController
from .acquisition import AcquisitionMaster, AcquisitionObject
from .chain import AcquisitionChain
from .masters import TimerMaster


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


def is_detector(ctrl) -> bool:
    """A controller whose acquisition object is a master of its own (a 2D detector)."""
    return ctrl is not None and callable(getattr(ctrl, "get_acquisition_master", None))


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
    scan_params = dict(scan_params)
    if isinstance(master, TimerMaster):
        scan_params.setdefault("timed", master.parent is None)
        scan_params.setdefault("sleep_time", master.sleep_time)
    detectors: dict = {}

    def detector_node(ctrl) -> AcquisitionMaster:
        node = detectors.get(ctrl)
        if node is None:
            params = ctrl.get_default_acq_params(scan_params)
            params.update(overrides.get(ctrl.name, {}))
            node = detectors[ctrl] = ctrl.get_acquisition_master(params)
            chain.add(master, node)
            nodes.append(node)
        return node

    for ctrl, cnts in counters_by_controller(plain).items():
        if is_detector(ctrl):
            node = detector_node(ctrl)
            node.add_counters(cnts)
            channels.update({ch.name: ch for ch in node.channels})
            continue
        parent = detector_node(ctrl.master_controller) if is_detector(ctrl.master_controller) else master
        params = ctrl.get_default_acq_params(scan_params)
        params.update(overrides.get(ctrl.name, {}))
        node = ctrl.get_acquisition_object(cnts, params)
        chain.add(parent, node)
        nodes.append(node)
        channels.update({ch.name: ch for ch in node.channels})
    for calc in calcs:
        node = calc.controller.get_acquisition_object([calc], {"npoints": scan_params.get("npoints", 1)})
        assert isinstance(node, CalcSlave)
        node.input_channels = {i.fullname: channels[i.fullname] for i in calc.inputs}
        chain.add(master, node)
        nodes.append(node)
    return nodes
