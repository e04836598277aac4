"""Local current density from the change of electrode thickness between two steps.

Dixit et al. (2020), eq. 3: ``j = (t2 - t1) F / (dt V_Li)`` per column, with ``t1``,
``t2`` the Li thickness at the two steps, ``F`` Faraday's constant, ``dt`` the duration of
the step and ``V_Li`` the molar volume of Li.  Signs follow the porewatch convention
(positive j = Li plates on the top electrode and strips from the bottom one): the top
map is ``+(...)``, the bottom map ``-(...)``, so that both area means estimate the applied
current density.
"""

import math

from porewatch.kernels.backend import check_array
from porewatch.kernels.constants import FARADAY_C_PER_MOL, MOLAR_VOLUME_LI_M3_PER_MOL
from porewatch.kernels.quantify.electrodes import ELECTRODES
from porewatch.kernels.quantify.ndimage_backend import nan_gaussian_filter


def current_density_map(
    thickness_before_m,
    thickness_after_m,
    *,
    duration_s: float,
    electrode: str,
    smoothing_sigma_px: float = 0.0,
):
    """Current density map of one electrode between two steps.

    Parameters
    ----------
    thickness_before_m, thickness_after_m : (n_y, n_x) float array
        Li thickness per column at the earlier and later step, m (NaN where unknown).
    duration_s : float
        Time between the two steps, s.
    electrode : {"top", "bottom"}
        Sets the sign (see the module docstring).
    smoothing_sigma_px : float
        Gaussian sigma (pixels) of a NaN-aware smoothing of the map (normalised
        convolution: unknown columns neither contribute nor get filled); 0 disables it.
        The map's noise is that of the thickness difference, so smoothing by sigma cuts
        its standard deviation by about ``2 sqrt(pi) sigma`` for uncorrelated noise.

    Returns
    -------
    (n_y, n_x) float32 array
        Current density, A/m^2; NaN where either thickness is unknown.
    """
    xp = check_array(thickness_before_m, name="thickness_before_m", ndim=2)
    check_array(thickness_after_m, name="thickness_after_m", ndim=2)
    if thickness_before_m.shape != thickness_after_m.shape:
        raise ValueError(
            f"thickness_after_m: shape {thickness_after_m.shape} differs from "
            f"thickness_before_m {thickness_before_m.shape}"
        )
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"duration_s must be positive and finite, got {duration_s}")
    if electrode not in ELECTRODES:
        raise ValueError(f"electrode must be one of {ELECTRODES}, got {electrode!r}")
    if not (math.isfinite(smoothing_sigma_px) and smoothing_sigma_px >= 0):
        raise ValueError(f"smoothing_sigma_px must be non-negative, got {smoothing_sigma_px}")
    sign = 1.0 if electrode == "top" else -1.0
    scale = sign * FARADAY_C_PER_MOL / (duration_s * MOLAR_VOLUME_LI_M3_PER_MOL)
    j = (thickness_after_m.astype(xp.float64) - thickness_before_m) * scale
    if smoothing_sigma_px > 0:
        j = nan_gaussian_filter(j, sigma_px=smoothing_sigma_px, xp=xp)
    return xp.ascontiguousarray(j, dtype=xp.float32)


def area_mean_std(values) -> tuple[float, float]:
    """Mean and standard deviation over the known (finite) entries of a map.

    Returns ``(nan, nan)`` when no entry is known.
    """
    xp = check_array(values, name="values")
    known = values[xp.isfinite(values)]
    if known.size == 0:
        return math.nan, math.nan
    return float(known.mean(dtype=xp.float64)), float(known.std(dtype=xp.float64))
