"""The two plugins every tree can use without any framework: plain dicts and sessions."""

from __future__ import annotations

from typing import Any


def build_default(node, factory) -> dict[str, Any]:
    """A `default` object is its configuration as a plain dict (inherited keys included)."""
    return node.to_dict()


def build_session(node, factory):
    """A `session` object is its resolved Session (objects, setup files, includes)."""
    return node.tree.get_session(node.name)
