"""The simulated camera's physics: a beam spot on a background, shot noise, exposure.

The spot is a 2D gaussian whose centre, widths and intensity follow beamline axes (read
by the caller, given here as {axis name: position}): x = x0 + per_unit * (axis - origin)
for x, y, sigma_x, sigma_y; the intensity is scaled by a gaussian of another axis (the
spot is brightest where the diode's peak is). Counts are proportional to the exposure
time: a pixel expects (spot density + background) * expo + dark counts.

Shot noise: every pixel gets expected + sqrt(expected) * N(0, 1), rounded and clipped to
the pixel type; the normal deviates come from a pool drawn once, read at a random offset
per frame. That is Poisson's mean and variance (its normal limit, exact enough above a
few tens of counts) at the cost of two array operations: a 2048x2048 frame takes ~6 ms
where numpy's Poisson sampler takes ~550 ms, so frames come at disk speed.

Image geometry as Lima applies it: binning (sum), flip (left-right, up-down), rotation
(clockwise), then the ROI [x, y, w, h] in the transformed image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .frames import IMAGE_TYPES

PARAMS = ("x", "y", "sigma_x", "sigma_y")


@dataclass(frozen=True)
class Follow:
    """param = its base value + per_unit * (axis position - origin)."""
    axis: str
    per_unit: float
    origin: float = 0.0


@dataclass(frozen=True)
class GaussianGain:
    """Intensity scale exp(-4 ln2 (axis - center)^2 / fwhm^2), never below floor."""
    axis: str
    center: float
    fwhm: float
    floor: float = 0.0

    def at(self, position: float) -> float:
        return max(self.floor, math.exp(-4 * math.log(2) * (position - self.center) ** 2 / self.fwhm ** 2))


@dataclass(frozen=True)
class BeamModel:
    """Spot at (x, y) px with widths sigma_x/sigma_y px; flux in counts/s in the whole spot;
    background in counts/s per pixel; dark counts per frame and pixel."""
    x: float
    y: float
    sigma_x: float = 10.0
    sigma_y: float = 10.0
    flux: float = 1e8
    background: float = 1000.0
    dark: float = 100.0
    follow: dict[str, Follow] = field(default_factory=dict)
    intensity: GaussianGain | None = None

    @classmethod
    def from_config(cls, cfg: dict, width: int, height: int) -> BeamModel:
        """From the YAML `beam:` mapping; ValueError naming the key that is wrong."""
        cfg = dict(cfg or {})
        follow_cfg = cfg.pop("follow", None) or {}
        known = {"x", "y", "sigma_x", "sigma_y", "flux", "background", "dark"}
        unknown = set(cfg) - known
        if unknown:
            raise ValueError(f"beam: unknown key(s) {sorted(unknown)} (known: {sorted(known | {'follow'})})")
        values = {k: float(v) for k, v in cfg.items()}
        values.setdefault("x", width / 2)
        values.setdefault("y", height / 2)
        follow: dict[str, Follow] = {}
        gain = None
        for param, spec in follow_cfg.items():
            if not isinstance(spec, dict) or "axis" not in spec:
                raise ValueError(f"beam.follow.{param}: needs a mapping with `axis`")
            axis = str(spec["axis"]).lstrip("$")
            if param == "intensity":
                gain = GaussianGain(axis, float(spec.get("center", 0.0)), float(spec.get("fwhm", 1.0)),
                                    float(spec.get("floor", 0.0)))
                if gain.fwhm <= 0:
                    raise ValueError(f"beam.follow.intensity: fwhm {gain.fwhm} must be > 0")
            elif param in PARAMS:
                follow[param] = Follow(axis, float(spec.get("per_unit", 1.0)), float(spec.get("origin", 0.0)))
            else:
                raise ValueError(f"beam.follow: {param!r} cannot follow an axis (x, y, sigma_x, sigma_y, "
                                 f"intensity)")
        model = cls(follow=follow, intensity=gain, **values)
        if model.sigma_x <= 0 or model.sigma_y <= 0:
            raise ValueError(f"beam: sigma_x {model.sigma_x} and sigma_y {model.sigma_y} must be > 0")
        return model

    @property
    def axes(self) -> list[str]:
        names = [f.axis for f in self.follow.values()]
        if self.intensity is not None:
            names.append(self.intensity.axis)
        return sorted(set(names))

    def spot(self, positions: dict[str, float]) -> tuple[float, float, float, float, float]:
        """(x, y, sigma_x, sigma_y, flux) with the axes at these positions (an axis that
        could not be read leaves its parameter at the base value)."""
        values = {p: getattr(self, p) for p in PARAMS}
        for param, f in self.follow.items():
            pos = positions.get(f.axis)
            if pos is not None:
                values[param] = values[param] + f.per_unit * (pos - f.origin)
        flux = self.flux
        if self.intensity is not None and positions.get(self.intensity.axis) is not None:
            flux *= self.intensity.at(positions[self.intensity.axis])
        return (values["x"], values["y"], max(values["sigma_x"], 0.3), max(values["sigma_y"], 0.3), flux)


@dataclass(frozen=True)
class Geometry:
    """Lima's image transformation: bin [bx, by], flip [lr, ud], rotation, roi [x, y, w, h]
    (a zero-sized roi = the whole transformed image)."""
    bin: tuple[int, int] = (1, 1)
    flip: tuple[bool, bool] = (False, False)
    rotation: str = "NONE"
    roi: tuple[int, int, int, int] = (0, 0, 0, 0)

    def full_size(self, width: int, height: int) -> tuple[int, int]:
        """(w, h) after binning and rotation, before the roi."""
        w, h = width // self.bin[0], height // self.bin[1]
        return (h, w) if self.rotation in ("90", "270") else (w, h)

    def size(self, width: int, height: int) -> tuple[int, int]:
        if self.roi[2] and self.roi[3]:
            return self.roi[2], self.roi[3]
        return self.full_size(width, height)

    def apply(self, image: np.ndarray) -> np.ndarray:
        bx, by = self.bin
        if bx > 1 or by > 1:
            h, w = image.shape
            image = image[:h - h % by, :w - w % bx].reshape(h // by, by, w // bx, bx).sum(axis=(1, 3))
        if self.flip[0]:
            image = image[:, ::-1]
        if self.flip[1]:
            image = image[::-1, :]
        turns = {"NONE": 0, "90": 1, "180": 2, "270": 3}[self.rotation]
        if turns:
            image = np.rot90(image, k=-turns)  # Lima turns clockwise
        x, y, w, h = self.roi
        if w and h:
            image = image[y:y + h, x:x + w]
        return np.ascontiguousarray(image)


class FrameMaker:
    """Makes the frames of one camera: expected counts cached per (spot, exposure,
    geometry), noise drawn per frame."""

    POOL_EXTRA = 1 << 16
    BLOCK = 1 << 16  # pixels per block of rows (256 kB of float32)

    def __init__(self, width: int, height: int, beam: BeamModel, seed: int | None = None) -> None:
        self.width = int(width)
        self.height = int(height)
        self.beam = beam
        self._rng = np.random.default_rng(seed)
        self._key = None
        self._mean: np.ndarray | None = None
        self._sigma: np.ndarray | None = None
        self._pool = np.empty(0, dtype=np.float32)
        self._tmp: np.ndarray | None = None
        self._mean_half: np.ndarray | None = None
        self._buffers: dict[str, np.ndarray] = {}
        self._low = self._high = 0.0
        self.last_spot: tuple = ()

    def expected(self, positions: dict[str, float], expo: float, geometry: Geometry,
                 subframes: int = 1) -> np.ndarray:
        """Mean counts per pixel of a frame (float32, the transformed geometry)."""
        spot = self.beam.spot(positions)
        key = (spot, float(expo), geometry, int(subframes))
        if key != self._key:
            x0, y0, sx, sy, flux = spot
            density = flux / (2 * math.pi * sx * sy)
            ex = np.exp(-0.5 * ((np.arange(self.width, dtype=np.float64) + 0.5 - x0) / sx) ** 2)
            ey = np.exp(-0.5 * ((np.arange(self.height, dtype=np.float64) + 0.5 - y0) / sy) ** 2)
            # into kept buffers: a step scan moves the spot at every point, and a fresh
            # megabyte array per step is a fresh mmap whose pages fault in (servers run
            # with a fixed mmap threshold): 3-4 ms a frame instead of 0.5
            raw = self._kept("raw", (self.height, self.width))
            np.multiply((ey * (density * expo)).astype(np.float32)[:, None], ex.astype(np.float32), out=raw)
            raw += np.float32(self.beam.background * expo + self.beam.dark * subframes)
            mean = geometry.apply(raw).astype(np.float32, copy=False)
            if mean is not raw:
                mean = self._kept("mean", mean.shape, mean)
            self._mean = mean
            self._sigma = np.sqrt(mean, out=self._kept("sigma", mean.shape))
            self._mean_half = np.add(mean, np.float32(0.5), out=self._kept("half", mean.shape))  # cast truncates: + 0.5 rounds
            spread = 6.0 * float(self._sigma.max()) if self._sigma.size else 0.0
            self._low = float(mean.min()) - spread if mean.size else 0.0
            self._high = float(mean.max()) + spread + 0.5 if mean.size else 0.0
            self.last_spot = spot
            self._key = key
        return self._mean

    def _kept(self, name: str, shape: tuple, value: np.ndarray | None = None) -> np.ndarray:
        """A float32 buffer of this shape kept between frames (value copied in when given)."""
        buf = self._buffers.get(name)
        if buf is None or buf.shape != tuple(shape):
            buf = self._buffers[name] = np.empty(shape, dtype=np.float32)
        if value is not None:
            np.copyto(buf, value, casting="unsafe")
        return buf

    def frame(self, positions: dict[str, float], expo: float, geometry: Geometry, dtype,
              out: np.ndarray | None = None, subframes: int = 1) -> np.ndarray:
        """One noisy frame, written into `out` when given (a buffer slot).

        Two passes over the pixels when no value can leave the pixel type's range (the
        usual case): noise = sigma * z into a float buffer, then mean + 0.5 + noise cast
        to the pixel type (truncation of x + 0.5: rounding); a clipping pass otherwise."""
        mean = self.expected(positions, expo, geometry, subframes)
        sigma = self._sigma
        n = mean.size
        if self._pool.size < n + self.POOL_EXTRA:
            self._pool = self._rng.standard_normal(n + self.POOL_EXTRA, dtype=np.float32)
        off = int(self._rng.integers(0, self._pool.size - n + 1))
        noise = self._pool[off:off + n].reshape(mean.shape)
        dt = np.dtype(dtype)
        if out is None:
            out = np.empty(mean.shape, dtype=dt)
        h, w = mean.shape
        rows = max(1, self.BLOCK // max(w, 1))
        if self._tmp is None or self._tmp.shape != (rows, w):
            self._tmp = np.empty((rows, w), dtype=np.float32)
        if dt.kind not in "ui":
            base, clip = mean, None
        else:
            lo, hi = self._range(dt)
            base = self._mean_half
            clip = None if self._low >= lo and self._high <= hi else (lo, hi)  # 6 sigma inside: no clipping
        # by blocks of rows: the float intermediate stays in the CPU cache
        for y in range(0, h, rows):
            z = min(rows, h - y)
            tmp = self._tmp[:z]
            np.multiply(sigma[y:y + z], noise[y:y + z], out=tmp)
            if clip is None:
                np.add(tmp, base[y:y + z], out=out[y:y + z], casting="unsafe")
            else:
                tmp += base[y:y + z]
                np.clip(tmp, clip[0], clip[1], out=tmp)
                np.copyto(out[y:y + z], tmp, casting="unsafe")
        return out

    @staticmethod
    def _range(dt: np.dtype) -> tuple[float, float]:
        info = np.iinfo(dt)
        return float(max(info.min, 0)), float(min(info.max, 2 ** 24))


@dataclass
class CameraConfig:
    """The simulated hardware: sensor, speed, memory and the beam it sees."""
    width: int = 512
    height: int = 512
    image_type: str = "Bpp16"
    pixel_size: tuple[float, float] = (6.5e-6, 6.5e-6)
    model: str = "blisstango beam simulator"
    readout_time: float = 0.0005
    max_frame_rate: float = 1000.0
    min_expo_time: float = 1e-6
    buffer_max_memory: int = 512  # MB for the frame buffer
    beam: BeamModel = field(default_factory=lambda: BeamModel(256.0, 256.0))

    @classmethod
    def from_config(cls, cfg: dict) -> CameraConfig:
        cfg = dict(cfg or {})
        keys = {"width", "height", "image_type", "pixel_size", "model", "readout_time", "max_frame_rate",
                "min_expo_time", "buffer_max_memory", "beam"}
        unknown = set(cfg) - keys
        if unknown:
            raise ValueError(f"camera: unknown key(s) {sorted(unknown)} (known: {sorted(keys)})")
        width, height = int(cfg.get("width", 512)), int(cfg.get("height", 512))
        if not (1 <= width <= 65535 and 1 <= height <= 65535):
            raise ValueError(f"camera: width {width} and height {height} must be in [1, 65535]")
        image_type = str(cfg.get("image_type", "Bpp16"))
        if image_type not in IMAGE_TYPES:
            raise ValueError(f"camera: image_type {image_type!r} is not one of {sorted(IMAGE_TYPES)}")
        px = cfg.get("pixel_size", 6.5e-6)
        px = (float(px), float(px)) if not isinstance(px, (list, tuple)) else (float(px[0]), float(px[1]))
        out = cls(width=width, height=height, image_type=image_type, pixel_size=px,
                  model=str(cfg.get("model", cls.model)),
                  readout_time=float(cfg.get("readout_time", cls.readout_time)),
                  max_frame_rate=float(cfg.get("max_frame_rate", cls.max_frame_rate)),
                  min_expo_time=float(cfg.get("min_expo_time", cls.min_expo_time)),
                  buffer_max_memory=int(cfg.get("buffer_max_memory", cls.buffer_max_memory)),
                  beam=BeamModel.from_config(cfg.get("beam") or {}, width, height))
        if out.readout_time < 0 or out.max_frame_rate <= 0 or out.min_expo_time <= 0:
            raise ValueError(f"camera: readout_time {out.readout_time} must be >= 0, max_frame_rate "
                             f"{out.max_frame_rate} and min_expo_time {out.min_expo_time} > 0")
        return out
