"""The threads of a simulated detector's acquisition: the frames (exposure, readout,
buffer), their processing (roicounter, bpm) and their saving, each in a real thread, and
the end of the acquisition once every acquired frame is processed and saved.

Timeline of a frame: exposure [start, start + expo], readout until start + expo +
readout_time (the frame is then acquired and ready), the next exposure no sooner than
readout end + latency_time nor than start + 1 / max_frame_rate. A frame that would
overwrite one not yet saved or processed is a buffer overrun: the acquisition goes to
Fault (no frame is lost silently).
"""

from __future__ import annotations

import math
import threading
import time

from .saving import FileMeta, HdfSaver, SavingError
from .threads import SimpleQueue

MULTI_MODES = ("INTERNAL_TRIGGER_MULTI", "EXTERNAL_TRIGGER_MULTI", "EXTERNAL_GATE")
READY, RUNNING, FAULT = "Ready", "Running", "Fault"
#: what changes when, for the server's change events
PROGRESS = ("last_image_acquired", "last_image_ready", "last_counter_ready", "last_image_saved",
            "ready_for_next_image")


class LimaError(ValueError):
    """A request the detector refuses; the message names the parameter and what is allowed."""


class Acquisition:
    """What one prepared acquisition needs: fixed at prepare, read by the threads."""

    def __init__(self, ctl, live: bool) -> None:
        self.tag = ctl._new_tag()
        self.live = live
        self.trigger_mode = "INTERNAL_TRIGGER" if live else ctl.acq_trigger_mode
        self.nb_frames = 0 if live else ctl.acq_nb_frames
        self.expo = ctl.video_exposure if live else ctl.acq_expo_time
        self.latency = 0.0 if live else ctl.latency_time
        self.accumulate = ctl.acq_mode == "ACCUMULATION" and not live
        self.subframes = max(1, math.ceil(self.expo / ctl.acc_max_expo_time - 1e-9)) if self.accumulate else 1
        self.geometry = ctl.geometry()
        self.width, self.height = self.geometry.size(ctl.camera.width, ctl.camera.height)
        self.dtype = ctl.frame_dtype()
        self.saving = ctl.saving_enabled() and not live
        self.stop = threading.Event()
        self.triggers = 0            # triggers received (multi modes)
        self.armed = False           # external modes: start() received
        self.started = threading.Event()  # first frame may begin
        self.cond = threading.Condition()



