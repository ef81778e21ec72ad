"""Configuration trees shipped with blisstango (the demo beamline)."""

from pathlib import Path


def demo_config() -> Path:
    """Root folder of the demo beamline's YAML tree, wherever blisstango is installed."""
    return Path(__file__).resolve().parent / "demo_beamline"
