"""How a silicon drift detector turns photons into a spectrum, and how many it keeps.

- Resolution: FWHM(E) = sqrt(noise**2 + 2.3548**2 * eps * F * E) (electronic noise plus
  Fano statistics of the charge made in silicon: eps = 3.85 eV per pair, F = 0.118);
  about 150 eV at 5.9 keV with 100 eV of noise.
- Every line also leaves a silicon escape peak 1.740 keV lower (1 % above the Si edge)
  and a flat low-energy shelf (incomplete charge collection, 1 %).
- Scatter: the elastic peak at the beam energy and the Compton peak at
  E / (1 + E/511 (1 - cos 90 deg)), broadened by the electrons' motion.
- Paralyzable dead time: of R photons/s arriving, R exp(-R tau) are processed; the fast
  (trigger) channel has its own, shorter, dead time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..calibration import Calibration
from .lines import emission_lines

SI_EPS = 3.85e-3      # keV per electron-hole pair
FANO = 0.118
SI_ESCAPE = 1.740     # keV, Si K alpha
SI_EDGE = 1.839
ESCAPE_FRACTION = 0.01
SHELF_FRACTION = 0.01
COMPTON_DOPPLER = 0.25  # keV of extra FWHM of the Compton peak


@dataclass(frozen=True)
class DetectorResponse:
    noise: float = 0.100          # keV FWHM of the electronics
    tau: float = 1.0e-6           # s: dead time of the energy (slow) channel, paralyzable
    tau_fast: float = 0.1e-6      # s: dead time of the trigger (fast) channel

    def fwhm(self, energy: float) -> float:
        """Energy resolution (keV FWHM) at `energy` keV."""
        return math.sqrt(self.noise ** 2 + 2.3548 ** 2 * SI_EPS * FANO * max(energy, 0.0))

    def peak(self, energies: np.ndarray, energy: float, fwhm: float | None = None) -> np.ndarray:
        """Counts per bin of one photon of `energy` (area 1 over the full energy range,
        whatever falls outside the bins is lost), with its escape peak and shelf."""
        out = _gauss(energies, energy, fwhm or self.fwhm(energy))
        main = 1.0
        if energy > SI_EDGE:
            out = out * (1 - ESCAPE_FRACTION) + ESCAPE_FRACTION * _gauss(energies, energy - SI_ESCAPE,
                                                                         self.fwhm(energy - SI_ESCAPE))
        shelf = np.where((energies > 0) & (energies < energy), 1.0, 0.0)
        if shelf.any() and energy > 0:
            width = _bin_width(energies)
            out = out * (main - SHELF_FRACTION) + SHELF_FRACTION * shelf * width / energy
        return out

    def element_shape(self, energies: np.ndarray, element: str, beam_energy: float) -> np.ndarray:
        """Counts per bin of one fluorescence photon of `element` (its lines weighted by
        their relative intensities); zeros when the beam cannot excite it."""
        lines = emission_lines(element, beam_energy)
        out = np.zeros_like(energies)
        total = sum(w for _n, _e, w in lines)
        for _name, e, w in lines:
            out += (w / total) * self.peak(energies, e)
        return out

    def scatter_shapes(self, energies: np.ndarray, beam_energy: float) -> tuple[np.ndarray, np.ndarray]:
        """(elastic, Compton) peak shapes for a 90 degree scattering angle."""
        compton = beam_energy / (1 + beam_energy / 511.0)
        width = math.hypot(self.fwhm(compton), COMPTON_DOPPLER)
        return self.peak(energies, beam_energy), self.peak(energies, compton, width)

    def output_fraction(self, rate: float) -> float:
        """Fraction of the arriving photons the energy channel processes (paralyzable)."""
        return math.exp(-rate * self.tau)

    def trigger_live_fraction(self, rate: float) -> float:
        return math.exp(-rate * self.tau_fast)


def _gauss(energies: np.ndarray, center: float, fwhm: float) -> np.ndarray:
    sigma = fwhm / 2.3548
    return np.exp(-0.5 * ((energies - center) / sigma) ** 2) * (_bin_width(energies) / (sigma * math.sqrt(2 * math.pi)))


def _bin_width(energies: np.ndarray) -> np.ndarray:
    return np.gradient(energies) if energies.size > 1 else np.ones_like(energies)


def spectrum_bins(calibration: Calibration, size: int) -> np.ndarray:
    return calibration.energies(size)
