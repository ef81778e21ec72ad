"""A session's objects in another process than their servers', found through TANGO_HOST
only: the one resolver (resolver.py) used by the ScanServer and the shell."""

from .nodes import RemoteNode
from .resolver import (
           ResolvedSession,
           SessionEntry,
           SessionFactory,
           register_client,
           resolve_objects,
           resolve_session,
)

__all__ = ["RemoteNode", "ResolvedSession", "SessionEntry", "SessionFactory", "register_client",
           "resolve_objects", "resolve_session"]
