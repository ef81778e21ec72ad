"""SCAN_SAVING: where a session's scans are saved, and their numbers.

    ss = ScanSaving("demo", settings_redis)
    ss.base_path = "/data/visitor"; ss.template = "{proposal}/{sample}/{date}"
    ss.add("proposal", "mx1234"); ss.add("sample", lambda ss: ss.session + "_s1")
    ss.get()   # {"root_path", "data_path", "filename", "data_filename", "writer", ...}

Fixed values (base_path, template, data_filename, writer and keys added with a plain
value) persist in the settings Redis hash `settings:scan_saving:<session>`; function
keys live in the process (set them in the session setup). Scan numbers count per
dataset file in `settings:scan_saving:<session>:scan_numbers` (field = file path); when
that counter is missing (a wiped Redis) it restarts after the last entry in the file.
"""

from __future__ import annotations

import getpass
import inspect
import json
import os
import string
import time
from collections.abc import Callable
from pathlib import Path

_FIXED = ("base_path", "template", "data_filename", "writer")
_DEFAULTS = {"base_path": "/tmp/scans", "template": "{session}", "data_filename": "{session}_data",
             "writer": "nexus"}
WRITERS = ("nexus", "hdf5", "null")


class ScanSaving:
    def __init__(self, session: str, settings_redis=None, **defaults) -> None:
        object.__setattr__(self, "session", session)
        object.__setattr__(self, "_redis", settings_redis)
        object.__setattr__(self, "_key", f"settings:scan_saving:{session}")
        object.__setattr__(self, "_functions", {})
        object.__setattr__(self, "_values", dict(_DEFAULTS, **defaults))
        object.__setattr__(self, "_local_numbers", {})
        if settings_redis is not None:
            for k, v in settings_redis.hgetall(self._key).items():
                self._values[k.decode()] = json.loads(v)

    # ------------------------------------------------------------------ values
    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._functions:
            return self._call(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"SCAN_SAVING of {self.session} has no key {name!r}") from None

    def __setattr__(self, name: str, value) -> None:
        self.add(name, value)

    def add(self, key: str, value) -> None:
        """Set a template key: a fixed value (persisted) or a function (of this object or
        of nothing) evaluated at each get()."""
        if key == "writer" and value not in WRITERS:
            raise ValueError(f"SCAN_SAVING {self.session}: writer {value!r} is not one of {WRITERS}")
        if key == "session":
            raise ValueError("SCAN_SAVING: 'session' is fixed by the session")
        if callable(value):
            self._functions[key] = value
            self._values.pop(key, None)
            if self._redis is not None:
                self._redis.hdel(self._key, key)
            return
        self._functions.pop(key, None)
        self._values[key] = value
        if self._redis is not None:
            self._redis.hset(self._key, key, json.dumps(value))

    def remove(self, key: str) -> None:
        if key in _FIXED:
            raise ValueError(f"SCAN_SAVING: {key} cannot be removed")
        self._functions.pop(key, None)
        self._values.pop(key, None)
        if self._redis is not None:
            self._redis.hdel(self._key, key)

    def _call(self, key: str):
        fn: Callable = self._functions[key]
        try:
            nparams = len(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            nparams = 1
        return fn(self) if nparams else fn()

    def keys(self) -> dict:
        """Every template key with its current value (functions evaluated)."""
        out = {"session": self.session, "date": time.strftime("%Y%m%d"), "user": getpass.getuser()}
        out.update({k: v for k, v in self._values.items()})
        out.update({k: self._call(k) for k in self._functions})
        return out

    def _format(self, what: str, text: str, keys: dict) -> str:
        names = [f for _, f, _, _ in string.Formatter().parse(text) if f]
        missing = [n for n in names if n not in keys]
        if missing:
            raise KeyError(f"SCAN_SAVING {self.session}: {what} {text!r} uses unknown key(s) {missing}; "
                           f"known: {sorted(keys)}")
        return text.format(**{k: keys[k] for k in names})

    def get(self) -> dict:
        """Resolved paths: root_path (base_path/template), data_path (same folder),
        data_filename (no extension), filename (the dataset file), writer."""
        keys = self.keys()
        root = Path(self._format("base_path", str(keys["base_path"]), keys))
        sub = self._format("template", str(keys["template"]), keys)
        data_path = root / sub if sub else root
        name = self._format("data_filename", str(keys["data_filename"]), keys)
        return {"root_path": str(root), "data_path": str(data_path), "data_filename": name,
                "filename": str(data_path / f"{name}.h5"), "writer": keys["writer"]}

    @property
    def filename(self) -> str:
        return self.get()["filename"]

    # ------------------------------------------------------------------ numbering
    def next_scan_number(self) -> int:
        """The number of the next scan in the current dataset file (never repeats)."""
        filename = self.filename
        key = f"{self._key}:scan_numbers"
        if self._redis is None:
            n = self._local_numbers.get(filename) or _last_in_file(filename)
            self._local_numbers[filename] = n + 1
            return n + 1
        if not self._redis.hexists(key, filename):
            self._redis.hsetnx(key, filename, _last_in_file(filename))
        return int(self._redis.hincrby(key, filename, 1))

    def __repr__(self) -> str:
        try:
            paths = self.get()
        except KeyError as exc:
            paths = {"error": str(exc)}
        return f"<ScanSaving {self.session} {json.dumps(paths)}>"


def _last_in_file(filename: str) -> int:
    """Highest scan number written in a dataset file (entries named '<n>.<m>'), else 0."""
    if not os.path.exists(filename):
        return 0
    try:
        import h5py

        with h5py.File(filename, "r", locking=False) as f:
            nums = [int(k.split(".")[0]) for k in f.keys() if k.split(".")[0].isdigit()]
        return max(nums, default=0)
    except OSError:
        return 0
