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

import json

from ..beacon import BEACON_DEVICE
from ..config.errors import ConfigError
from .camera import CameraConfig

_NOT_CAMERA = {"name", "plugin", "tango", "__file__", "__line__"}


def beacon_config(name: str) -> dict:
    """The object's configuration as the Beacon device serves it (through TANGO_HOST), with
    `__file__` and `__line__`; RuntimeError naming the object when it cannot be read."""
    import tango

    try:
        return json.loads(tango.DeviceProxy(BEACON_DEVICE).GetObjectConfig(name))
    except tango.DevFailed as exc:
        raise RuntimeError(f"{name}: configuration not readable from {BEACON_DEVICE}: "
                           f"{exc.args[0].desc.strip()}") from None


def where(cfg: dict) -> str:
    """" (file:line)" of a Beacon configuration, for messages."""
    return f" ({cfg.get('__file__')}:{cfg.get('__line__')})" if cfg.get("__file__") else ""


def camera_config(cfg: dict, name: str = "camera") -> CameraConfig:
    """The simulated camera a `lima_simulator` object describes; ValueError naming the
    object, its file and line, and the key that is wrong."""
    try:
        return CameraConfig.from_config({k: v for k, v in cfg.items() if k not in _NOT_CAMERA})
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}{where(cfg)}: {exc}") from None


def build_simulator(node, factory) -> CameraConfig:
    try:
        return CameraConfig.from_config({k: v for k, v in node.to_dict().items() if k not in _NOT_CAMERA})
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{node.name}: {exc}", node.file, node.line) from None


def build_detector(node, factory):
    """The detector object a `lima` configuration describes (its LimaBridge server runs
    it; other processes use the bridge's device through its client)."""
    from ..beacon.settings import object_settings
    from .client import LimaConfigError
    from .detector import LimaDetector

    try:
        return LimaDetector(node.name, node.to_dict(), object_settings(node.name))
    except LimaConfigError as exc:
        raise ConfigError(str(exc), node.file, node.line) from None
