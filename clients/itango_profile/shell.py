"""The interactive shell: IPython + itango + a session's client objects and commands.

`blisstango shell -s demo` calls `run_shell("demo")`; people starting itango themselves
load the same thing with `itango --ext=blisstango.clients.itango_profile` (session from
$BLISSTANGO_SESSION) or `%load_ext blisstango.clients.itango_profile` then
`%blisstango_session demo`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import gevent
import tango

from blisstango.core.lima.client import LimaConfigError
from blisstango.core.motion.errors import MotionError

from .motion import command, motion_commands
from .objects import Session, ShellError, error_line, shell_session
from .plot import log_file, open_plot
from .procedures import procedure_commands, prompt_status
from .scans import scan_commands
from .typing_helper import make_transformer

#: exceptions shown as one line (the DevFailed reason, or the class and message) without a
#: traceback; a remote axis turns its device's refusals into MotionError/LimitError, a
#: detector's refusal names the detector, the parameter and what is allowed
ONE_LINE_ERRORS = (tango.DevFailed, ShellError, MotionError, KeyboardInterrupt, LimaConfigError)


def state_dir() -> Path:
    """The user's state folder for blisstango ($XDG_STATE_HOME/blisstango)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "blisstango"


def history_file(session: str) -> Path:
    path = state_dir() / "shell" / f"{session}_history.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def session_namespace(session: Session) -> dict[str, Any]:
    """Everything the shell puts in the user namespace for a session."""
    ns: dict[str, Any] = dict(session.namespace)
    ns.update(motion_commands(session))
    ns.update(scan_commands(session))
    ns.update(procedure_commands(session))
    ns["sleep"] = gevent.sleep     # as in the ScanServer's namespace: procedures call sleep()
    ns["plot"] = plot_command(session)
    ns["SESSION"] = session
    return ns


def plot_command(session: Session):
    @command
    def plot() -> None:
        """Open the live plot of this session's scans (a window of its own; once)."""
        window = open_plot(session.name)
        print(f"live plot of session {session.name}: window pid {window.pid} (log {log_file(session.name)})")

    return plot


def _one_line(shell, etype, value, tb, tb_offset=None):
    print("\nInterrupted" if etype is KeyboardInterrupt else error_line(value))
    shell.user_ns["_last_error"] = (etype, value, tb)
    return None


def setup_shell(ip, session_name: str) -> Session:
    """Load the session into a running IPython shell: namespace, typing helper, one-line
    errors, prompt with the session name, setup file."""
    session = shell_session(session_name)
    ns = session_namespace(session)
    ip.user_ns.update(ns)
    ip.input_transformers_post.append(make_transformer(ip.user_ns))
    ip.set_custom_exc(ONE_LINE_ERRORS, _one_line)
    _set_prompt(ip, session_name)
    for text in (session.setup_text, session.scripts_text):
        if text.strip():
            ip.run_cell(text, store_history=False, silent=False)
    if session.scan_server is None:
        print(f"(no ScanServer reachable for session {session_name}: motion only; scans will say so)")
    return session


def _set_prompt(ip, session_name: str) -> None:
    try:
        from IPython.terminal.prompts import Prompts, Token
    except ImportError:   # not a terminal shell (kernel)
        return

    class SessionPrompts(Prompts):
        def in_prompt_tokens(self):
            procedures = self.shell.user_ns.get("_procedures") or {}
            running = prompt_status(procedures.get("client"))   # a procedure run on the server
            return [(Token.Prompt, f"{session_name.upper()} "),
                    *([(Token.Prompt, f"[{running}] ")] if running else []),
                    (Token.Prompt, "["),
                    (Token.PromptNum, str(self.shell.execution_count)),
                    (Token.Prompt, "]: ")]

        def out_prompt_tokens(self):
            return [(Token.OutPrompt, "         Out ["),
                    (Token.OutPromptNum, str(self.shell.execution_count)),
                    (Token.OutPrompt, "]: ")]

    if hasattr(ip, "prompts"):
        ip.prompts = SessionPrompts(ip)


def _config(session_name: str):
    from traitlets.config import Config

    cfg = Config()
    try:
        import itango

        itango.load_config(cfg)           # itango's extension: Tango completion and magics
    except ImportError:
        pass
    cfg.HistoryManager.hist_file = str(history_file(session_name))
    cfg.TerminalInteractiveShell.banner1 = (
        f"blisstango shell, session {session_name} (TANGO_HOST={os.environ.get('TANGO_HOST', '?')})\n")
    cfg.TerminalInteractiveShell.banner2 = "wa, lsmot, lscnt, ascan m0 0 4 8 0.1 diode, cen(diode) ...\n"
    cfg.TerminalInteractiveShell.confirm_exit = False
    cfg.TerminalInteractiveShell.colors = "NoColor" if os.environ.get("NO_COLOR") else "Linux"
    cfg.InteractiveShellApp.exec_lines = [
        f"import blisstango.clients.itango_profile as _bt; _bt.setup_shell(get_ipython(), {session_name!r});"
    ]
    return cfg


def real_thread_queues() -> None:
    """prompt_toolkit hands work to real threads through `queue.Queue`; under gevent's
    patching (threads excluded) that queue belongs to one thread's hub and its getter
    thread dies (LoopExit). Give those modules the standard library queue back."""
    import types

    import gevent.monkey

    if not gevent.monkey.is_module_patched("queue"):
        return
    import _queue

    originals = types.SimpleNamespace(Queue=gevent.monkey.get_original("queue", "Queue"),
                                      Empty=_queue.Empty, Full=gevent.monkey.get_original("queue", "Full"))
    from prompt_toolkit import patch_stdout
    from prompt_toolkit.eventloop import async_generator

    patch_stdout.queue = originals
    async_generator.Queue, async_generator.Empty, async_generator.Full = (
        originals.Queue, originals.Empty, originals.Full)


def quiet_interrupts() -> None:
    """Ctrl-C reaches the command as KeyboardInterrupt; gevent's hub need not print it."""
    import gevent

    hub = gevent.get_hub()
    if KeyboardInterrupt not in hub.NOT_ERROR:
        hub.NOT_ERROR = (*hub.NOT_ERROR, KeyboardInterrupt)


def run_shell(session_name: str, argv: list[str] | None = None) -> int:
    """Start the interactive shell of a session (blocks until the user leaves)."""
    import IPython

    try:
        shell_session(session_name)       # fail early, with one line, before IPython starts
    except (ShellError, tango.DevFailed) as exc:
        where = os.environ.get("TANGO_HOST", "TANGO_HOST unset: /etc/tangorc")
        print(f"blisstango shell ({where}): {error_line(exc)}", file=sys.stderr)
        return 1
    real_thread_queues()
    quiet_interrupts()
    IPython.start_ipython(argv=list(argv or []), config=_config(session_name))
    return 0
