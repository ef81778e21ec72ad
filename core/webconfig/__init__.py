"""Beacon's web configuration editor (served by BeaconDB).

Browse the tree and its objects, edit YAML or forms with the whole tree validated
before anything is written, every save a git commit with diff and revert, and the live
Tango device behind each object. Every asset ships in the package (static/): it works
on a control network without Internet access.

Modules: paths (what a request may name), history (git), edits (validated saves through
ConfigWriter), objects (object view data, live state), app (Flask routes), server.
"""

from .app import WebOptions, create_app
from .server import WebConfigError, WebPortError, start_web_editor

__all__ = ["WebOptions", "create_app", "start_web_editor", "WebConfigError", "WebPortError"]
