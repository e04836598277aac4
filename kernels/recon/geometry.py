"""Parallel-beam geometry shared by the reconstructors: angle weights, axis, circle.

Convention (see :mod:`porewatch.kernels`): voxel ``(i, j)`` of an ``n x n`` slice sits at
``x = j - (n - 1) / 2``, ``y = i - (n - 1) / 2`` pixels from the rotation axis and projects
to detector column ``c = c_rot + x cos(theta) + y sin(theta)``.
"""

import numpy as np


def check_angles(angles_rad, *, n_angles: int) -> np.ndarray:
    """Validate projection angles (radians) against the number of projections."""
    angles = np.asarray(angles_rad, dtype=np.float64)
    if angles.ndim != 1 or angles.size != n_angles:
        raise ValueError(f"angles_rad must have shape ({n_angles},), got {angles.shape}")
    if not np.all(np.isfinite(angles)):
        raise ValueError("angles_rad must be finite")
    return angles


def angular_weights(angles_rad) -> np.ndarray:
    """Quadrature weights (radians) of projection angles for a parallel-beam integral over pi.

    Angles are folded into [0, pi) (a ray at theta + pi is the ray at theta reversed);
    each angle gets half the gap to its neighbours on that circle, so the weights sum to
    pi for any sampling: pi / n_angles for an even half scan, half that for a full scan.

    Parameters
    ----------
    angles_rad : (n_angles,) array of float, radians

    Returns
    -------
    weights : (n_angles,) float64, radians
    """
    angles = np.asarray(angles_rad, dtype=np.float64)
    if angles.ndim != 1 or angles.size == 0:
        raise ValueError(f"angles_rad must be a non-empty 1-D array, got shape {angles.shape}")
    if angles.size == 1:
        return np.array([np.pi])
    folded = np.mod(angles, np.pi)
    order = np.argsort(folded, kind="stable")
    sorted_angles = folded[order]
    gaps = np.diff(np.concatenate([sorted_angles, sorted_angles[:1] + np.pi]))
    sorted_weights = 0.5 * (gaps + np.roll(gaps, 1))
    weights = np.empty_like(sorted_weights)
    weights[order] = sorted_weights
    return weights


def default_center(n_cols: int) -> float:
    """Detector column of the rotation axis when none is given: (n_cols - 1) / 2."""
    return (n_cols - 1) / 2.0


def circle_mask(n: int, *, xp=np):
    """Boolean ``(n, n)`` mask of the reconstruction circle: radius (n - 1) / 2 about the axis.

    Only voxels inside it are seen by every projection of an ``n``-column detector.
    """
    coords = xp.arange(n, dtype=xp.float32) - (n - 1) / 2.0
    radius = (n - 1) / 2.0
    return coords[:, None] ** 2 + coords[None, :] ** 2 <= radius**2 + 1e-6
