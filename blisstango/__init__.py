"""blisstango: beamline experiment control built the BLISS way, Tango-first.

The sub-packages live in the repository's top-level folders (core/, servers/,
clients/, taurus_gui/) and are mapped here by setup.cfg's package_dir.
"""

__version__ = "0.1.0"
