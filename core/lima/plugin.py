"""Config plugins of 2D detectors.

`lima_simulator`: a simulated camera (its LimaSimulator server builds it; elsewhere the
object is its checked description, a CameraConfig)::

    - name: cam1_sim
      plugin: lima_simulator
      width: 512            # sensor, pixels
      height: 512
      image_type: Bpp16
      readout_time: 0.0005  # s after each exposure
      max_frame_rate: 1000  # Hz
      beam:                 # spot in pixels, flux in counts/s, background counts/s/pixel
        x: 256
        y: 256
        sigma_x: 12
        sigma_y: 8
        flux: 2.0e8
        background: 1000
        follow:
          x: {axis: m1, per_unit: 1.0}
          y: {axis: sl_vgap, per_unit: 10.0}
          intensity: {axis: m0, center: 2.5, fwhm: 1.2}
"""

from __future__ import annotations

from ..config.errors import ConfigError
from .control import CameraConfig

_NOT_CAMERA = {"name", "plugin", "tango"}


def build_simulator(node, factory) -> CameraConfig:
    try:
        return CameraConfig.from_config({k: v for k, v in node.to_dict().items() if k not in _NOT_CAMERA})
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{node.name}: {exc}", node.file, node.line) from None
