"""Bring a beamline's processes up, keep them up, bring them down."""
