"""Frames a scan references (image channels carry references, never pixels), resolved.

A reference is {file, index, path, frame, acq, server, tagged}: the frame's number in its
acquisition, the acquisition's tag, the LimaCCDs device that took it, and where it is
saved (file None when it was not). `read_frame` takes the frame from the LimaCCDs
server's buffer when the server still holds that very frame (the DATA_ARRAY header's
acquisition tag and frame number match), else from the file; it never returns a frame of
another acquisition: FrameUnavailable says why there is none.
"""

from __future__ import annotations

import h5py
import numpy as np
import tango

from ..lima.frames import DATA_ARRAY, FrameFormatError, decode_data_array


class FrameUnavailable(LookupError):
    """The referenced frame is neither in its server's buffer nor in a file."""


class FrameSource:
    """Resolves references; keeps one proxy per LimaCCDs server."""

    def __init__(self, timeout: float = 3.0, green_mode=tango.GreenMode.Gevent) -> None:
        self.timeout_ms = int(timeout * 1000)
        self.green_mode = green_mode
        self._proxies: dict[str, tango.DeviceProxy] = {}
        self.from_buffer = 0
        self.from_file = 0

    def _proxy(self, url: str) -> tango.DeviceProxy:
        p = self._proxies.get(url)
        if p is None:
            p = self._proxies[url] = tango.DeviceProxy(url, green_mode=self.green_mode)
            p.set_timeout_millis(self.timeout_ms)
        return p

    def from_server(self, ref: dict) -> tuple[np.ndarray | None, str]:
        """(frame, "") from the server's buffer, or (None, why not)."""
        if not ref.get("server"):
            return None, "no server named"
        if not ref.get("tagged"):
            return None, f"{ref['server']} does not tag its frames with their acquisition"
        try:
            fmt, raw = self._proxy(ref["server"]).readImage(int(ref["frame"]))
            if fmt != DATA_ARRAY:
                return None, f"{ref['server']} answered {fmt!r}"
            frame, header = decode_data_array(raw)
        except tango.DevFailed as exc:
            return None, f"{ref['server']}: {exc.args[0].desc.strip()}"
        except FrameFormatError as exc:
            return None, f"{ref['server']}: {exc}"
        if header.acq_tag != int(ref["acq"]) or header.frame_number != int(ref["frame"]):
            return None, (f"{ref['server']} now holds frame {header.frame_number} of acquisition "
                          f"{header.acq_tag} there")
        return frame.copy(), ""

    @staticmethod
    def from_saved(ref: dict) -> tuple[np.ndarray | None, str]:
        if not ref.get("file"):
            return None, "the frame was not saved"
        try:
            with h5py.File(ref["file"], "r", locking=False) as f:
                data = f[ref.get("path") or "/entry_0000/measurement/data"]
                index = int(ref["index"])
                if index >= data.shape[0]:
                    return None, f"{ref['file']} holds {data.shape[0]} frames, not frame {index}"
                return data[index], ""
        except (OSError, KeyError) as exc:
            return None, f"{ref['file']}: {exc}"

    def read(self, ref: dict) -> np.ndarray:
        frame, why_not_buffer = self.from_server(ref)
        if frame is not None:
            self.from_buffer += 1
            return frame
        frame, why_not_file = self.from_saved(ref)
        if frame is not None:
            self.from_file += 1
            return frame
        raise FrameUnavailable(f"frame {ref.get('frame')} of acquisition {ref.get('acq')}: not in the buffer "
                               f"({why_not_buffer}) and not readable from a file ({why_not_file})")


_default: FrameSource | None = None


def read_frame(ref: dict) -> np.ndarray:
    """The frame a reference names (module-wide FrameSource)."""
    global _default
    if _default is None:
        _default = FrameSource()
    return _default.read(ref)
