"""A scan described as JSON (docs/scan_chain_json.md) -> an AcquisitionChain and a Scan.

The description is checked as a whole before anything is built, and every problem is a
ScanArgumentError naming where it is ("chain[0].children[1]: unknown counter 'dio'").
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .arguments import ScanArgumentError
from .chain import AcquisitionChain
from .masters import SoftwarePositionTriggerMaster, StepMaster, TimerMaster
from .presets import ScanPreset
from .scan import Scan
from .scans import ReturnToStart
from .session_objects import SessionObjects
from .toolbox import add_counters

MASTER_TYPES = ("step", "timer", "cscan")
NODE_KEYS = {
    "step": {"type", "name", "axes", "children"},
    "timer": {"type", "name", "count_time", "npoints", "sleep_time", "children"},
    "cscan": {"type", "name", "axis", "start", "stop", "npoints", "time", "children"},
    "counters": {"type", "counters", "count_time", "npoints", "acq_params"},
}
TOP_KEYS = {"title", "type", "name", "save", "chain", "presets", "info"}


class SleepPreset(ScanPreset):
    """Wait before or after each iteration of the top masters (settling time)."""

    def __init__(self, before: float = 0.0, after: float = 0.0) -> None:
        self.before, self.after = before, after

    def before_iteration(self, scan, iteration: int) -> None:
        if self.before:
            import gevent

            gevent.sleep(self.before)

    def after_iteration(self, scan, iteration: int) -> None:
        if self.after:
            import gevent

            gevent.sleep(self.after)


class MovePreset(ScanPreset):
    """Move axes before the scan (and, optionally, elsewhere after it)."""

    def __init__(self, before: dict, after: dict) -> None:
        self.before, self.after = before, after
        self.axes = list(dict.fromkeys([*before, *after]))

    @staticmethod
    def _move(targets: dict) -> None:
        for ax, pos in targets.items():
            ax.move(pos, wait=False)
        for ax in targets:
            ax.wait_move()

    def before_scan(self, scan) -> None:
        self._move(self.before)

    def after_scan(self, scan) -> None:
        self._move(self.after)


class ChainBuilder:
    """Builds one description against one session."""

    def __init__(self, session: SessionObjects, context, what: str = "scan description") -> None:
        self.session = session
        self.context = context
        self.what = what  # heads every message: the command or call that gave the description
        self.npoints = 0

    def fail(self, where: str, message: str):
        raise ScanArgumentError(f"{self.what}: {where}: {message}")

    def _num(self, node: dict, key: str, where: str, default=None, minimum=None, integer=False):
        if key not in node:
            if default is None:
                self.fail(where, f"missing {key!r}")
            return default
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(value)
            except (TypeError, ValueError):
                self.fail(where, f"{key} {value!r} is not a number")
        if value != value or value in (float("inf"), float("-inf")):
            self.fail(where, f"{key} {value!r} is not a finite number")
        if integer:
            if int(value) != value:
                self.fail(where, f"{key} {value!r} is not an integer")
            value = int(value)
        if minimum is not None and value < minimum:
            self.fail(where, f"{key} {value} must be >= {minimum}")
        return value

    def _axis(self, name: Any, where: str):
        axis = self.session.axes.get(name) if isinstance(name, str) else None
        if axis is None:
            self.fail(where, f"unknown axis {name!r}; axes of session {self.session.name}: "
                             f"{', '.join(sorted(self.session.axes)) or 'none'}")
        return axis

    def _counters(self, names: Any, where: str) -> list:
        if not isinstance(names, list) or not names:
            self.fail(where, "'counters' must be a non-empty list of counter or measurement group names")
        known = {**self.session.counters, **self.session.groups}
        out = []
        for n in names:
            if n not in known:
                self.fail(where, f"unknown counter {n!r}; counters of session {self.session.name}: "
                                 f"{', '.join(sorted(known)) or 'none'}")
            out.append(known[n])
        return out

    def _keys(self, node: Any, kind: str, where: str) -> None:
        if not isinstance(node, dict):
            self.fail(where, f"a node must be a JSON object, not {type(node).__name__}")
        unknown = set(node) - NODE_KEYS[kind]
        if unknown:
            self.fail(where, f"unknown key(s) {sorted(unknown)} for a {kind!r} node "
                             f"(allowed: {sorted(NODE_KEYS[kind])})")

    # ------------------------------------------------------------------ nodes
    def _step(self, node: dict, where: str):
        axes_desc = node.get("axes")
        if not isinstance(axes_desc, list) or not axes_desc:
            self.fail(where, "'axes' must be a non-empty list of {axis, start, stop, intervals} or "
                             "{axis, positions}")
        axes, positions = [], []
        for i, a in enumerate(axes_desc):
            w = f"{where}.axes[{i}]"
            if not isinstance(a, dict):
                self.fail(w, "must be an object")
            axis = self._axis(a.get("axis"), w)
            if "positions" in a:
                pos = a["positions"]
                if not isinstance(pos, list) or not pos:
                    self.fail(w, "'positions' must be a non-empty list of numbers")
                pos = [self._num({"p": p}, "p", f"{w}.positions") for p in pos]
            else:
                start = self._num(a, "start", w)
                stop = self._num(a, "stop", w)
                intervals = self._num(a, "intervals", w, integer=True, minimum=1)
                pos = list(np.linspace(start, stop, intervals + 1))
            axes.append(axis)
            positions.append(pos)
        if len({len(p) for p in positions}) != 1:
            self.fail(where, f"every axis needs as many positions: got {[len(p) for p in positions]}")
        return StepMaster(axes, positions, name=node.get("name", "axis"))

    def _timer(self, node: dict, where: str):
        return TimerMaster(self._num(node, "count_time", where, minimum=0),
                           self._num(node, "npoints", where, default=1, integer=True, minimum=0),
                           self._num(node, "sleep_time", where, default=0.0, minimum=0),
                           name=node.get("name", "timer"))

    def _cscan(self, node: dict, where: str):
        axis = self._axis(node.get("axis"), where)
        return SoftwarePositionTriggerMaster(
            axis, self._num(node, "start", where), self._num(node, "stop", where),
            self._num(node, "npoints", where, integer=True, minimum=1),
            self._num(node, "time", where, minimum=1e-6), name=node.get("name", "axis"))

    def _master(self, chain: AcquisitionChain, node: Any, where: str, parent=None, count_time=0.0):
        if not isinstance(node, dict):
            self.fail(where, f"a node must be a JSON object, not {type(node).__name__}")
        kind = node.get("type")
        if kind not in MASTER_TYPES:
            self.fail(where, f"type {kind!r} is not a master type ({', '.join(MASTER_TYPES)})")
        self._keys(node, kind, where)
        master = getattr(self, f"_{kind}")(node, where)
        if parent is None:
            chain.add(master)
            if not self.npoints:
                self.npoints = master.iterations() if kind != "cscan" else master.npoints
        else:
            chain.add(parent, master)
        if kind == "timer":
            count_time = master.count_time
        children = node.get("children", [])
        if not isinstance(children, list):
            self.fail(where, "'children' must be a list")
        for i, child in enumerate(children):
            w = f"{where}.children[{i}]"
            if isinstance(child, dict) and child.get("type", "counters") == "counters":
                self._keys(child, "counters", w)
                counters = self._counters(child.get("counters"), w)
                ct = self._num(child, "count_time", w, default=count_time, minimum=0)
                npts = self._num(child, "npoints", w, default=master.npoints, integer=True, minimum=0)
                acq_params = child.get("acq_params") or {}
                if not isinstance(acq_params, dict) or not all(isinstance(v, dict) for v in acq_params.values()):
                    self.fail(w, "'acq_params' must map controller names to objects of parameters")
                try:
                    add_counters(chain, master, counters, {"npoints": npts, "count_time": ct}, acq_params)
                except (ValueError, TypeError) as exc:
                    self.fail(w, str(exc))
            else:
                self._master(chain, child, w, master, count_time)
        return master

    def _preset(self, p: Any, where: str) -> ScanPreset:
        if isinstance(p, str):
            obj = self.session.namespace.get(p)
            if not isinstance(obj, ScanPreset):
                self.fail(where, f"{p!r} is not a ScanPreset of session {self.session.name}")
            return obj
        if not isinstance(p, dict):
            self.fail(where, "a preset is a session preset name or an object with 'type'")
        kind = p.get("type")
        if kind == "sleep":
            return SleepPreset(self._num(p, "before", where, default=0.0, minimum=0),
                               self._num(p, "after", where, default=0.0, minimum=0))
        if kind == "return_to_start":
            return ReturnToStart([self._axis(a, where) for a in p.get("axes", [])])
        if kind == "move":
            def targets(key):
                value = p.get(key, {})
                if not isinstance(value, dict):
                    self.fail(where, f"{key!r} must map axis names to positions")
                return {self._axis(a, where): self._num(value, a, where) for a in value}
            return MovePreset(targets("before"), targets("after"))
        self.fail(where, f"preset type {kind!r} is not one of sleep, return_to_start, move "
                         "(or give the name of a ScanPreset of the session)")

    def build(self, description: Any) -> Scan:
        if isinstance(description, (str, bytes)):
            try:
                description = json.loads(description)
            except ValueError as exc:
                raise ScanArgumentError(f"{self.what}: malformed JSON: {exc}") from None
        if not isinstance(description, dict):
            raise ScanArgumentError(f"{self.what}: the description must be a JSON object with a 'chain' list")
        unknown = set(description) - TOP_KEYS
        if unknown:
            self.fail("description", f"unknown key(s) {sorted(unknown)} (allowed: {sorted(TOP_KEYS)})")
        tops = description.get("chain")
        if isinstance(tops, dict):
            tops = [tops]
        if not isinstance(tops, list) or not tops:
            self.fail("description", "'chain' must be a non-empty list of master nodes")
        chain = AcquisitionChain()
        for i, top in enumerate(tops):
            self._master(chain, top, f"chain[{i}]")
        presets = [self._preset(p, f"presets[{i}]") for i, p in enumerate(description.get("presets", []) or [])]
        title = str(description.get("title") or description.get("name") or "runscan")
        info = dict(description.get("info") or {})
        axes = [ax for n in chain.nodes for ax in getattr(n, "axes", [getattr(n, "axis", None)]) if ax]
        info.update(type=str(description.get("type", "runscan")), title=title, npoints=self.npoints,
                    axes=[a.name for a in axes], description=description)
        save = description.get("save", True)
        if not isinstance(save, bool):
            self.fail("description", f"'save' must be true or false, not {save!r}")
        return Scan(chain, str(description.get("name") or "runscan"), info, context=self.context,
                    save=save, presets=presets)


def build_scan(description: Any, session: SessionObjects, context, what: str = "scan description") -> Scan:
    """The Scan (not started) a JSON description (text or parsed) gives against the
    session's objects; every problem is a ScanArgumentError headed by `what`."""
    return ChainBuilder(session, context, what).build(description)
