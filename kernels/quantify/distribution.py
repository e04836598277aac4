"""Probability distribution of local porosity over an electrode, and its number of modes.

Dixit et al. (2020, Fig. S5a): pristine Li shows a unimodal porosity distribution, plated and
stripped Li a trimodal one (more spatial variance after cycling).  Local porosity here is
the pore density map (porosity of each column through the electrode) averaged over a
lateral window of ``window_px`` columns, sampled on a grid of that pitch so the samples are
(nearly) independent; the density is a Gaussian kernel estimate (Scott's bandwidth) on
``n_points`` points spanning the samples, and a mode is a peak of it whose prominence
exceeds ``prominence`` times the highest peak.
"""

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks
from scipy.stats import gaussian_kde

from porewatch.kernels.backend import check_array, to_numpy
from porewatch.kernels.quantify.ndimage_backend import nan_gaussian_filter


@dataclass(frozen=True)
class PorosityDistribution:
    """Kernel density of local porosity.

    Attributes
    ----------
    porosity : (n_points,) float64 ndarray
        Porosity values at which the density is given.
    density : (n_points,) float64 ndarray
        Probability density (integrates to ~1 over ``porosity``); zeros without samples.
    modes : int
        Number of significant peaks (0 without samples).
    mode_porosities : tuple of float
        Porosity at each peak, ascending.
    n_samples : int
    """

    porosity: np.ndarray
    density: np.ndarray
    modes: int
    mode_porosities: tuple
    n_samples: int


def porosity_distribution(pore_density_map, *, window_px: int = 5, n_points: int = 128,
                          prominence: float = 0.1) -> PorosityDistribution:
    """Distribution of local porosity over the known columns of a pore density map.

    Parameters
    ----------
    pore_density_map : (n_y, n_x) float array
        Porosity per column, NaN where unknown.
    window_px : int
        Lateral window (and sampling pitch) of the local porosity, columns.
    n_points : int
        Points of the density estimate.
    prominence : float
        Smallest peak prominence counted as a mode, relative to the highest peak.

    Returns
    -------
    PorosityDistribution
    """
    check_array(pore_density_map, name="pore_density_map", ndim=2)
    if not (isinstance(window_px, int) and window_px >= 1):
        raise ValueError(f"window_px must be an int >= 1, got {window_px!r}")
    if not 0 < prominence < 1:
        raise ValueError(f"prominence must lie in (0, 1), got {prominence!r}")
    values = to_numpy(pore_density_map).astype(np.float64)
    local = nan_gaussian_filter(values, sigma_px=window_px / 2.0, xp=np) if window_px > 1 else values
    offset = window_px // 2
    samples = local[offset::window_px, offset::window_px]
    samples = samples[np.isfinite(samples)]
    grid = np.linspace(0.0, 1.0, n_points)
    if samples.size < 3 or np.ptp(samples) == 0:
        empty = samples.size == 0
        return PorosityDistribution(grid, np.zeros(n_points), 0 if empty else 1,
                                    () if empty else (float(np.median(samples)),), int(samples.size))
    low, high = samples.min(), samples.max()
    pad = 0.25 * (high - low)
    grid = np.linspace(max(low - pad, 0.0), min(high + pad, 1.0), n_points)
    density = gaussian_kde(samples)(grid)
    padded = np.concatenate(([0.0], density, [0.0]))  # a peak at either end still counts
    peaks, _ = find_peaks(padded, prominence=prominence * density.max())
    peaks = peaks - 1
    return PorosityDistribution(grid, density, int(peaks.size), tuple(float(grid[p]) for p in peaks), int(samples.size))

