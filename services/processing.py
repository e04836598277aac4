"""The per-step work of the service, calling the kernels: preprocess, reconstruct, segment, analyse.

Each function or class here turns one pipeline item into the next; the threads and queues that
run them live in :mod:`porewatch.services.service`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from porewatch.kernels import backend as array_backend
from porewatch.kernels.prep.centre import find_center
from porewatch.kernels.prep.normalize import minus_log, normalize
from porewatch.kernels.quantify.step_analysis import AnalysisSettings, StepAnalysis, analyse_step
from porewatch.kernels.recon.reconstruct import prefilter_projection, reconstruct_prefiltered
from porewatch.kernels.segment.threshold import segment_threshold

from .assembly import AssembledStep
from .config import AnalysisConfig, PipelineConfig
from .metrics import ServiceMetrics

log = logging.getLogger(__name__)


def make_frame_preprocessor(*, method: str, filter_name: str):
    """Per-frame work done on arrival: dark/flat normalisation, -log, row filtering.

    Returns ``preprocess(frame, flat_mean, dark_mean) -> (line_integrals, prefiltered)``:
    ``(n_rows, n_cols)`` float32 and the ``method``'s prefiltered layout (see
    :func:`porewatch.kernels.recon.reconstruct.prefilter_projection`).
    """

    def preprocess(frame: np.ndarray, flat_mean: np.ndarray, dark_mean: np.ndarray):
        line_integrals = minus_log(normalize(frame, flat_mean, dark_mean))
        return line_integrals, prefilter_projection(line_integrals, method=method, filter_name=filter_name)

    return preprocess


def select_backend(requested: str) -> str:
    """Resolve ``auto`` to ``cupy`` when CuPy imports and sees a GPU, else ``numpy``."""
    if requested != "auto":
        return requested
    try:
        import cupy

        return "cupy" if cupy.cuda.runtime.getDeviceCount() > 0 else "numpy"
    except Exception:  # no cupy, no driver, no device: all mean the CPU backend
        return "numpy"


@dataclass
class ReconstructedStep:
    """``volume`` (n_rows, n_cols, n_cols) float32 in 1/m, on the host."""

    step: AssembledStep
    volume: np.ndarray
    center_px: float
    reconstruct_seconds: float


class StepReconstructor:
    """Finds the rotation axis and completes the reconstruction of an assembled step."""

    def __init__(self, settings: PipelineConfig):
        self.settings = settings
        self.backend_name = select_backend(settings.backend)
        self._xp = array_backend.module_for_backend(self.backend_name)

    def run(self, step: AssembledStep, metrics: ServiceMetrics) -> ReconstructedStep:
        started = time.perf_counter()
        center = self.settings.center_px
        if center is None:
            center = find_center(step.line_integrals, angles_rad=step.angles_rad)
        filtered = self._xp.asarray(step.filtered)
        volume = reconstruct_prefiltered(filtered, n_cols=step.line_integrals.shape[2], angles_rad=step.angles_rad,
                                         center_px=center,
                                         method=self.settings.recon_method, pixel_size_m=step.metadata.pixel_size_m,
                                         memory_budget_bytes=self.settings.memory_budget_bytes)
        seconds = time.perf_counter() - started
        metrics.stage_duration.labels(stage="reconstruct").observe(seconds)
        log.info("step %d reconstructed (%s, %s backend, centre %.2f px) in %.2f s, %.2f s after its last frame",
                 step.metadata.step_index, self.settings.recon_method, self.backend_name, center, seconds,
                 time.monotonic() - step.last_frame_monotonic)
        return ReconstructedStep(step, array_backend.to_numpy(volume), float(center), seconds)


@dataclass
class AnalysedStep:
    """Everything published and stored for one step."""

    reconstructed: ReconstructedStep
    labels: np.ndarray
    analysis: StepAnalysis
    report: dict


def analysis_settings(config: AnalysisConfig) -> AnalysisSettings:
    """Kernel settings (SI) from the configuration section (um)."""
    return AnalysisSettings(near_interface_m=config.near_interface_um * 1e-6, depth_bin_m=config.depth_bin_um * 1e-6,
                            pore_density_window_m=config.pore_density_window_um * 1e-6,
                            current_density_sigma_px=config.current_density_smoothing_px,
                            hotspot_mode=config.hotspot_mode, hotspot_threshold=config.hotspot_threshold,
                            hotspot_min_area_m2=config.hotspot_min_area_um2 * 1e-12)


class StepAnalyser:
    """Segments a volume and quantifies it against the previous step of the same cell."""

    def __init__(self, pipeline: PipelineConfig, analysis: AnalysisConfig):
        self._method = pipeline.segmentation
        self._settings = analysis_settings(analysis)
        self._previous: dict[str, tuple[int, StepAnalysis]] = {}

    def run(self, item: ReconstructedStep, metrics: ServiceMetrics) -> AnalysedStep:
        meta = item.step.metadata
        started = time.perf_counter()
        labels = segment_threshold(item.volume, method=self._method)
        metrics.stage_duration.labels(stage="segment").observe(time.perf_counter() - started)
        started = time.perf_counter()
        previous_index, previous = self._previous.get(meta.cell_id, (None, None))
        if previous is not None and previous_index >= meta.step_index:
            previous = None  # a restarted experiment: no current density against a later step
        analysis = analyse_step(item.volume, labels, pixel_size_m=meta.pixel_size_m, duration_s=meta.duration_s,
                                previous=previous, settings=self._settings)
        self._previous[meta.cell_id] = (meta.step_index, analysis)
        metrics.stage_duration.labels(stage="analyse").observe(time.perf_counter() - started)
        report = {**meta.to_dict(), "applied_current_density_A_m2": meta.current_density_A_m2, "run_uid": item.step.run_uid, "center_px": item.center_px,
                  "frames": item.step.frame_counts, **analysis.to_report()}
        return AnalysedStep(item, labels, analysis, report)
