"""BaseMCA: what every multi-channel analyzer offers, whatever its brand (BLISS's API).

Subclasses supply the parameters and the acquisition (`McaController` for an MCA driven
in this process, `RemoteMca` for one behind an Mca Tango device). What is common lives
here: the counters (rebuilt when the ROIs change), the acquisition object a scan hangs
in its chain, the energy axis and the text a shell shows.
"""

from __future__ import annotations

import time

import numpy as np

from ..counters.counter import CounterController
from .calibration import Calibration
from .counters import McaBlock, McaCounter, build_counters
from .errors import McaError
from .modes import STAT_FIELDS, PresetMode, Stats, TriggerMode
from .rois import RoiConfig


class BaseMCA(CounterController):
    """Generic MCA: elements (channels of a multi-element detector), spectrum, calibration,
    preset and trigger modes, mapping buffer, ROIs, statistics and counters."""

    DEVICE_TYPE = "mca"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._rois = RoiConfig(self)
        self._counter_key = None
        self._counter_list: list[McaCounter] = []

    # ---- information (subclasses) ----------------------------------------------------
    detector_brand: str = "UNKNOWN"
    detector_type: str = "UNKNOWN"

    @property
    def elements(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def spectrum_size(self) -> int:
        raise NotImplementedError

    @property
    def spectrum_range(self) -> tuple[int, int]:
        return (0, self.spectrum_size - 1)

    @property
    def calibration(self) -> Calibration:
        raise NotImplementedError

    def energies(self) -> np.ndarray:
        """Energy of every bin (calibration units)."""
        return self.calibration.energies(self.spectrum_size)

    # ---- modes (subclasses) ---------------------------------------------------------
    @property
    def supported_preset_modes(self) -> tuple[PresetMode, ...]:
        raise NotImplementedError

    @property
    def preset_mode(self) -> PresetMode:
        raise NotImplementedError

    @property
    def preset_value(self) -> float:
        raise NotImplementedError

    @property
    def supported_trigger_modes(self) -> tuple[TriggerMode, ...]:
        raise NotImplementedError

    @property
    def trigger_mode(self) -> TriggerMode:
        raise NotImplementedError

    @property
    def hardware_points(self) -> int:
        raise NotImplementedError

    @property
    def block_size(self) -> int:
        raise NotImplementedError

    @property
    def refresh_rate(self) -> float:
        return 0.1

    # ---- acquisition (subclasses) -----------------------------------------------------
    def start_acquisition(self) -> None:
        """Arm: SOFTWARE acquires one point until the preset; SYNC/GATE wait for pulses."""
        raise NotImplementedError

    def trigger(self) -> None:
        """SOFTWARE: acquire one point and return when it is done. SYNC/GATE: one pulse
        of the trigger input (returns at once)."""
        raise NotImplementedError

    def pulse(self) -> None:
        """One pulse on the trigger input in SYNC/GATE mode, sent by software (simulators;
        a real detector gets its pulses by cable from the beamline's timing)."""
        raise NotImplementedError(f"{self.name}: no software pulse on this detector's trigger input")

    def stop_acquisition(self) -> None:
        raise NotImplementedError

    def is_acquiring(self) -> bool:
        raise NotImplementedError

    @property
    def points_acquired(self) -> int:
        """Points completed since the last start_acquisition (SOFTWARE: since ever)."""
        raise NotImplementedError

    def read_points(self, first: int, timeout: float = 0.0, min_points: int = 1) -> McaBlock | None:
        """Points from index `first` on, or None; while acquiring, waits up to timeout
        until min_points of them are there (a mapping block)."""
        raise NotImplementedError

    def acquire_one(self, timeout: float, expected: float | None = None) -> McaBlock:
        """SOFTWARE: start one acquisition and return its point (McaError if none comes
        within `timeout` seconds, or the acquisition ended without one); `expected` is how
        long the point should take, if known."""
        self.start_acquisition()
        deadline = time.monotonic() + timeout
        while True:
            block = self.read_points(0, timeout=min(1.0, max(0.0, deadline - time.monotonic())))
            if block is not None:
                return block
            if not self.is_acquiring():
                block = self.read_points(0)
                if block is not None:
                    return block
                raise McaError(f"{self.name}: the acquisition ended without a point")
            if time.monotonic() > deadline:
                self.stop_acquisition()
                raise McaError(f"{self.name}: no point {timeout:g} s after the acquisition started")

    def get_acquisition_data(self) -> dict[int, np.ndarray]:
        """{element: spectrum} of the last point."""
        block = self._last_block()
        return {e: block.spectra[-1, i] for i, e in enumerate(self.elements)} if block else {}

    def get_acquisition_statistics(self) -> dict[int, Stats]:
        """{element: Stats} of the last point."""
        block = self._last_block()
        if not block:
            return {}
        return {e: _stats(block.stats[-1, i]) for i, e in enumerate(self.elements)}

    def poll_data(self):
        """BLISS's mapping read: (points acquired, {index: {element: spectrum}},
        {index: {element: Stats}}) for the points not yet polled."""
        first = getattr(self, "_polled", 0)
        block = self.read_points(first)
        data, stats = {}, {}
        if block is not None:
            for k in range(block.count):
                idx = block.first + k
                data[idx] = {e: block.spectra[k, i] for i, e in enumerate(self.elements)}
                stats[idx] = {e: _stats(block.stats[k, i]) for i, e in enumerate(self.elements)}
            self._polled = block.first + block.count
        return self.points_acquired, data, stats

    def _last_block(self) -> McaBlock | None:
        n = self.points_acquired
        return self.read_points(n - 1) if n > 0 else None

    # ---- ROIs -----------------------------------------------------------------------
    @property
    def rois(self) -> RoiConfig:
        return self._rois

    def _load_rois(self) -> dict:
        raise NotImplementedError

    def _store_rois(self, rois: dict) -> None:
        raise NotImplementedError

    # ---- counters -------------------------------------------------------------------
    @property
    def counters(self) -> list[McaCounter]:
        """Every counter (rebuilt only when elements, spectrum size or ROIs changed, so the
        same objects come back between changes)."""
        rois = self._rois.as_dict()
        key = (tuple(self.elements), self.spectrum_size, tuple(rois))
        if key != self._counter_key:
            self._counters.clear()
            self._counter_list = build_counters(self, rois)
            self._counter_key = key
        return list(self._counter_list)

    def counter(self, name: str) -> McaCounter:
        for c in self.counters:
            if c.name == name:
                return c
        raise KeyError(f"{self.name}: no counter {name!r}; counters: {', '.join(c.name for c in self.counters)}")

    def get_default_acq_params(self, scan_params: dict) -> dict:
        return {"npoints": int(scan_params.get("npoints", 1)),
                "count_time": float(scan_params.get("count_time", 0.0))}

    def get_acquisition_object(self, counters, acq_params: dict):
        from .acquisition import McaAcquisitionSlave

        return McaAcquisitionSlave(self, counters, **acq_params)

    # ---- display --------------------------------------------------------------------
    def statistics_table(self) -> str:
        stats = self.get_acquisition_statistics()
        if not stats:
            return "no acquisition yet"
        head = ["det", "realtime", "trig_live", "energy_live", "deadtime%", "icr", "ocr", "events"]
        rows = [[f"det{e}", f"{s.realtime:.4f}", f"{s.trigger_livetime:.4f}", f"{s.energy_livetime:.4f}",
                 f"{100 * s.deadtime:.2f}", f"{s.icr:.0f}", f"{s.ocr:.0f}", f"{s.events}"]
                for e, s in stats.items()]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in [head, *rows])

    def __info__(self) -> str:
        lines = [f"MCA {self.name} ({self.detector_brand} {self.detector_type})",
                 f"  elements       : {', '.join(str(e) for e in self.elements)}",
                 f"  spectrum       : {self.spectrum_size} bins, "
                 f"{self.energies()[0]:.3f}-{self.energies()[-1]:.3f} {self.calibration.unit}",
                 f"  calibration    : offset {self.calibration.offset:g}, gain {self.calibration.gain:g}, "
                 f"quadratic {self.calibration.quadratic:g}",
                 f"  trigger mode   : {self.trigger_mode.name}",
                 f"  preset         : {self.preset_mode.name} {self.preset_value:g}",
                 "", "ROIs:"]
        lines += ["  " + ln for ln in self._rois.__info__().splitlines()]
        lines += ["", "Last statistics:"]
        lines += ["  " + ln for ln in self.statistics_table().splitlines()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}: {len(self.elements)} elements, {self.spectrum_size} bins>"


def _stats(row) -> Stats:
    return Stats(*(int(v) if f in ("triggers", "events") else float(v) for f, v in zip(STAT_FIELDS, row)))

