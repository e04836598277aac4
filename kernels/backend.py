"""Array-backend selection and input checks: one algorithm, NumPy or CuPy chosen from the input.

CuPy is optional and imported only when an input is a CuPy array (or when asked for by
name), so importing this module never needs a GPU.
"""

from types import ModuleType

import numpy as np


def _is_cupy_array(arr) -> bool:
    return type(arr).__module__.split(".", 1)[0] == "cupy"


def get_array_module(arr) -> ModuleType:
    """Return ``cupy`` when ``arr`` is a CuPy array, else ``numpy``."""
    if _is_cupy_array(arr):
        import cupy

        return cupy
    return np


def module_for_backend(name: str) -> ModuleType:
    """Return the array module for a backend name, ``"numpy"`` or ``"cupy"``."""
    if name == "numpy":
        return np
    if name == "cupy":
        import cupy

        return cupy
    raise ValueError(f"backend must be 'numpy' or 'cupy', got {name!r}")


def backend_name(xp: ModuleType) -> str:
    """Name of an array module: ``"numpy"`` or ``"cupy"``."""
    name = xp.__name__.split(".", 1)[0]
    if name not in ("numpy", "cupy"):
        raise ValueError(f"xp must be numpy or cupy, got module {xp.__name__!r}")
    return name


def to_numpy(arr) -> np.ndarray:
    """Copy a CuPy array to host memory; NumPy arrays are returned unchanged."""
    if _is_cupy_array(arr):
        return arr.get()
    return np.asarray(arr)


def fft_module(xp: ModuleType) -> ModuleType:
    """FFT namespace with a SciPy-style interface for ``xp``.

    ``scipy.fft`` for NumPy (callers pass ``workers=``), ``cupyx.scipy.fft`` for CuPy.
    """
    if backend_name(xp) == "cupy":
        import cupyx.scipy.fft

        return cupyx.scipy.fft
    import scipy.fft

    return scipy.fft


def fft_kwargs(xp: ModuleType, workers: int) -> dict:
    """Extra keyword arguments for the FFT calls of ``fft_module(xp)``."""
    return {"workers": workers} if backend_name(xp) == "numpy" else {}


def check_array(arr, *, name: str, ndim: int | tuple[int, ...] | None = None) -> ModuleType:
    """Check that ``arr`` is a real NumPy/CuPy array of the given rank; return its module.

    Raises
    ------
    TypeError
        ``arr`` is not an array, or not of a real numeric dtype.
    ValueError
        ``arr`` has the wrong number of dimensions or is empty.
    """
    xp = get_array_module(arr)
    if not isinstance(arr, xp.ndarray):
        raise TypeError(f"{name} must be a numpy or cupy array, got {type(arr).__name__}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must have a real numeric dtype, got {arr.dtype}")
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and arr.ndim not in allowed:
        raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimensions, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return xp
