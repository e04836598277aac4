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
from porewatch.kernels.prep.phase import paganin
from porewatch.kernels.prep.stripes import remove_stripes_fourier_wavelet, remove_stripes_sorting
from porewatch.kernels.prep.zingers import remove_zingers
from porewatch.kernels.quantify.step_analysis import AnalysisSettings, StepAnalysis, analyse_step
from porewatch.kernels.recon.reconstruct import prefilter_projection, reconstruct, reconstruct_prefiltered

from .assembly import AssembledStep
from .config import AnalysisConfig, PipelineConfig, SegmentationConfig
from .metrics import ServiceMetrics
from .segmentation import make_segmenter
from .step_metadata import StepMetadata

log = logging.getLogger(__name__)


class FramePreprocessor:
    """Per-frame work done on arrival: dark/flat normalisation, zinger removal, -log or Paganin phase
    retrieval, and the reconstruction's row filtering (unless stripe removal needs the whole step).

    ``preprocessor(frame, flat_mean, dark_mean, metadata) -> (line_integrals, prefiltered | None)``:
    ``(n_rows, n_cols)`` float32 and the method's prefiltered layout (see
    :func:`porewatch.kernels.recon.reconstruct.prefilter_projection`).
    """

    def __init__(self, settings: PipelineConfig):
        self.settings = settings
        self.prefilters = settings.stripe_removal == "none"

    def __call__(self, frame: np.ndarray, flat_mean: np.ndarray, dark_mean: np.ndarray, metadata: StepMetadata):
        s = self.settings
        transmission = normalize(frame, flat_mean, dark_mean)
        if s.zinger_threshold is not None:
            transmission = remove_zingers(transmission, threshold=s.zinger_threshold)
        if s.phase_retrieval == "paganin":
            line_integrals = paganin(transmission, pixel_size_m=metadata.pixel_size_m,
                                     distance_m=metadata.propagation_distance_m, energy_kev=metadata.energy_kev,
                                     delta_over_beta=s.delta_over_beta)
        else:
            line_integrals = minus_log(transmission)
        if not self.prefilters:
            return line_integrals, None
        return line_integrals, prefilter_projection(line_integrals, method=s.recon_method, filter_name=s.recon_filter)


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
        s = self.settings
        line_integrals = self._xp.asarray(step.line_integrals)
        if s.stripe_removal == "sorting":
            line_integrals = remove_stripes_sorting(line_integrals, size=s.stripe_sorting_size)
        elif s.stripe_removal == "fourier-wavelet":
            line_integrals = remove_stripes_fourier_wavelet(line_integrals)
        center = s.center_px
        if center is None:
            center = find_center(line_integrals, angles_rad=step.angles_rad)
        common = dict(angles_rad=step.angles_rad, center_px=center, method=s.recon_method,
                      pixel_size_m=step.metadata.pixel_size_m, memory_budget_bytes=s.memory_budget_bytes)
        if step.filtered is None:
            volume = reconstruct(line_integrals, filter_name=s.recon_filter, **common)
        else:
            volume = reconstruct_prefiltered(self._xp.asarray(step.filtered), n_cols=step.line_integrals.shape[2],
                                             **common)
        seconds = time.perf_counter() - started
        latency = time.monotonic() - step.last_frame_monotonic
        metrics.stage_duration.labels(stage="reconstruct").observe(seconds)
        metrics.volume_latency.observe(latency)
        log.info("step %d reconstructed (%s, %s backend, centre %.2f px) in %.2f s, %.2f s after its last frame",
                 step.metadata.step_index, s.recon_method, self.backend_name, center, seconds, latency)
        return ReconstructedStep(step, array_backend.to_numpy(volume), float(center), seconds)


@dataclass
class AnalysedStep:
    """Everything published and stored for one step."""

    reconstructed: ReconstructedStep
    labels: np.ndarray
    analysis: StepAnalysis
    report: dict
    #: (n_z, n_y, n_x) float32 probability of each voxel's class where the CNN segmented it, NaN elsewhere;
    #: None for the classical methods.
    confidence: np.ndarray | None = None


def analysis_settings(config: AnalysisConfig) -> AnalysisSettings:
    """Kernel settings (SI) from the configuration section (um)."""
    return AnalysisSettings(near_interface_m=config.near_interface_um * 1e-6, depth_bin_m=config.depth_bin_um * 1e-6,
                            pore_density_window_m=config.pore_density_window_um * 1e-6,
                            current_density_sigma_px=config.current_density_smoothing_px,
                            hotspot_mode=config.hotspot_mode, hotspot_threshold=config.hotspot_threshold,
                            hotspot_min_area_m2=config.hotspot_min_area_um2 * 1e-12,
                            hotspot_min_area_px=config.hotspot_min_area_px,
                            hotspot_min_compactness=config.hotspot_min_compactness,
                            hotspot_peak_factor=config.hotspot_peak_factor,
                            distribution_window_px=config.porosity_distribution_window_px,
                            llzo_depth_bin_m=config.llzo_depth_bin_um * 1e-6,
                            llzo_interfacial_m=config.llzo_interfacial_um * 1e-6,
                            llzo_transport=config.llzo_transport_every_steps > 0,
                            llzo_box_max_px=config.llzo_box_max_px, llzo_domains=config.llzo_domains,
                            llzo_domain_max_px=config.llzo_domain_max_px,
                            llzo_grain_size_m=config.llzo_grain_size_um * 1e-6)


class StepAnalyser:
    """Segments a volume and quantifies it against the previous step of the same cell."""

    def __init__(self, segmentation: SegmentationConfig, analysis: AnalysisConfig):
        self._segmenter = make_segmenter(segmentation)
        self._settings = analysis_settings(analysis)
        self._transport_every = analysis.llzo_transport_every_steps
        self._previous: dict[str, tuple[int, StepAnalysis]] = {}

    def run(self, item: ReconstructedStep, metrics: ServiceMetrics) -> AnalysedStep:
        meta = item.step.metadata
        started = time.perf_counter()
        labels, confidence = self._segmenter(item.volume, pixel_size_m=meta.pixel_size_m)
        metrics.stage_duration.labels(stage="segment").observe(time.perf_counter() - started)
        started = time.perf_counter()
        previous_index, previous = self._previous.get(meta.cell_id, (None, None))
        if previous is not None and previous_index >= meta.step_index:
            previous = None  # a restarted experiment: no current density against a later step
        every = self._transport_every
        analysis = analyse_step(item.volume, labels, pixel_size_m=meta.pixel_size_m, duration_s=meta.duration_s,
                                previous=previous, applied_current_density_A_m2=meta.current_density_A_m2,
                                settings=self._settings, llzo_transport=every > 0 and meta.step_index % every == 0,
                                seed=meta.step_index)
        if item.step.rescan is None:  # a hot-spot rescan images the same state: steps stay the reference
            self._previous[meta.cell_id] = (meta.step_index, analysis)
        metrics.stage_duration.labels(stage="analyse").observe(time.perf_counter() - started)
        report = {**meta.to_dict(), "applied_current_density_A_m2": meta.current_density_A_m2,
                  "run_uid": item.step.run_uid, "center_px": item.center_px, "frames": item.step.frame_counts,
                  **analysis.to_report(),
                  "segmentation": self._segmenter.summary.to_report()}
        return AnalysedStep(item, labels, analysis, report, confidence)
