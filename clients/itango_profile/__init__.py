"""The scientist's shell: an itango profile that loads a blisstango session.

Client objects (`objects`) and commands (`motion`, `scans`) work without IPython;
`shell` wires them into IPython/itango. As an IPython extension:
`itango --ext=blisstango.clients.itango_profile` with BLISSTANGO_SESSION=<name>, or
`%load_ext blisstango.clients.itango_profile` then `%blisstango_session <name>`.
"""

from __future__ import annotations

import os


def setup_shell(ip, session_name: str) -> None:
    """Load session `session_name` into the IPython shell `ip` (its objects in `SESSION`)."""
    from .shell import setup_shell as _setup

    _setup(ip, session_name)


def load_ipython_extension(ip) -> None:
    """IPython extension entry: a `%blisstango_session NAME` magic; loads
    $BLISSTANGO_SESSION at once when set."""
    def blisstango_session(line: str) -> None:
        """%blisstango_session NAME: load a blisstango session into this shell."""
        name = line.strip()
        if not name:
            print("usage: %blisstango_session <session name>")
            return
        setup_shell(ip, name)

    ip.register_magic_function(blisstango_session, "line")
    name = os.environ.get("BLISSTANGO_SESSION")
    if name:
        setup_shell(ip, name)
