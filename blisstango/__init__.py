"""blisstango: beamline experiment control built the BLISS way, Tango-first.

The sub-packages live in the repository's top-level folders (core/, servers/,
clients/, examples/) and are mapped here by setup.cfg's package_dir; setup.py
discovers every package below them.
"""

__version__ = "0.1.0"
