"""Tortuosity factor: analytic cases, percolation, and the solver against a direct sparse solve."""

import math

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

from porewatch.kernels.quantify.tortuosity import percolating, tortuosity_factor


def test_dense_box_has_unit_tortuosity():
    result = tortuosity_factor(np.ones((10, 6, 5), bool))
    assert result.tau == pytest.approx(1.0, rel=1e-6) and result.volume_fraction == 1.0 and result.converged


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_straight_channels_have_unit_tortuosity(axis):
    phase = np.zeros((12, 12, 12), bool)
    index = [slice(None)] * 3
    index[(axis + 1) % 3] = slice(2, 5)
    phase[tuple(index)] = True  # a slab along the transport axis
    result = tortuosity_factor(phase, axis=axis)
    assert result.tau == pytest.approx(1.0, rel=1e-6)
    assert result.effective_diffusivity == pytest.approx(result.volume_fraction, rel=1e-6)


def test_wall_across_the_flow_does_not_percolate():
    phase = np.ones((10, 8, 8), bool)
    phase[4] = False
    result = tortuosity_factor(phase)
    assert result.tau == math.inf and result.iterations == 0 and result.percolating_fraction == 0.0
    assert not percolating(phase).any()


def _direct_tau(phase: np.ndarray) -> float:
    """The same finite-volume system assembled as a sparse matrix and solved directly."""
    active = percolating(phase)
    index = -np.ones(phase.shape, int)
    index[active] = np.arange(active.sum())
    rows, cols, values = [], [], []
    rhs = np.zeros(active.sum())
    diagonal = np.zeros(active.sum())
    for axis in range(3):
        a = np.moveaxis(index, axis, 0)
        first, second = a[:-1].ravel(), a[1:].ravel()
        linked = (first >= 0) & (second >= 0)
        for p, q in ((first[linked], second[linked]), (second[linked], first[linked])):
            rows.append(p), cols.append(q), values.append(-np.ones(p.size))
            np.add.at(diagonal, p, 1.0)
    for layer, potential in ((index[0], -0.5), (index[-1], 0.5)):
        cells = layer[layer >= 0]
        np.add.at(diagonal, cells, 2.0)
        np.add.at(rhs, cells, 2.0 * potential)
    matrix = scipy.sparse.coo_matrix((np.concatenate(values + [diagonal]),
                                      (np.concatenate(rows + [np.arange(diagonal.size)]),
                                       np.concatenate(cols + [np.arange(diagonal.size)])))).tocsr()
    u = np.zeros(phase.shape)
    u[active] = scipy.sparse.linalg.spsolve(matrix, rhs)
    links = active[1:] & active[:-1]
    flux = (links * (u[1:] - u[:-1])).sum() / (phase.shape[0] - 1)
    return phase.mean() / (flux * phase.shape[0] / (phase.shape[1] * phase.shape[2]))


@pytest.mark.parametrize("porosity", [0.1, 0.35])
def test_matches_a_direct_solve_of_the_same_system(porosity):
    phase = np.random.default_rng(4).random((14, 10, 9)) > porosity
    result = tortuosity_factor(phase, rtol=1e-9)
    assert result.converged and result.tau > 1.0
    assert result.tau == pytest.approx(_direct_tau(phase), rel=1e-6)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="axis"):
        tortuosity_factor(np.ones((4, 4, 4), bool), axis=3)
    with pytest.raises(ValueError, match="phase"):
        tortuosity_factor(np.ones((1, 4, 4), bool))
    assert math.isnan(tortuosity_factor(np.zeros((4, 4, 4), bool)).tau)
