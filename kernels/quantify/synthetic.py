"""Synthetic isotropic LLZO domains from measured porosity, pore size and grain size.

Dixit et al. (2020, Fig. 4d) compare microstructure factors of tomography domains with
those of isotropic domains generated from the measured physical parameters.  Here a
periodic box is tiled by Voronoi grains of mean size ``grain_size`` (seeds uniform in the
box), and spherical pores of radius uniform in ``[0.75, 1.25] pore_radius`` are centred on
grain boundaries (points about equidistant from their two nearest seeds: sintered LLZO's
porosity is intergranular) until the voxel porosity reaches ``porosity``.  Everything is
periodic, as the homogenisation is, and statistically isotropic by construction.
"""

import math

import numpy as np
from scipy.spatial import cKDTree

_BATCH = 64


def synthetic_domain(shape: tuple[int, int, int], *, porosity: float, pore_radius_px: float, grain_size_px: float,
                     seed: int) -> np.ndarray:
    """Solid (True) and pore (False) voxels of a synthetic periodic domain.

    Parameters
    ----------
    shape : (n_0, n_1, n_2)
        Domain size, voxels.
    porosity : float
        Target pore fraction in [0, 0.5); reached to within one pore.
    pore_radius_px : float
        Mean pore radius, voxels (> 0.5).
    grain_size_px : float
        Mean grain size (cube root of the grain volume), voxels (> 1).
    seed : int
        Seed of every random draw.

    Returns
    -------
    (n_0, n_1, n_2) bool ndarray
    """
    if len(shape) != 3 or min(shape) < 2:
        raise ValueError(f"shape must be three sizes >= 2, got {shape!r}")
    if not (math.isfinite(porosity) and 0 <= porosity < 0.5):
        raise ValueError(f"porosity must lie in [0, 0.5), got {porosity!r}")
    if not (math.isfinite(pore_radius_px) and 0.5 < pore_radius_px <= (min(shape) - 3) / 2.5):
        raise ValueError(f"pore_radius_px must exceed half a voxel and let the largest pore (1.25 x) fit in "
                         f"the domain {shape}, got {pore_radius_px!r}")
    if not (math.isfinite(grain_size_px) and grain_size_px > 1):
        raise ValueError(f"grain_size_px must exceed one voxel, got {grain_size_px!r}")
    rng = np.random.default_rng(seed)
    box = np.asarray(shape, dtype=np.float64)
    n_grains = max(2, int(round(float(np.prod(box)) / grain_size_px**3)))
    grains = cKDTree(rng.random((n_grains, 3)) * box, boxsize=box)
    solid = np.ones(shape, dtype=bool)
    target = int(round(porosity * solid.size))
    for _ in range(10_000):
        if solid.size - int(solid.sum()) >= target:
            break
        candidates = rng.random((_BATCH, 3)) * box
        distances, _ = grains.query(candidates, k=2)
        radii = pore_radius_px * rng.uniform(0.75, 1.25, _BATCH)
        on_boundary = np.abs(distances[:, 1] - distances[:, 0]) < radii
        for centre, radius in zip(candidates[on_boundary], radii[on_boundary]):
            _carve(solid, centre, radius)
            if solid.size - int(solid.sum()) >= target:
                break
    return solid


def _carve(solid: np.ndarray, centre: np.ndarray, radius: float) -> None:
    """Set the voxels whose centre lies within ``radius`` of ``centre`` (periodically) to pore."""
    reach = int(math.ceil(radius))
    offsets = np.arange(-reach, reach + 1)
    base = np.floor(centre).astype(np.int64)
    axes = [(base[k] + offsets) for k in range(3)]
    deltas = [(axes[k] + 0.5 - centre[k]) ** 2 for k in range(3)]
    inside = deltas[0][:, None, None] + deltas[1][None, :, None] + deltas[2][None, None, :] <= radius**2
    index = np.ix_(*[axes[k] % solid.shape[k] for k in range(3)])
    solid[index] &= ~inside
