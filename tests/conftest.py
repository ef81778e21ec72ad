"""Shared fixtures. Every process is made gevent-cooperative first, as servers are."""

from blisstango.core import green

green.patch()

import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
DEMO_CONFIG = REPO / "examples" / "demo_beamline"

# Debian's /etc/tangorc sets a TANGO_HOST that Tango tools use silently: never let a
# test reach a database it did not start.
os.environ["TANGO_HOST"] = "127.0.0.1:1"


@pytest.fixture
def demo_config() -> Path:
    """Path of the demo beamline configuration tree."""
    return DEMO_CONFIG
