"""Regulation: the Tango server of the configured regulation loops, inputs and outputs
(`Regulation <instance>`), with the class, attribute and command names of BLISS's
regulation server."""
