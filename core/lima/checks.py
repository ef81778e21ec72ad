"""What a detector's requests are checked against before anything reaches the camera:
ROI names and boxes inside the image, and a saving folder that exists (or can be made)
and is writable. Each refusal names the detector, the value and the rule."""

from __future__ import annotations

import os

from .client import LimaConfigError


def roi_tuple(name: str, roi_name: str, values) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in values)
    except (TypeError, ValueError):
        raise LimaConfigError(f"{name}: ROI {roi_name} must be [x, y, w, h] (4 integers), got {values!r}") from None
    return x, y, w, h


def check_roi_name(name: str, roi_name: str) -> None:
    if not roi_name or not roi_name.replace("_", "a").isalnum() or roi_name[0].isdigit():
        raise LimaConfigError(f"{name}: ROI name {roi_name!r} must be an identifier (letters, digits, _)")


def check_roi(name: str, roi_name: str, roi, width: int, height: int) -> None:
    x, y, w, h = roi
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise LimaConfigError(f"{name}: ROI {roi_name} [{x}, {y}, {w}, {h}] is outside the image "
                              f"{width}x{height} (0 <= x, x + w <= {width}, 0 <= y, y + h <= {height}, "
                              f"w and h > 0)")


def check_directory(name: str, directory: str, make: bool = True) -> None:
    """The saving folder exists (made if make) and is writable; without make, the nearest
    existing folder above it must let it be made."""
    if not os.path.isabs(directory):
        raise LimaConfigError(f"{name}: saving directory {directory!r} must be an absolute path")
    if make:
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise LimaConfigError(f"{name}: saving directory {directory!r} cannot be created: "
                                  f"{exc.strerror}") from None
        target = directory
    else:
        target = directory
        while not os.path.exists(target):
            target = os.path.dirname(target)
        if not os.path.isdir(target):
            raise LimaConfigError(f"{name}: saving directory {directory!r} cannot be created: "
                                  f"{target} is not a folder")
    if not os.access(target, os.W_OK | os.X_OK):
        what = "is not writable" if target == directory else f"cannot be created: {target} is not writable"
        raise LimaConfigError(f"{name}: saving directory {directory!r} {what}")
