"""Which functions of a session are its procedures.

A procedure is a public function defined in one of the session's setup files or script
files (`scripts:`), the way BLISS users write them: plain Python using the session's
objects and scans. Only these are callable from Tango: a name is looked up in this
catalogue, never evaluated.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Procedure:
    """A session function callable by name (RunProcedure, the shell's runproc)."""

    name: str
    function: Callable[..., Any]
    file: str
    line: int

    @property
    def signature(self) -> inspect.Signature:
        return inspect.signature(self.function)

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.function) or ""

    def usage(self) -> str:
        """`align_m0(width: float = 1.0, npoints: int = 20)`."""
        return f"{self.name}{self.signature}"

    def describe(self) -> dict[str, Any]:
        """What ListProcedures returns for it (JSON-ready)."""
        params = []
        for p in self.signature.parameters.values():
            params.append({"name": p.name, "kind": p.kind.name,
                           "annotation": None if p.annotation is p.empty else _annotation_text(p.annotation),
                           "default": None if p.default is p.empty else repr(p.default),
                           "required": p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)})
        return {"name": self.name, "signature": str(self.signature), "doc": self.doc, "file": self.file,
                "line": self.line, "parameters": params}


def _annotation_text(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def find_procedures(namespace: Mapping[str, Any], files: Iterable[str | Path]) -> dict[str, Procedure]:
    """{name: Procedure} of the public functions of the namespace defined in `files`
    (compiled under those paths: the setup and script files), sorted by name."""
    wanted = {str(f) for f in files}
    found: dict[str, Procedure] = {}
    for name, obj in namespace.items():
        if name.startswith("_") or not inspect.isfunction(obj) or inspect.iscoroutinefunction(obj):
            continue
        code = obj.__code__
        if code.co_filename in wanted:
            found[name] = Procedure(name, obj, code.co_filename, code.co_firstlineno)
    return dict(sorted(found.items()))


__all__ = ["Procedure", "find_procedures"]
