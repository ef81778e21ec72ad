"""The `emotion` config plugin: builds motion controllers and their axes from the YAML tree.

A controller (`class:` + `axes:`) is built with all its axes, encoders and shutters;
asking for an axis builds its controller. Calc controllers list their real axes as
references (`- name: $sl_up` + `tags: real up`).
"""

from __future__ import annotations

import importlib
from typing import Any

from blisstango.core.config.errors import ConfigError

from .calc import CalcController
from .controller import Controller

CONTROLLER_CLASSES = {
    "IcePAP": "blisstango.core.motion.icepap:IcePAP",
    "Mockup": "blisstango.core.motion.mockup:Mockup",
    "Slits": "blisstango.core.motion.slits:Slits",
    "TangoAxis": "blisstango.core.motion.tango_axis:TangoAxis",
}


def controller_class(node: Any) -> type[Controller]:
    """`class:` is a known name (IcePAP, Mockup, Slits, TangoAxis) or `package.module:Class`."""
    name = str(node["class"])
    path = CONTROLLER_CLASSES.get(name, name)
    mod, _, attr = path.partition(":") if ":" in path else path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(f"{node.name}: unknown motion controller class {name!r} "
                          f"(known: {', '.join(CONTROLLER_CLASSES)})", node.file,
                          node.key_line("class")) from None
    if not (isinstance(cls, type) and issubclass(cls, Controller)):
        raise ConfigError(f"{node.name}: {name} is not a motion Controller", node.file, node.key_line("class"))
    return cls


def _object_config(node: Any, item: dict) -> dict:
    child = node.tree.get(item["name"])
    return child.to_dict() if child is not None else dict(item)


def build_controller(node: Any, factory: Any) -> Controller:
    cls = controller_class(node)
    axes, reals = [], {}
    for item in node.get("axes", []) or []:
        name = str(item.get("name", ""))
        if name.startswith("$"):
            tags = str(item.get("tags", "")).split()
            if len(tags) < 2 or tags[0] != "real":
                raise ConfigError(f"{node.name}: reference {name} needs `tags: real <tag>`",
                                  node.file, node.key_line("axes"))
            reals[tags[1]] = factory.get(name[1:])
        else:
            axes.append(_object_config(node, item))
    if reals and not issubclass(cls, CalcController):
        raise ConfigError(f"{node.name}: only calc controllers take real axis references",
                          node.file, node.key_line("axes"))
    kwargs: dict[str, Any] = dict(
        axes=axes,
        encoders=[_object_config(node, e) for e in node.get("encoders", []) or []],
        shutters=[_object_config(node, s) for s in node.get("shutters", []) or []],
        config_root=str(node.tree.root),
    )
    if issubclass(cls, CalcController):
        kwargs["reals"] = reals
    try:
        ctrl = cls(node.name, node.to_dict(), **kwargs)
    except Exception as exc:
        text = str(exc)  # named once: a controller's own errors already start with its name
        raise ConfigError(text if text.startswith(f"{node.name}: ") else f"{node.name}: {text}",
                          node.file, node.line) from exc
    for group in (ctrl.axes, ctrl.encoders, ctrl.shutters):
        for obj_name, obj in group.items():
            factory.add(obj_name, obj)
    for ax in ctrl.axes.values():
        for ref in ax.config.get("motion_hooks", []) or []:
            ax.motion_hooks.append(factory.get(str(ref).lstrip("$")))
    return ctrl


def build(node: Any, factory: Any) -> Any:
    """Plugin entry point: a controller, or one of its axes/encoders/shutters."""
    if "class" in node and node.parent is None:
        return build_controller(node, factory)
    parent = node.parent
    if parent is None:
        raise ConfigError(f"{node.name}: an emotion object needs a `class` or an enclosing controller",
                          node.file, node.line)
    ctrl = factory.get(parent.name)
    for group in (ctrl.axes, ctrl.encoders, ctrl.shutters):
        if node.name in group:
            return group[node.name]
    raise ConfigError(f"{node.name}: not built by controller {parent.name}", node.file, node.line)
