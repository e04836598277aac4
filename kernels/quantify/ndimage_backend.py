"""The ``scipy.ndimage`` namespace matching an array module (NumPy or CuPy)."""

from types import ModuleType

from porewatch.kernels.backend import backend_name


def ndimage_module(xp: ModuleType) -> ModuleType:
    """``scipy.ndimage`` for NumPy, ``cupyx.scipy.ndimage`` for CuPy (imported lazily)."""
    if backend_name(xp) == "cupy":
        import cupyx.scipy.ndimage

        return cupyx.scipy.ndimage
    import scipy.ndimage

    return scipy.ndimage
