"""The YAML configuration tree of a beamline: objects, plugins, sessions, writes.

Reading uses libyaml for speed; writes (writer.py) use ruamel round-trip so comments
and key order survive.
"""

from .errors import ConfigError, ConfigErrors
from .factory import ObjectFactory
from .node import ConfigNode
from .session import Session
from .tree import ConfigTree, TreeChanges, load_tree

__all__ = [
    "ConfigError",
    "ConfigErrors",
    "ConfigNode",
    "ConfigTree",
    "ObjectFactory",
    "Session",
    "TreeChanges",
    "load_tree",
]
