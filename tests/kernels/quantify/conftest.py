"""Synthetic Li|LLZO|Li cells with known sub-voxel interfaces, shared by the quantify tests."""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage

from porewatch.kernels.constants import LITHIUM, LLZO, STEEL
from porewatch.kernels.labels import Phase

#: Attenuation of the five layers along z, 1/m: steel | Li | LLZO | Li | steel.
LAYERS_MU = (STEEL.mu_per_m, LITHIUM.mu_per_m, LLZO.mu_per_m, LITHIUM.mu_per_m, STEEL.mu_per_m)


def exact_cell(n_z, n, boundaries, *, radius_frac=0.4, pores=None):
    """Piecewise-constant cell with partial-volume voxels at the interfaces.

    ``boundaries``: four rows (scalars or (n, n) maps) of the top steel|Li, top Li|LLZO,
    bottom LLZO|Li and bottom Li|steel interfaces, in continuous row units (voxel k spans
    [k - 0.5, k + 0.5)).  ``pores``: boolean (n_z, n, n) voxels set to air.
    """
    bounds = [np.broadcast_to(np.asarray(b, dtype=float), (n, n)) for b in boundaries]
    edges = [np.full((n, n), -np.inf), *bounds, np.full((n, n), np.inf)]
    row = np.arange(n_z, dtype=float)[:, None, None]
    volume = np.zeros((n_z, n, n))
    for mu, upper, lower in zip(LAYERS_MU, edges[:-1], edges[1:]):
        volume += mu * np.clip(np.minimum(row + 0.5, lower[None]) - np.maximum(row - 0.5, upper[None]), 0, None)
    if pores is not None:
        volume[pores] = 0.0
    offset = np.arange(n) - (n - 1) / 2
    volume *= (np.hypot(offset[:, None], offset[None, :]) <= radius_frac * n)[None]
    return volume


def imaged_cell(n_z, n, boundaries, *, blur=0.8, fringe=1.0, noise=30.0, seed=0, pores=None):
    """``exact_cell`` blurred, with phase-contrast-like fringes (a Laplacian term odd about
    each edge, ~15 % overshoot at ``fringe=1``) and Gaussian noise (1/m), as float32."""
    exact = exact_cell(n_z, n, boundaries, pores=pores)
    volume = ndimage.gaussian_filter(exact, blur) - fringe * ndimage.gaussian_laplace(exact, 1.0)
    volume += np.random.default_rng(seed).normal(0.0, noise, volume.shape)
    return volume.astype(np.float32)


def random_pores(shape, boundaries, *, count, seed):
    """Boolean pore voxels: ``count`` 7-voxel crosses inside the two Li foils, clear of the faces."""
    rng = np.random.default_rng(seed)
    seeds = np.zeros(shape, dtype=bool)
    seeds[tuple(rng.integers(0, size, count) for size in shape)] = True
    row = np.arange(shape[0])[:, None, None]
    inside = np.zeros(shape, dtype=bool)
    for upper, lower in ((boundaries[0], boundaries[1]), (boundaries[2], boundaries[3])):
        inside |= (row > np.asarray(upper) + 2) & (row < np.asarray(lower) - 2)
    return ndimage.binary_dilation(seeds) & inside


def exact_labels(n_z, n, boundaries, *, radius_frac=0.4, pores=None):
    """Phase labels of ``exact_cell`` by voxel centre; ``pores`` voxels become PORE."""
    row = np.arange(n_z, dtype=float)[:, None, None]
    labels = np.full((n_z, n, n), Phase.STEEL, dtype=np.uint8)
    for phase, upper, lower in ((Phase.LITHIUM, 0, 1), (Phase.LLZO, 1, 2), (Phase.LITHIUM, 2, 3)):
        inside = (row > np.asarray(boundaries[upper])) & (row < np.asarray(boundaries[lower]))
        labels[np.broadcast_to(inside, labels.shape)] = phase
    if pores is not None:
        labels[pores] = Phase.PORE
    offset = np.arange(n) - (n - 1) / 2
    labels[:, np.hypot(offset[:, None], offset[None, :]) > radius_frac * n] = Phase.OUTSIDE
    return labels


@pytest.fixture
def cells():
    """The phantom builders: ``cells.exact``, ``cells.imaged``, ``cells.labels``, ``cells.pores``."""
    return SimpleNamespace(exact=exact_cell, imaged=imaged_cell, labels=exact_labels, pores=random_pores)
