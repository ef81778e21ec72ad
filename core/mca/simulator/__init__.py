"""A fluorescence detector in front of a sample, simulated: the `FluorescenceSimulator`
MCA whose spectra come from X-ray emission lines at their real energies, a detector
response, a sample map over two beamline axes, the beam intensity, paralyzable dead time
and Poisson noise."""

from .lines import LINES, edge_energy, emission_lines
from .physics import DetectorResponse
from .sample import SampleMap, Spot
from .simulator import FluorescenceSimulator

__all__ = ["LINES", "edge_energy", "emission_lines", "DetectorResponse", "SampleMap", "Spot",
           "FluorescenceSimulator"]
