"""The `regulation` config plugin: controllers with their inputs, outputs and loops, and
the loops, inputs and outputs that live outside any controller (BLISS's YAML):

    - name: furnace                   # a controller (examples/demo_beamline/regulation/)
      class: FurnaceSimulator         # | SelfRegulatingFurnace | package.module:Class
      plant: {heat_capacity: 10.0, loss: 2.0, max_power: 200.0, delay: 0.2, noise: 0.02}
      inputs:  [{name: sample_tc, channel: A, unit: degC}]
      outputs: [{name: heater_power, channel: A, unit: "%", low_limit: 0, high_limit: 100}]
      ctrl_loops: []                  # hardware loops: {name, input: $in, output: $out, P, I, D, ...}
    - name: sample_temp
      class: SoftLoop                 # PID in the server
      input: $sample_tc
      output: $heater_power
      P: 0.1; I: 0.05; D: 0.0; low_limit: 0.0; high_limit: 1.0; frequency: 10
      deadband: 0.5; deadband_time: 1.0; ramprate: 5.0; wait_mode: deadband
      setpoint_low_limit: 0; setpoint_high_limit: 150
    - {name: diode_in, class: ExternalInput, device: $diode}
    - {name: tc_in, class: ExternalInput, device: $wago1, counter: tc1}   # one counter of a controller
    - {name: m1_out, class: ExternalOutput, device: $m1, low_limit: -1, high_limit: 1, mode: relative}

In the Regulation server an external `device` of another plugin (an AxisManager axis, a
Wago channel, another server's counter) is that server's client through the session
resolver (ObjectFactory.remote), never built a second time here.

Every built loop is initialized at once: parameters to the hardware, regulation off,
output safe (a server that restarts never heats on its own).
"""

from __future__ import annotations

import importlib
from typing import Any

from blisstango.core.config.errors import ConfigError

from .controller import Controller
from .io import ExternalInput, ExternalOutput, Input, Output
from .loop import Loop
from .softloop import SoftLoop

CONTROLLER_CLASSES = {
    "CryoCon": "blisstango.core.regulation.cryocon:CryoCon",
    "FurnaceSimulator": "blisstango.core.regulation.furnace:FurnaceSimulator",
    "SelfRegulatingFurnace": "blisstango.core.regulation.furnace:SelfRegulatingFurnace",
}
STANDALONE = ("SoftLoop", "ExternalInput", "ExternalOutput")


def controller_class(node: Any) -> type[Controller]:
    name = str(node["class"])
    path = CONTROLLER_CLASSES.get(name, name)
    mod, _, attr = path.partition(":") if ":" in path else path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError, ValueError):
        known = ", ".join([*CONTROLLER_CLASSES, *STANDALONE])
        raise ConfigError(f"{node.name}: unknown regulation class {name!r} (known: {known}, or "
                          f"package.module:Class)", node.file, node.key_line("class")) from None
    if not (isinstance(cls, type) and issubclass(cls, Controller)):
        raise ConfigError(f"{node.name}: {name} is not a regulation Controller", node.file, node.key_line("class"))
    return cls


def _ref(node: Any, cfg: dict, key: str, factory: Any, where: Any = None) -> Any:
    where = where or node
    value = cfg.get(key)
    if not isinstance(value, str) or not value.startswith("$"):
        raise ConfigError(f"{cfg.get('name', node.name)}: `{key}` must name an object as ${key}_name, "
                          f"got {value!r}", where.file, where.key_line(key) if key in where else where.line)
    return factory.get(value[1:])


def _external_device(node: Any, cfg: dict, factory: Any) -> Any:
    """`device: $name`, with `counter: <counter name>` for one counter of a controller
    (`device: $wago1, counter: thermocouple1`)."""
    value = cfg.get("device")
    where = node.key_line("device") if "device" in node else node.line
    if not isinstance(value, str) or not value.startswith("$"):
        raise ConfigError(f"{node.name}: `device` must name an object as $name, got {value!r}", node.file, where)
    name = value[1:]
    remote = getattr(factory, "remote", None)
    if remote is not None and factory.tree[name].plugin != "regulation":
        obj = remote(name)
    else:
        obj = factory.get(name)
    member = cfg.get("counter")
    if member is None:
        return obj
    counters = {c.name: c for c in getattr(obj, "counters", None) or []}
    found = counters.get(str(member)) or counters.get(f"{name}:{member}")
    if found is None:
        raise ConfigError(f"{node.name}: {name} has no counter {member!r} (it has: {', '.join(counters) or 'none'})",
                          node.file, node.key_line("counter") if "counter" in node else where)
    return found


def _item_config(node: Any, item: dict) -> tuple[dict, Any]:
    child = node.tree.get(item["name"])
    return (child.to_dict(), child) if child is not None else (dict(item), node)


def _init_loop(loop: Loop, node: Any) -> Loop:
    loop.config_root = str(node.tree.root)
    try:
        loop.initialize()
    except Exception as exc:
        raise ConfigError(f"{loop.name}: cannot initialize: {exc}", node.file, node.line) from exc
    return loop


def build_controller(node: Any, factory: Any) -> Controller:
    cls = controller_class(node)
    try:
        ctrl = cls(node.name, node.to_dict())
        ctrl.initialize_controller()
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"{node.name}: {exc}", node.file, node.line) from exc
    factory.add(node.name, ctrl)
    root = str(node.tree.root)
    for key, klass, group in (("inputs", Input, ctrl.inputs), ("outputs", Output, ctrl.outputs)):
        for item in node.get(key, []) or []:
            cfg, _ = _item_config(node, item)
            obj = klass(ctrl, cfg)
            obj.config_root = root
            group[obj.name] = obj
            factory.add(obj.name, obj)
            with ctrl.lock:
                (ctrl.initialize_input if klass is Input else ctrl.initialize_output)(obj)
    for item in node.get("ctrl_loops", []) or []:
        cfg, where = _item_config(node, item)
        loop = Loop(ctrl, cfg, _ref(node, cfg, "input", factory, where), _ref(node, cfg, "output", factory, where))
        ctrl.loops[loop.name] = loop
        factory.add(loop.name, loop)
        with ctrl.lock:
            ctrl.initialize_loop(loop)
        _init_loop(loop, where)
    return ctrl


def build_standalone(node: Any, factory: Any) -> Any:
    cfg = node.to_dict()
    cls = cfg["class"]
    if cls == "SoftLoop":
        return _init_loop(SoftLoop(cfg, _ref(node, cfg, "input", factory), _ref(node, cfg, "output", factory)), node)
    device = _external_device(node, cfg, factory)
    try:
        obj = ExternalInput(cfg, device) if cls == "ExternalInput" else ExternalOutput(cfg, device)
    except ValueError as exc:
        raise ConfigError(str(exc), node.file, node.line) from None
    obj.config_root = str(node.tree.root)
    return obj


def build(node: Any, factory: Any) -> Any:
    """Plugin entry point: a controller, a standalone loop/input/output, or an item
    (input, output, loop) of a controller."""
    if "class" in node and node.parent is None:
        if str(node["class"]) in STANDALONE:
            return build_standalone(node, factory)
        return build_controller(node, factory)
    parent = node.parent
    if parent is None:
        raise ConfigError(f"{node.name}: a regulation object needs a `class` or an enclosing controller",
                          node.file, node.line)
    ctrl = factory.get(parent.name)
    for group in (ctrl.inputs, ctrl.outputs, ctrl.loops):
        if node.name in group:
            return group[node.name]
    raise ConfigError(f"{node.name}: not built by controller {parent.name}", node.file, node.line)
