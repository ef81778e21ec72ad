"""Why BeaconDB ended, said in its log.

cppTango ends a device server cleanly, with exit code 0 and not a word, on SIGINT,
SIGTERM or SIGQUIT (from anyone: `blisstango up` stopping it, `kill`, a stray
`pkill -f BeaconDB`, which also reaches the BeaconDBs inside other PID and network
namespaces of this machine) and on its admin device's Kill command (tango_admin, Astor,
a Starter's DevStop). A database that vanished with code 0 then left no trace of which.
The DataBase device registers these signals with cppTango (its signal thread calls
`note_signal`, then ends the server as before), and `last_words` is printed when the
server loop returns.
"""

from __future__ import annotations

import os
import signal
import sys

#: the signals after which cppTango ends the server (exit code 0)
ENDING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)

_received: list[str] = []


def note_signal(signo: int) -> None:
    """cppTango's signal thread: say which signal ends the server, at once."""
    name = signal.Signals(signo).name
    _received.append(name)
    print(f"BeaconDB (pid {os.getpid()}): {name} received (a supervisor's stop, kill or pkill): "
          "ending the server", file=sys.stderr, flush=True)


def last_words(server: str) -> str:
    """The line printed as the server loop has returned (exit code 0 follows)."""
    why = (f"{_received[0]} received" if _received else
           f"no ending signal: its admin device dserver/{server} was sent Kill "
           "(tango_admin, Astor, a Starter's DevStop)")
    return f"BeaconDB {server} (pid {os.getpid()}): Tango server loop ended ({why}); exit code 0"
