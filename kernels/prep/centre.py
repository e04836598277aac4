"""Automatic centre of rotation, sub-pixel, from a half-turn (or longer) parallel-beam scan.

Method (after Vo et al., Opt. Express 22, 19078, 2014): the projection at ``theta + pi``
is the one at ``theta`` mirrored about the rotation axis, so appending the sinogram
mirrored about a candidate axis column ``c`` gives a full-turn sinogram.  For the right
``c`` it is periodic and smooth in angle, and its 2-D spectrum vanishes outside the
"bow tie" ``|m| <= 2 pi R |nu|`` (angular harmonic ``m``, detector frequency ``nu`` in
cycles per pixel, object radius ``R`` pixels); a wrong ``c`` puts seams into it whose
energy spreads over all harmonics.  The metric is the mean spectral magnitude outside the
bow tie; it is minimised over ``c`` from coarse (binned columns) to fine grids.
Mirroring about a fractional column is exact: a phase ramp on the row spectra.
"""

import numpy as np

from porewatch.kernels.backend import check_array, to_numpy
from porewatch.kernels.recon.geometry import check_angles

#: Harmonics kept clear between the bow tie and the measured region.
_GUARD_HARMONICS = 4


def _half_turn(sinogram: np.ndarray, angles: np.ndarray):
    """Rows of the first half-turn (angles within [theta_0, theta_0 + pi)), in angle order."""
    order = np.argsort(angles, kind="stable")
    relative = angles[order] - angles[order[0]]
    keep = relative < np.pi - 1e-9
    spacing = np.median(np.diff(relative[keep])) if keep.sum() > 1 else np.inf
    if relative[keep][-1] + spacing < 0.95 * np.pi:
        raise ValueError("angles_rad must cover at least a half turn (about pi radians)")
    return sinogram[order[keep]]


def _seam_metric(spectra: np.ndarray, candidates: np.ndarray, *, n_cols: int) -> np.ndarray:
    """Mean |2-D spectrum| outside the bow tie of the full-turn sinogram, per candidate.

    ``spectra``: (n_angles, length) FFT over zero-padded columns of the half-turn sinogram.
    """
    n_angles, length = spectra.shape
    nu = np.fft.fftfreq(length)
    harmonic = np.abs(np.fft.fftfreq(2 * n_angles, d=1.0 / (2 * n_angles)))[:, None]
    outside = harmonic > np.pi * n_cols * np.abs(nu)[None, :] + _GUARD_HARMONICS
    # mirror about column c: S(2c - col) has spectrum conj-reversed S(nu) * exp(-4 pi i nu c)
    reversed_spectra = spectra[:, (-np.arange(length)) % length]
    metric = np.empty(candidates.size)
    for index, centre in enumerate(candidates):
        mirrored = reversed_spectra * np.exp(-4j * np.pi * nu * centre)[None, :]
        full_turn = np.fft.fft(np.concatenate([spectra, mirrored]), axis=0)
        metric[index] = np.abs(full_turn[outside]).mean()
    return metric


def _search(sinogram: np.ndarray, candidates: np.ndarray) -> float:
    """Candidate column with the smallest seam metric (parabola through the minimum)."""
    n_angles, n_cols = sinogram.shape
    length = 2 * n_cols
    spectra = np.fft.fft(sinogram, n=length, axis=1)
    metric = _seam_metric(spectra, candidates, n_cols=n_cols)
    best = int(np.argmin(metric))
    if 0 < best < candidates.size - 1:
        left, middle, right = metric[best - 1 : best + 2]
        curvature = left - 2 * middle + right
        if curvature > 0:
            step = candidates[1] - candidates[0]
            return float(candidates[best] + 0.5 * step * (left - right) / curvature)
    return float(candidates[best])


def find_center(line_integrals, *, angles_rad, rows=None, search_px=None, bin_to=64):
    """Detector column of the rotation axis, with sub-pixel precision.

    Parameters
    ----------
    line_integrals : (n_angles, n_rows, n_cols) float array, NumPy or CuPy
        ``-log`` of normalised projections (dimensionless); stripes should be removed
        first, since a stripe looks like an object on the axis.
    angles_rad : (n_angles,) float, radians
        Projection angles covering at least a half turn; only the first half turn is used.
    rows : slice or None
        Detector rows whose sinograms are averaged (default: all rows).
    search_px : float or None
        Largest offset of the axis from the detector centre to consider, pixels
        (default: a quarter of the detector width).
    bin_to : int
        Columns are binned to at most this many for the coarse search; the search then
        halves the binning stage by stage down to a 0.1-pixel grid at full resolution.

    Returns
    -------
    center_px : float
        Detector column (0-based, sub-pixel) of the rotation axis, as ``center_px`` of
        :func:`porewatch.kernels.recon.reconstruct`.
    """
    check_array(line_integrals, name="line_integrals", ndim=3)
    n_angles, n_rows, n_cols = line_integrals.shape
    angles = check_angles(angles_rad, n_angles=n_angles)
    selected = line_integrals[:, rows if rows is not None else slice(None)]
    sinogram = _half_turn(to_numpy(selected).astype(np.float64).mean(axis=1), angles)
    middle = (n_cols - 1) / 2.0
    search = n_cols / 4.0 if search_px is None else float(search_px)
    if not 0 < search < n_cols / 2:
        raise ValueError(f"search_px must be in (0, {n_cols / 2}), got {search_px}")
    factor = 1 << max(0, int(np.ceil(np.log2(n_cols / bin_to))))
    offsets = np.arange(-np.ceil(search / factor), np.ceil(search / factor) + 0.5)  # whole binned pixels
    estimate = _refine(sinogram, middle, offsets, factor=factor)
    while factor > 1:
        factor //= 2
        estimate = _refine(sinogram, estimate, np.arange(-2.0, 2.0001, 0.5), factor=factor)
    return _refine(sinogram, estimate, np.arange(-1.0, 1.0001, 0.1), factor=1)


def _refine(sinogram: np.ndarray, estimate: float, offsets: np.ndarray, *, factor: int) -> float:
    """Best axis column among ``estimate + offsets * factor``, searched on columns binned by ``factor``."""
    binned_estimate = (estimate - (factor - 1) / 2.0) / factor
    return _search(_binned(sinogram, factor), binned_estimate + offsets) * factor + (factor - 1) / 2.0


def _binned(sinogram: np.ndarray, factor: int) -> np.ndarray:
    """Mean of ``factor`` adjacent columns (trailing remainder dropped)."""
    n_angles, n_cols = sinogram.shape
    usable = n_cols // factor * factor
    return sinogram[:, :usable].reshape(n_angles, -1, factor).mean(axis=2)
