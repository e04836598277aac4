"""Detector frames of one step: noise-free intensity, then flats, darks, noise, uint16.

The open beam has a smooth non-uniform profile; a few defect columns changed gain between
the flat-field and the projection acquisitions (scintillator or dose drift), so flat-field
correction leaves stripes in those columns, i.e. rings in reconstructions.
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from porewatch.kernels.simulate.cell import CellState
from porewatch.kernels.simulate.detector import DetectorSpec
from porewatch.kernels.simulate.optics import (
    detector_blur,
    exit_wave,
    fresnel_propagate,
    fringe_margin_px,
)
from porewatch.kernels.simulate.projector import (
    SUPERSAMPLING,
    angle_chunks,
    bin_pixels,
    project_sections,
)
from porewatch.kernels.simulate.slabs import slab_sections

_UINT16_MAX = np.iinfo(np.uint16).max


@dataclass(frozen=True)
class StepFrames:
    """Raw frames of one tomographic scan.

    Attributes
    ----------
    projections : (n_angles, n_rows, n_cols) uint16
    flats : (n_flats, n_rows, n_cols) uint16
    darks : (n_darks, n_rows, n_cols) uint16
    angles_deg : (n_angles,) float64
    """

    projections: np.ndarray
    flats: np.ndarray
    darks: np.ndarray
    angles_deg: np.ndarray


def detected_intensity(state: CellState, detector: DetectorSpec) -> np.ndarray:
    """Noise-free intensity behind the sample relative to the open beam.

    Line integrals on a 2 x 2 sub-pixel grid (each sub-row the exact or near-exact mean over
    its half-row slab of z, see :mod:`porewatch.kernels.simulate.slabs`) -> exit wave ->
    Fresnel propagation over ``detector.propagation_distance_m`` -> |.|^2 -> pixel binning
    -> detector blur.

    Returns (n_angles, n_rows, n_cols) float32, 1 where nothing is in the beam.
    """
    angles = np.deg2rad(detector.angles_deg())
    sections, spheres = slab_sections(state, z_edges_m=detector.row_edges_m(SUPERSAMPLING))
    s_m = detector.column_s_m(SUPERSAMPLING)
    pitch = detector.pixel_size_m / SUPERSAMPLING
    optics = dict(wavelength_m=detector.wavelength_m, distance_m=detector.propagation_distance_m,
                  pixel_size_m=pitch)
    pad = fringe_margin_px(**optics)
    out = np.empty((angles.size, detector.n_rows, detector.n_cols), dtype=np.float32)
    for chunk in angle_chunks(detector):
        mu, delta = project_sections(sections, angles_rad=angles[chunk], s_m=s_m, spheres=spheres)
        wave = fresnel_propagate(exit_wave(mu, delta, wavelength_m=detector.wavelength_m),
                                 pad_px=pad, **optics)
        out[chunk] = bin_pixels(wave.real**2 + wave.imag**2)
    return detector_blur(out, sigma_px=detector.blur_sigma_px)


def open_beam_profile(detector: DetectorSpec) -> np.ndarray:
    """Mean open-beam counts per pixel, (n_rows, n_cols) float64 (fixed by ``detector_seed``)."""
    rng = np.random.default_rng([detector.detector_seed, 0])
    noise = rng.standard_normal((detector.n_rows, detector.n_cols))
    smooth = ndimage.gaussian_filter(noise, sigma=max(detector.n_rows, detector.n_cols) / 8,
                                     mode="wrap")
    smooth /= max(float(smooth.std()), np.finfo(float).tiny)
    profile = 1.0 + detector.flat_nonuniformity * smooth
    return detector.flat_photons * np.clip(profile, 0.5, 1.5)


def column_gain_drift(detector: DetectorSpec) -> np.ndarray:
    """(n_cols,) float64: relative gain of each column in projections over that in flats.

    ``n_defect_columns`` columns drift by +-(amplitude/2 .. amplitude); the others are 1.
    """
    rng = np.random.default_rng([detector.detector_seed, 1])
    gains = np.ones(detector.n_cols)
    columns = rng.choice(detector.n_cols, size=detector.n_defect_columns, replace=False)
    size = rng.uniform(0.5, 1.0, columns.size) * detector.defect_gain_amplitude
    gains[columns] += np.where(rng.random(columns.size) < 0.5, -size, size)
    return gains


def _counts(mean: np.ndarray, detector: DetectorSpec, rng: np.random.Generator) -> np.ndarray:
    """Poisson photon counts of ``mean`` plus dark offset and read noise, as uint16."""
    counts = rng.poisson(mean).astype(np.float64)
    counts += detector.dark_counts + detector.read_noise_counts * rng.standard_normal(mean.shape)
    return np.clip(np.rint(counts), 0, _UINT16_MAX).astype(np.uint16)


def simulate_step(state: CellState, detector: DetectorSpec, *, seed: int) -> StepFrames:
    """All raw frames of one step's scan; ``seed`` fixes the photon and read noise."""
    if not isinstance(state, CellState):
        raise TypeError(f"state must be a CellState, got {type(state).__name__}")
    if not isinstance(detector, DetectorSpec):
        raise TypeError(f"detector must be a DetectorSpec, got {type(detector).__name__}")
    rng = np.random.default_rng(seed)
    profile = open_beam_profile(detector)
    drift = column_gain_drift(detector)
    intensity = detected_intensity(state, detector)
    projections = _counts(intensity * (profile * drift), detector, rng)
    shape = (detector.n_rows, detector.n_cols)
    flats = _counts(np.broadcast_to(profile, (detector.n_flats, *shape)), detector, rng)
    darks = _counts(np.zeros((detector.n_darks, *shape)), detector, rng)
    return StepFrames(projections, flats, darks, detector.angles_deg())
