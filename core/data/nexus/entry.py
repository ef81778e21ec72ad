"""The NXentry of one scan: its skeleton (made before the first point) and its end.

Everything written here is a pure function of the scan info and the channel data, so a
writer restarted at any moment rewrites exactly the same entry. The `end_time` dataset
is written last: its presence marks an entry as complete.
"""

from __future__ import annotations

import json
import math
from datetime import datetime

import h5py
import numpy as np

from .naming import ChannelPlace, default_plot, places
from .plots import write_maps, write_spectrum_plots

PLOT = "plotselect"
DEFAULT_IMAGE_PATH = "/entry_0000/measurement/data"  # dataset of a referenced frame file
STR = h5py.string_dtype()


def entry_name(info: dict) -> str:
    return f"{info['scan_nb']}.1"


def iso(t: float | None) -> str:
    """ISO 8601 with the local UTC offset, as BLISS writes times."""
    return datetime.fromtimestamp(float(t)).astimezone().isoformat() if t is not None else ""


def rows_per_chunk(dtype: np.dtype, point_shape: tuple[int, ...]) -> int:
    """Points per chunk: about 256 KiB per chunk, at least one point."""
    size = np.dtype(dtype).itemsize * math.prod(max(int(s), 1) for s in point_shape)
    return max(1, min(8192, (256 << 10) // max(size, 1)))


def _replace(group: h5py.Group, name: str, value, **kw) -> h5py.Dataset:
    if name in group:
        del group[name]
    return group.create_dataset(name, data=value, **kw)


def create_skeleton(f: h5py.File, info: dict) -> h5py.Group:
    """The entry with every group, empty resizable channel datasets, measurement links,
    positioners at start and the default plot."""
    name = entry_name(info)
    where = places(info["channels"])
    f.attrs["NX_class"] = "NXroot"
    f.attrs["creator"] = "blisstango NexusWriter"
    entry = f.create_group(name)
    entry.attrs["NX_class"] = "NXentry"
    entry.create_dataset("title", data=str(info.get("title", info.get("name", ""))), dtype=STR)
    instrument = entry.create_group("instrument")
    instrument.attrs["NX_class"] = "NXinstrument"
    start = instrument.create_group("positioners_start")
    start.attrs["NX_class"] = "NXcollection"
    for axis, pos in sorted((info.get("positioners") or {}).items()):
        if isinstance(pos, int | float):
            start.create_dataset(axis, data=float(pos))
    measurement = entry.create_group("measurement")
    measurement.attrs["NX_class"] = "NXcollection"
    for ch, place in where.items():
        desc = info["channels"][ch]
        group = entry.require_group(place.group)
        group.attrs["NX_class"] = place.nx_class
        if place.kind == "ref":
            group.create_dataset("ref_file", shape=(0,), maxshape=(None,), chunks=(1024,), dtype=STR)
            group.create_dataset("ref_index", shape=(0,), maxshape=(None,), chunks=(1024,), dtype="i8")
            group.create_dataset("ref_path", shape=(0,), maxshape=(None,), chunks=(1024,), dtype=STR)
        else:
            shape = tuple(int(s) for s in desc.get("shape") or ())
            dtype = np.dtype(desc.get("dtype", "f8"))
            ds = group.create_dataset(
                place.dataset.rsplit("/", 1)[1], shape=(0, *(max(s, 0) for s in shape)),
                maxshape=(None, *(None if s < 0 else s for s in shape)),
                chunks=(rows_per_chunk(dtype, shape), *(max(s, 1) for s in shape)), dtype=dtype)
            if desc.get("unit"):
                ds.attrs["units"] = desc["unit"]
            ds.attrs["channel"] = ch
        measurement[place.short] = h5py.SoftLink(f"/{name}/{place.dataset}")
    _plot(entry, info, where)
    write_spectrum_plots(entry, info, where)
    entry.attrs["default"] = PLOT
    f.attrs["default"] = name
    entry.attrs["scan_key"] = info["key"]  # last: an entry without it is a killed writer's half-made one
    return entry


def _plot(entry: h5py.Group, info: dict, where: dict[str, ChannelPlace]) -> None:
    signal, axes = default_plot(info, where)
    if signal is None:
        return
    plot = entry.create_group(PLOT)
    plot.attrs["NX_class"] = "NXdata"
    sig = where[signal]
    plot[sig.short] = h5py.SoftLink(f"/{entry.name.strip('/')}/{sig.dataset}")
    plot.attrs["signal"] = sig.short
    names = []
    for ax in axes:
        place = where[ax]
        plot[place.short] = h5py.SoftLink(f"/{entry.name.strip('/')}/{place.dataset}")
        plot.attrs[f"{place.short}_indices"] = 0
        names.append(place.short)
    if names:
        plot.attrs["axes"] = [names[0]] + ["."] * sig.ndim


def is_complete(entry: h5py.Group) -> bool:
    return "end_time" in entry


def finalize(f: h5py.File, info: dict) -> None:
    """Times, end reason, the full scan info and the virtual datasets of image channels;
    end_time last. Safe to run again on an entry it already finalized."""
    entry = f[entry_name(info)]
    timings = info.get("timings") or {}
    start = info.get("start_time") or timings.get("started") or timings.get("created")
    _replace(entry, "start_time", iso(start), dtype=STR)
    reason = info.get("end_reason") or ("SUCCESS" if info.get("state") == "CLOSED" else "UNKNOWN")
    _replace(entry, "end_reason", str(reason), dtype=STR)
    if info.get("error"):
        _replace(entry, "error", str(info["error"]), dtype=STR)
    if "scan_info" in entry:
        del entry["scan_info"]
    write_tree(entry.create_group("scan_info"), info)
    entry["scan_info"].attrs["NX_class"] = "NXcollection"
    where = places(info["channels"])
    for ch, place in where.items():
        if place.kind == "ref":
            _virtual(entry[place.group], info["channels"][ch], place)
    write_maps(entry, info, where, default_plot(info, where)[0])
    _replace(entry, "end_time", iso(info.get("end_time") or timings.get("closed") or timings.get("stopped")),
             dtype=STR)


def _virtual(group: h5py.Group, desc: dict, place: ChannelPlace) -> None:
    """`data`: a virtual dataset over the referenced frames (file + index + path)."""
    files = [x.decode() if isinstance(x, bytes) else x for x in group["ref_file"][()]]
    index = group["ref_index"][()]
    shape = tuple(int(s) for s in desc.get("shape") or ())
    if any(s < 0 for s in shape):
        raise ValueError(f"channel {place.channel}: frames of varying shape {shape} cannot be "
                         "referenced by a virtual dataset")
    paths = group["ref_path"][()]
    layout = h5py.VirtualLayout(shape=(len(files), *shape), dtype=np.dtype(desc.get("dtype", "f8")))
    i = 0
    while i < len(files):  # one mapping per run of consecutive frames of one file
        j = i + 1
        while (j < len(files) and files[j] == files[i] and paths[j] == paths[i]
               and index[j] == index[j - 1] + 1):
            j += 1
        path = paths[i].decode() if isinstance(paths[i], bytes) else str(paths[i])
        first, last = int(index[i]), int(index[j - 1])
        src = h5py.VirtualSource(files[i], path, shape=(last + 1, *shape), dtype=layout.dtype)
        layout[i:j] = src[first:last + 1]
        i = j
    if "data" in group:
        del group["data"]
    group.create_virtual_dataset("data", layout, fillvalue=0)


def write_tree(group: h5py.Group, value: dict) -> None:
    """A JSON-like dict as nested groups; lists of numbers or of strings as arrays, any
    other list (or None) as its JSON text."""
    for key, v in value.items():
        name = str(key).replace("/", "_") or "_"
        if isinstance(v, dict):
            write_tree(group.create_group(name), v)
        elif isinstance(v, bool | int | float) and v is not None:
            group.create_dataset(name, data=v)
        elif isinstance(v, str):
            group.create_dataset(name, data=v, dtype=STR)
        elif isinstance(v, list) and v and all(isinstance(x, int | float) and not isinstance(x, bool)
                                               for x in v):
            group.create_dataset(name, data=np.asarray(v))
        elif isinstance(v, list) and v and all(isinstance(x, str) for x in v):
            group.create_dataset(name, data=v, dtype=STR)
        else:
            group.create_dataset(name, data=json.dumps(v), dtype=STR)