class AcquisitionEngine:
    """The acquisition threads of LimaControl (which holds the state they update)."""

    def _run(self, acq: Acquisition) -> None:
        saver = None
        proc_q = SimpleQueue()
        save_q = SimpleQueue()
        errors: list[BaseException] = []
        progress = {"processed": -1, "saved": -1}
        try:
            if acq.saving:
                meta = self._file_meta(acq)
                saver = self._saver = HdfSaver(self.saving, acq.nb_frames, (acq.height, acq.width),
                                               acq.dtype, meta)
            workers = [threading.Thread(target=self._process_loop, args=(acq, proc_q, errors, progress),
                                        name="lima-processing", daemon=True)]
            if saver is not None:
                workers.append(threading.Thread(target=self._save_loop, args=(saver, save_q, errors, progress),
                                                name="lima-saving", daemon=True))
            for w in workers:
                w.start()
            try:
                self._acquire(acq, proc_q, save_q, saver is not None, progress, errors)
            finally:
                proc_q.put(None)
                save_q.put(None)
                for w in workers:
                    w.join()
            if saver is not None:
                saver.close()
                self.saved_files = list(saver.paths)
            if errors:
                raise errors[0]
            self._end(acq, READY, "")
        except BaseException as exc:  # any failure of the hardware simulation is the camera's Fault
            if saver is not None:
                try:
                    saver.close()
                except Exception:  # noqa: BLE001 - the first error is the one reported
                    pass
            self._end(acq, FAULT, str(exc) or type(exc).__name__)

    def _end(self, acq: Acquisition, status: str, error: str) -> None:
        with self._lock:
            if self._acq is acq:
                self.acq_status = status
                self.acq_status_fault_error = error
                if acq.live:
                    self.video_live = False
        self.notify({*PROGRESS, "acq_status"})

    def _file_meta(self, acq: Acquisition) -> FileMeta:
        g = acq.geometry
        return FileMeta(
            instrument=self.user_instrument_name or "instrument",
            detector=self.user_detector_name or "simulator",
            acquisition={"nb_frames": acq.nb_frames, "exposure_time": acq.expo, "latency_time": acq.latency,
                         "mode": self.acq_mode, "trigger_mode": acq.trigger_mode},
            detector_information={"image_lima_type": self.image_type, "model": self.camera.model,
                                  "type": self.camera_type,
                                  "max_image_size": [self.camera.width, self.camera.height],
                                  "pixel_size": list(self.camera.pixel_size)},
            image_operation={"binning": list(g.bin), "flipping": [int(x) for x in g.flip],
                             "rotation": g.rotation, "region_of_interest": list(g.roi)})

    def _acquire(self, acq, proc_q, save_q, saving: bool, progress: dict, errors: list) -> None:
        cam = self.camera
        multi = acq.trigger_mode in MULTI_MODES
        period = 1.0 / cam.max_frame_rate
        n = len(self._buffer)
        next_start = time.perf_counter()
        i = 0
        while (acq.nb_frames == 0 or i < acq.nb_frames) and not acq.stop.is_set() and not errors:
            if not acq.started.is_set():
                with acq.cond:
                    acq.cond.wait_for(lambda: acq.started.is_set() or acq.stop.is_set())
                continue
            if multi and acq.triggers <= i:
                with acq.cond:
                    acq.cond.wait_for(lambda i=i: acq.triggers > i or acq.stop.is_set())
                continue
            t_start = max(time.perf_counter(), next_start)
            if not _sleep_until(t_start, acq.stop):
                break
            slot = i % n
            old = self._slot_frame[slot]
            if old >= 0 and (old > progress["processed"] or (saving and old > progress["saved"])):
                late = "saved" if saving and old > progress["saved"] else "processed"
                raise LimaError(f"buffer overrun: frame {i} would overwrite frame {old}, not yet {late} "
                                f"(buffer_max_number {n}: {late} slower than acquisition)")
            positions = self.positions(multi)
            self._slot_frame[slot] = -1
            self.maker.frame(positions, acq.expo, acq.geometry, acq.dtype, out=self._buffer[slot],
                             subframes=acq.subframes)
            self._slot_frame[slot] = i
            t_ready = t_start + acq.expo + cam.readout_time
            if not _sleep_until(t_ready, acq.stop):
                self._slot_frame[slot] = -1  # an exposure cut short is no frame
                break
            self._slot_time[slot] = time.time()
            self.last_image_acquired = self.last_image_ready = i
            if self.video_active or acq.live:
                self.video_last_image_counter += 1
            proc_q.put(i)
            if saving:
                save_q.put(i)
            self.notify({"last_image_acquired", "last_image_ready", "ready_for_next_image",
                         "video_last_image"})
            next_start = max(t_ready + acq.latency, t_start + period)
            i += 1

    def _process_loop(self, acq, q, errors, progress) -> None:
        while True:
            i = q.get()
            if i is None:
                return
            try:
                slot = i % len(self._buffer)
                frame = self._buffer[slot]
                self.roi_counters.process(i, frame)
                self.bpm.process(i, frame, self._slot_time[slot])
                progress["processed"] = self.last_counter_ready = i
                self.notify({"last_counter_ready"})
            except Exception as exc:  # noqa: BLE001 - becomes the acquisition's Fault
                errors.append(exc)
                return

    def _save_loop(self, saver: HdfSaver, q, errors, progress) -> None:
        while True:
            i = q.get()
            if i is None:
                return
            try:
                saver.write(i, self._buffer[i % len(self._buffer)])
                progress["saved"] = self.last_image_saved = i
                self.notify({"last_image_saved"})
            except (SavingError, OSError) as exc:
                errors.append(exc)
                return



def _sleep_until(t: float, stop: threading.Event) -> bool:
    """Sleep to perf_counter() == t; False when stop was set meanwhile."""
    while True:
        left = t - time.perf_counter()
        if left <= 0:
            return not stop.is_set()
        if stop.wait(min(left, 0.5)):
            return False
