"""Where each channel of a scan goes in its NXentry, and which plot is the default.

As BLISS: a channel `<controller>:<name>` is written under `instrument/<name>/` (an
NXpositioner with dataset `value` for axes, an NXdetector with dataset `data` otherwise),
`measurement/<name>` links to that dataset, positioners at start go to
`instrument/positioners_start`. A short name shared by two channels falls back to the
full name with ':' turned into '_'.
"""

from __future__ import annotations

from dataclasses import dataclass

AXIS_PREFIX = "axis"


@dataclass(frozen=True)
class ChannelPlace:
    channel: str          # full channel name in the data Redis
    short: str            # name under measurement/ and instrument/
    group: str            # path of the instrument group, relative to the entry
    dataset: str          # path of the data, relative to the entry
    nx_class: str
    kind: str             # "data" or "ref"
    ndim: int             # dimensions of one point


def _h5name(text: str) -> str:
    return text.replace("/", "_").replace(":", "_") or "_"


def places(channels: dict[str, dict]) -> dict[str, ChannelPlace]:
    """channel name -> ChannelPlace for every channel of a scan info."""
    shorts: dict[str, int] = {}
    for name in channels:
        short = _h5name(name.rsplit(":", 1)[-1])
        shorts[short] = shorts.get(short, 0) + 1
    out: dict[str, ChannelPlace] = {}
    for name, desc in channels.items():
        short = _h5name(name.rsplit(":", 1)[-1])
        if shorts[short] > 1 or short in ("positioners_start", "positioners") or desc.get("kind") == "ref":
            # two channels of one name, or a detector's images: <detector>_image
            short = _h5name(name)
        is_axis = name.split(":", 1)[0] == AXIS_PREFIX and ":" in name
        group = f"instrument/{short}"
        leaf = "value" if is_axis else "data"
        out[name] = ChannelPlace(name, short, group, f"{group}/{leaf}",
                                 "NXpositioner" if is_axis else "NXdetector",
                                 desc.get("kind", "data"), len(desc.get("shape") or ()))
    return out


def default_plot(info: dict, where: dict[str, ChannelPlace]) -> tuple[str | None, list[str]]:
    """(signal channel, axis channels) of the default NXdata: the first scalar counter
    against the scanned axes (or the elapsed time for time scans); with no counter, the
    first image or spectrum; None when the scan has no channel to plot."""
    scalars = [p.channel for p in where.values() if p.ndim == 0 and p.kind == "data"]
    axes = [f"{AXIS_PREFIX}:{a}" for a in info.get("axes", []) if f"{AXIS_PREFIX}:{a}" in where]
    if not axes:
        axes = [c for c in scalars if c.endswith(":elapsed_time")][:1]
    counters = [c for c in scalars if c not in axes and not c.endswith((":elapsed_time", ":epoch"))
                and not c.startswith(f"{AXIS_PREFIX}:")]
    others = [p.channel for p in where.values() if p.ndim > 0]
    signal = (counters or others or [c for c in scalars if c not in axes] or [None])[0]
    return signal, axes if signal is not None else []
