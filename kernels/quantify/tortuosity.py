"""Tortuosity factor of a conducting phase along one axis: percolation check, then a steady diffusion solve.

The discretisation is TauFactor's (Cooper et al., SoftwareX 2016), so the two agree to solver
tolerance: cell-centred finite volumes on the voxels of the conducting phase, unit
conductance between face-adjacent conducting voxels, potentials ``-1/2`` and ``+1/2`` imposed
on the two faces normal to ``axis`` (half a voxel beyond the first and last layers, i.e.
conductance 2), no flux through the other faces or into the other phase.  With ``Q`` the
mean flux through the layers of an ``L x A`` box, ``D_rel = Q L / A`` and the tortuosity
factor is ``tau = epsilon / D_rel`` (``epsilon``: volume fraction of the conducting phase;
``D_eff / D_bulk = epsilon / tau``).

Percolation first (``scipy.ndimage.label``, face connectivity): only voxels connected to
both faces carry flux; with none, ``tau`` is ``inf`` at once (an iterative solver would
run to its limit and return nonsense).

The linear system on the percolating voxels is solved by conjugate gradients
preconditioned with the exact inverse of the same operator on the full box (no pores),
applied with fast sine/cosine transforms (DST-II along ``axis``, DCT-II across it).  For
a phase filling most of the box, as LLZO does, the preconditioned system is well
conditioned and a few tens of iterations reach ``rtol``.
"""

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy import ndimage

from porewatch.kernels.backend import check_array, to_numpy


@dataclass(frozen=True)
class TortuosityResult:
    """Tortuosity factor of one phase along one axis.

    Attributes
    ----------
    tau : float
        Tortuosity factor; ``inf`` when the phase does not percolate; NaN for an empty phase.
    volume_fraction : float
        Fraction of the box occupied by the phase.
    effective_diffusivity : float
        ``D_eff / D_bulk = volume_fraction / tau`` (0 without percolation).
    percolating_fraction : float
        Fraction of the phase connected to both faces.
    iterations : int
        Conjugate-gradient iterations (0 when no solve was needed).
    converged : bool
        Whether the relative residual reached ``rtol``.
    """

    tau: float
    volume_fraction: float
    effective_diffusivity: float
    percolating_fraction: float
    iterations: int
    converged: bool


def percolating(phase: np.ndarray, *, axis: int = 0) -> np.ndarray:
    """Voxels of ``phase`` face-connected to both faces normal to ``axis``, bool of its shape."""
    labelled, _ = ndimage.label(phase)
    moved = np.moveaxis(labelled, axis, 0)
    both = np.intersect1d(np.unique(moved[0]), np.unique(moved[-1]))
    both = both[both > 0]
    return np.isin(labelled, both)


def tortuosity_factor(phase, *, axis: int = 0, rtol: float = 1e-6, max_iterations: int = 2000) -> TortuosityResult:
    """Tortuosity factor of the True voxels of ``phase`` for transport along ``axis``.

    Parameters
    ----------
    phase : (n_0, n_1, n_2) bool array
        The conducting phase (e.g. ``labels == Phase.LLZO``); NumPy or CuPy (solved on the host).
    axis : int
        Transport direction (0 = z for porewatch volumes).
    rtol : float
        Relative residual at which conjugate gradients stop.
    max_iterations : int

    Returns
    -------
    TortuosityResult
    """
    check_array(phase, name="phase", ndim=3)
    if axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
    if not (math.isfinite(rtol) and 0 < rtol < 1):
        raise ValueError(f"rtol must lie in (0, 1), got {rtol!r}")
    solid = np.moveaxis(to_numpy(phase).astype(bool), axis, 0)
    if solid.shape[0] < 2:
        raise ValueError(f"phase: need at least 2 voxels along axis {axis}, got shape {phase.shape}")
    fraction = float(solid.mean())
    if fraction == 0:
        return TortuosityResult(math.nan, 0.0, 0.0, 0.0, 0, True)
    active = percolating(solid)
    share = float(active.sum()) / float(solid.sum())
    if share == 0:
        return TortuosityResult(math.inf, fraction, 0.0, 0.0, 0, True)
    operator = _Operator(active)
    potential, iterations, converged = _conjugate_gradients(operator, rtol=rtol, max_iterations=max_iterations)
    relative = operator.mean_flux(potential) * solid.shape[0] / (solid.shape[1] * solid.shape[2])
    return TortuosityResult(fraction / relative, fraction, relative, share, iterations, converged)


