"""Filtered backprojection: voxel-driven backprojection of ramp-filtered rows with linear
interpolation between detector columns.

NumPy: a loop over angles, each a vectorised gather shared by all sinograms of the slab.
CuPy: one RawKernel thread per voxel and slice (``backproject.cu``).
"""

import numpy as np

from porewatch.kernels.backend import backend_name, get_array_module
from porewatch.kernels.recon.geometry import circle_mask
from porewatch.kernels.recon.kernels_cuda import load_kernel


def _backproject_numpy(filtered, *, cos_w, sin_w, weights, center_px):
    n_angles, n_slab, n_cols = filtered.shape
    n = n_cols
    rows, cols = np.nonzero(circle_mask(n))
    x = (cols - (n - 1) / 2.0).astype(np.float32)
    y = (rows - (n - 1) / 2.0).astype(np.float32)
    # Columns padded by one zero on each side; slices last so one gather serves the slab.
    padded = np.zeros((n_cols + 2, n_slab), dtype=np.float32)
    accumulated = np.zeros((x.size, n_slab), dtype=np.float32)
    upper = np.float32(n_cols + 1 - 1e-3)
    for a in range(n_angles):
        padded[1:-1] = filtered[a].T
        padded *= np.float32(weights[a])
        position = x * np.float32(cos_w[a])
        position += y * np.float32(sin_w[a])
        position += np.float32(center_px + 1.0)
        np.clip(position, 0.0, upper, out=position)
        left = position.astype(np.intp)
        fraction = (position - left)[:, None]
        value = padded[left]
        step = padded[left + 1]
        step -= value
        step *= fraction
        value += step
        accumulated += value
    volume = np.zeros((n_slab, n * n), dtype=np.float32)
    volume[:, rows * n + cols] = accumulated.T
    return volume.reshape(n_slab, n, n)


def _backproject_cupy(filtered, *, cos_w, sin_w, weights, center_px):
    import cupy as cp

    n_angles, n_slab, n_cols = filtered.shape
    n = n_cols
    volume = cp.empty((n_slab, n, n), dtype=cp.float32)
    trig = cp.asarray(np.stack([cos_w, sin_w, weights]).astype(np.float32))
    kernel = load_kernel("backproject.cu", "backproject_linear")
    threads = (16, 16, 1)
    blocks = ((n + 15) // 16, (n + 15) // 16, n_slab)
    kernel(
        blocks,
        threads,
        (
            cp.ascontiguousarray(filtered, dtype=cp.float32),
            trig,
            volume,
            np.int32(n_angles),
            np.int32(n_slab),
            np.int32(n_cols),
            np.int32(n),
            np.float32(center_px),
        ),
    )
    return volume


def backproject(filtered, *, angles_rad, center_px, angle_weights):
    """Backproject ramp-filtered rows into ``n_cols x n_cols`` slices.

    Parameters
    ----------
    filtered : (n_angles, n_slab, n_cols) float32, NumPy or CuPy
        Filtered line integrals (see :func:`porewatch.kernels.recon.filters.filter_rows`).
    angles_rad : (n_angles,) float64, radians
    center_px : float
        Detector column of the rotation axis (sub-pixel).
    angle_weights : (n_angles,) float64, radians
        Quadrature weights (see :func:`porewatch.kernels.recon.geometry.angular_weights`).

    Returns
    -------
    slices : (n_slab, n_cols, n_cols) float32, per pixel (divide by the pixel size for 1/m);
        zero outside the reconstruction circle.
    """
    angles = np.asarray(angles_rad, dtype=np.float64)
    geometry = {
        "cos_w": np.cos(angles),
        "sin_w": np.sin(angles),
        "weights": np.asarray(angle_weights, dtype=np.float64),
        "center_px": float(center_px),
    }
    if backend_name(get_array_module(filtered)) == "cupy":
        return _backproject_cupy(filtered, **geometry)
    return _backproject_numpy(np.ascontiguousarray(filtered, dtype=np.float32), **geometry)

