"""The ``scipy.ndimage`` namespace matching an array module (NumPy or CuPy), and a NaN-aware Gaussian."""

from types import ModuleType

from porewatch.kernels.backend import backend_name


def ndimage_module(xp: ModuleType) -> ModuleType:
    """``scipy.ndimage`` for NumPy, ``cupyx.scipy.ndimage`` for CuPy (imported lazily)."""
    if backend_name(xp) == "cupy":
        import cupyx.scipy.ndimage

        return cupyx.scipy.ndimage
    import scipy.ndimage

    return scipy.ndimage


def nan_gaussian_filter(values, *, sigma_px: float, xp: ModuleType, fill: bool = False):
    """Gaussian smoothing that ignores NaN entries (normalised convolution).

    ``values`` any shape (smoothed over every axis), float; returns float64 of that shape,
    NaN where ``values`` is NaN, or with ``fill`` the weighted mean of the known entries
    around them (NaN only where none is within reach).
    """
    ndi = ndimage_module(xp)
    known = xp.isfinite(values)
    weight = ndi.gaussian_filter(known.astype(xp.float64), sigma_px, mode="constant")
    total = ndi.gaussian_filter(xp.where(known, values, 0.0).astype(xp.float64), sigma_px, mode="constant")
    keep = weight > 1e-12 if fill else known
    return xp.where(keep, total / xp.where(keep, weight, 1.0), xp.nan)
