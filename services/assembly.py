"""Step assembly: documents and frames of one Bluesky run become one preprocessed projection stack.

Frames are preprocessed as they arrive (dark/flat normalisation and -log, via the injected
``preprocess`` function), so once the last frame of a step is in only reconstruction is left.
Frames whose start document has not arrived yet wait for ``unknown_run_grace_s``; a run is complete
when both its stop document and its end-of-run marker are in, or ``end_of_run_timeout_s`` after the
stop document (missing frames are then logged and the step goes on with what arrived).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .metrics import ServiceMetrics
from .step_metadata import StepMetadata
from .wire import EndOfRun, FrameHeader, ImageKey

log = logging.getLogger(__name__)

#: preprocess(frame (n_rows, n_cols), flat_mean, dark_mean, step metadata)
#:     -> (line integrals (n_rows, n_cols) float32, prefiltered frame or None)
Preprocess = Callable[[np.ndarray, np.ndarray, np.ndarray, StepMetadata], tuple[np.ndarray, np.ndarray | None]]
MAX_PENDING_FRAMES = 4096
#: Shortest interval between two progress reports of a run, s (the last frame is always reported).
PROGRESS_INTERVAL_S = 0.5


@dataclass
class AssembledStep:
    """A step ready for reconstruction.

    ``line_integrals`` (-log of the normalised frames) is ``(n_angles, n_rows, n_cols)`` float32 and
    ``filtered`` the same frames prefiltered for the reconstruction method (None when the
    preprocessing leaves filtering to the end of the step), both sorted by angle; ``angles_rad``
    ``(n_angles,)``; ``frame_counts`` maps image-key names to frames used.
    """

    run_uid: str
    metadata: StepMetadata
    angles_rad: np.ndarray
    line_integrals: np.ndarray
    filtered: np.ndarray | None
    frame_counts: dict[str, int]
    frames_expected: dict[str, int]
    last_frame_monotonic: float
    rescan: dict | None = None  # the rescan request when the run rescans a hot spot (start document "rescan")


@dataclass
class _Run:
    uid: str
    metadata: StepMetadata
    shape: tuple[int, int]
    expected: dict[str, int]
    darks: list[np.ndarray] = field(default_factory=list)
    flats: list[np.ndarray] = field(default_factory=list)
    raw_projections: list[tuple[float, np.ndarray]] = field(default_factory=list)
    processed: list[tuple[float, np.ndarray, np.ndarray]] = field(default_factory=list)
    seen_indices: set[int] = field(default_factory=set)
    references: tuple[np.ndarray, np.ndarray] | None = None
    stop_monotonic: float | None = None
    end_marker: EndOfRun | None = None
    last_frame_monotonic: float = 0.0
    preprocess_seconds: float = 0.0
    last_progress_monotonic: float = float("-inf")
    rescan: dict | None = None


def _expected_counts(start: dict) -> dict[str, int]:
    expected = start.get("frames_expected") or {}
    return {key: int(expected.get(key, 0)) for key in ("projections", "flats", "darks")}


class StepAssembler:
    """Turns ingest events into :class:`AssembledStep` objects (single-threaded use)."""

    def __init__(self, preprocess: Preprocess, metrics: ServiceMetrics, *, unknown_run_grace_s: float = 10.0,
                 end_of_run_timeout_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self._preprocess = preprocess
        self._metrics = metrics
        self._grace_s = unknown_run_grace_s
        self._end_timeout_s = end_of_run_timeout_s
        self._clock = clock
        self._runs: dict[str, _Run] = {}
        self._pending: list[tuple[float, FrameHeader, np.ndarray]] = []
        self.on_step_started: Callable[[str, StepMetadata], None] | None = None
        #: on_progress(run_uid, metadata, frames received, frames expected), at most every PROGRESS_INTERVAL_S
        self.on_progress: Callable[[str, StepMetadata, dict, dict], None] | None = None

    # -- events -------------------------------------------------------------------------------
    def handle(self, event: tuple) -> list[AssembledStep]:
        """Process one ingest event; returns the steps it completed (usually none)."""
        kind = event[0]
        if kind == "document":
            self._on_document(event[1], event[2])
        elif kind == "frame":
            self._on_frame(event[1], event[2])
        elif kind == "end_of_run":
            self._on_end_of_run(event[1])
        return self.poll()

    def poll(self) -> list[AssembledStep]:
        """Expire waiting frames and complete runs whose time is up."""
        now = self._clock()
        kept = []
        for arrival, header, frame in self._pending:
            if now - arrival > self._grace_s:
                self._reject("unknown_run", f"frame {header.frame_index} of unknown run {header.run_uid!r} "
                                            f"(no start document within {self._grace_s} s)")
            else:
                kept.append((arrival, header, frame))
        self._pending = kept
        done = [run for run in self._runs.values() if run.stop_monotonic is not None and (
            run.end_marker is not None or now - run.stop_monotonic > self._end_timeout_s)]
        return [step for step in (self._complete(run) for run in done) if step is not None]

    def _on_document(self, name: str, doc: dict) -> None:
        if name == "start" and doc.get("plan_name") == "tomo_step_scan":
            try:
                metadata = StepMetadata.from_dict(doc)
                shape = tuple(int(n) for n in doc["detector_shape"])
            except (KeyError, TypeError, ValueError) as error:
                log.error("start document %s lacks step metadata: %s", doc.get("uid"), error)
                return
            self._runs[doc["uid"]] = _Run(doc["uid"], metadata, shape, _expected_counts(doc),
                                          rescan=doc.get("rescan") if doc.get("purpose") == "rescan" else None)
            log.info("step %d (%s) of %s started, run %s", metadata.step_index, metadata.step_name,
                     metadata.cell_id, doc["uid"])
            if self.on_step_started is not None:
                self.on_step_started(doc["uid"], metadata)
            waiting, self._pending = self._pending, []
            for arrival, header, frame in waiting:
                if header.run_uid == doc["uid"]:
                    self._on_frame(header, frame)
                else:
                    self._pending.append((arrival, header, frame))
        elif name == "stop" and doc.get("run_start") in self._runs:
            self._runs[doc["run_start"]].stop_monotonic = self._clock()

    def _on_end_of_run(self, marker: EndOfRun) -> None:
        run = self._runs.get(marker.run_uid)
        if run is None:
            log.warning("end-of-run marker for unknown run %s ignored", marker.run_uid)
            return
        run.end_marker = marker

    def _on_frame(self, header: FrameHeader, frame: np.ndarray) -> None:
        run = self._runs.get(header.run_uid)
        if run is None:
            if len(self._pending) >= MAX_PENDING_FRAMES:
                self._reject("unknown_run", f"frame of unknown run {header.run_uid!r}: too many waiting frames")
            else:
                self._pending.append((self._clock(), header, np.array(frame)))
            return
        if header.shape != run.shape:
            self._reject("wrong_shape", f"frame {header.frame_index} of run {run.uid} has shape {header.shape}, "
                                        f"the start document says {run.shape}")
            return
        if header.frame_index in run.seen_indices:
            self._reject("duplicate", f"frame {header.frame_index} of run {run.uid} received twice")
            return
        run.seen_indices.add(header.frame_index)
        run.last_frame_monotonic = self._clock()
        self._metrics.frames_received.labels(image_key=str(int(header.image_key))).inc()
        if header.image_key == ImageKey.DARK:
            run.darks.append(np.array(frame, dtype=np.float32))
        elif header.image_key == ImageKey.FLAT:
            run.flats.append(np.array(frame, dtype=np.float32))
        else:
            run.raw_projections.append((header.angle_deg, np.array(frame)))
            self._drain_projections(run)
        self._report_progress(run)

    def _report_progress(self, run: _Run) -> None:
        if self.on_progress is None:
            return
        received = {"projections": len(run.processed) + len(run.raw_projections), "flats": len(run.flats),
                    "darks": len(run.darks)}
        complete = all(received[key] >= count for key, count in run.expected.items())
        if complete or run.last_frame_monotonic - run.last_progress_monotonic >= PROGRESS_INTERVAL_S:
            run.last_progress_monotonic = run.last_frame_monotonic
            self.on_progress(run.uid, run.metadata, received, dict(run.expected))

    # -- preprocessing ------------------------------------------------------------------------
    def _drain_projections(self, run: _Run) -> None:
        if run.references is None:
            if not run.flats or not run.darks:
                return  # keep raw frames until the references exist
            run.references = (np.mean(run.flats, axis=0), np.mean(run.darks, axis=0))
        flat_mean, dark_mean = run.references
        started = time.perf_counter()
        for angle_deg, frame in run.raw_projections:
            run.processed.append((angle_deg, *self._preprocess(frame, flat_mean, dark_mean, run.metadata)))
        run.raw_projections.clear()
        run.preprocess_seconds += time.perf_counter() - started

    def _complete(self, run: _Run) -> AssembledStep | None:
        del self._runs[run.uid]
        counts = {"projections": len(run.processed) + len(run.raw_projections),
                  "flats": len(run.flats), "darks": len(run.darks)}
        if run.end_marker is None:
            log.warning("run %s: no end-of-run marker %.0f s after its stop document", run.uid, self._end_timeout_s)
        missing = {k: run.expected[k] - counts[k] for k in counts if run.expected.get(k, 0) > counts[k]}
        if missing:
            log.warning("run %s completes with missing frames: %s", run.uid, missing)
        if run.raw_projections and (not run.flats or not run.darks):
            log.error("run %s: no flats or darks received, step cannot be normalised", run.uid)
            self._metrics.steps_failed.inc()
            return None
        self._drain_projections(run)
        if not run.processed:
            log.error("run %s: no projections received", run.uid)
            self._metrics.steps_failed.inc()
            return None
        self._metrics.stage_duration.labels(stage="preprocess").observe(run.preprocess_seconds)
        run.processed.sort(key=lambda item: item[0])
        angles = np.deg2rad(np.array([item[0] for item in run.processed], dtype=np.float64))
        line_integrals = np.stack([item[1] for item in run.processed]).astype(np.float32, copy=False)
        filtered = None if run.processed[0][2] is None else np.stack([item[2] for item in run.processed])
        return AssembledStep(run.uid, run.metadata, angles, line_integrals, filtered, counts, run.expected,
                             run.last_frame_monotonic, rescan=run.rescan)

    def _reject(self, reason: str, message: str) -> None:
        self._metrics.frames_rejected.labels(reason=reason).inc()
        log.warning("rejected frame (%s): %s", reason, message)