class _Operator:
    """The finite-volume operator on the active voxels, its right-hand side and preconditioner."""

    def __init__(self, active: np.ndarray):
        self.active = active
        self.weight = active.astype(np.float64)
        self.links = [self._link(axis) for axis in range(3)]
        n = active.shape
        diagonal = sum(self._neighbour_count(axis) for axis in range(3))
        diagonal[0] += 2.0 * self.weight[0]
        diagonal[-1] += 2.0 * self.weight[-1]
        self.diagonal = diagonal
        self.rhs = np.zeros(n)
        self.rhs[0] = -1.0 * self.weight[0]  # 2 * (-1/2): inlet face
        self.rhs[-1] = 1.0 * self.weight[-1]
        eig = [2.0 - 2.0 * np.cos(np.pi * np.arange(1, n[0] + 1) / n[0])]
        eig += [2.0 - 2.0 * np.cos(np.pi * np.arange(size) / size) for size in n[1:]]
        self.eigenvalues = eig[0][:, None, None] + eig[1][None, :, None] + eig[2][None, None, :]

    def _link(self, axis: int) -> np.ndarray:
        """Conductance (0/1) between voxel ``i`` and ``i + 1`` along ``axis``."""
        lead = [slice(None)] * 3
        lead[axis] = slice(1, None)
        trail = [slice(None)] * 3
        trail[axis] = slice(None, -1)
        return self.weight[tuple(lead)] * self.weight[tuple(trail)]

    def _neighbour_count(self, axis: int) -> np.ndarray:
        count = np.zeros(self.active.shape)
        lead = [slice(None)] * 3
        lead[axis] = slice(1, None)
        trail = [slice(None)] * 3
        trail[axis] = slice(None, -1)
        count[tuple(trail)] += self.links[axis]
        count[tuple(lead)] += self.links[axis]
        return count

    def apply(self, u: np.ndarray) -> np.ndarray:
        """``A u``: the net outflow of each active voxel."""
        out = self.diagonal * u
        for axis, link in enumerate(self.links):
            lead = [slice(None)] * 3
            lead[axis] = slice(1, None)
            trail = [slice(None)] * 3
            trail[axis] = slice(None, -1)
            out[tuple(trail)] -= link * u[tuple(lead)]
            out[tuple(lead)] -= link * u[tuple(trail)]
        return out

    def precondition(self, r: np.ndarray) -> np.ndarray:
        """The full box's inverse operator (DST-II along axis 0, DCT-II across), kept on the active voxels."""
        spectrum = scipy.fft.dst(scipy.fft.dctn(r, type=2, axes=(1, 2), norm="ortho", workers=2),
                                 type=2, axis=0, norm="ortho", workers=2)
        spectrum /= self.eigenvalues
        z = scipy.fft.idctn(scipy.fft.idst(spectrum, type=2, axis=0, norm="ortho", workers=2),
                            type=2, axes=(1, 2), norm="ortho", workers=2)
        return z * self.weight

    def mean_flux(self, u: np.ndarray) -> float:
        """Mean over the ``n_0 - 1`` inner layers of the total flux along axis 0."""
        return float((self.links[0] * (u[1:] - u[:-1])).sum() / (u.shape[0] - 1))


def _conjugate_gradients(operator: _Operator, *, rtol: float, max_iterations: int) -> tuple[np.ndarray, int, bool]:
    """Solve ``A u = b`` on the active voxels; returns ``(u, iterations, converged)``."""
    b = operator.rhs
    u = np.zeros_like(b)
    r = b.copy()
    z = operator.precondition(r)
    p = z.copy()
    rz = float(np.vdot(r, z))
    target = rtol * float(np.linalg.norm(b))
    for iteration in range(1, max_iterations + 1):
        q = operator.apply(p)
        alpha = rz / float(np.vdot(p, q))
        u += alpha * p
        r -= alpha * q
        if float(np.linalg.norm(r)) <= target:
            return u, iteration, True
        z = operator.precondition(r)
        rz, previous = float(np.vdot(r, z)), rz
        p = z + (rz / previous) * p
    return u, max_iterations, False
