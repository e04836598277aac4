"""Microstructure factors: effective conductivity and Young's modulus of a periodic voxel domain.

FFT-based homogenisation in the Galerkin form of Zeman et al. (J. Comput. Phys. 2010;
Int. J. Numer. Methods Eng. 2017): the unknown is the periodic fluctuation of the field
(gradient ``e`` for conduction, small strain ``eps`` for elasticity) in the space of
compatible fields, found by conjugate gradients on ``G[L : x] = -G[L : E]`` with ``L`` the
local property and ``G`` the orthogonal projection onto compatible fields, applied per
Fourier mode with ``n = xi / |xi|``:

* conduction: ``G e = n (n . e)``;
* elasticity: ``G s = n (x) (s n) + (s n) (x) n - (n . s n) n (x) n`` (symmetric ``s``).

Effective properties follow from volume averages, ``<L : (E + x)> = L_eff : E``, one
macroscopic load per column of ``L_eff`` (3 for conduction, 6 for elasticity in Mandel
notation).  Young's modulus along axis ``i`` is ``1 / S_ii`` with ``S = L_eff^-1``.
Boundary conditions are periodic, the standard for representative volume elements; a
microstructure factor is the effective value over the bulk value of the solid (Dixit et
al. 2020, Fig. 4d).  Pores get ``void_ratio`` times the solid's property (an exact zero
makes the operator singular, and the iterations grow as the contrast does): with 1e-2 and
a relative residual of 1e-3 the factors of a 1.7 % porous domain differ from those at
1e-3 / 1e-5 by ~1e-3, at a tenth of the cost.

Validated (tests) against laminates, whose effective properties are known exactly (the
Wiener bounds for conduction; the laminate formula, Voigt in-plane and Reuss across for
Poisson's ratio 0), and a dilute spherical pore (Maxwell; Mori-Tanaka).
"""

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft

from porewatch.kernels.backend import check_array, to_numpy

#: Mandel index pairs of the six symmetric components: xx, yy, zz, yz, xz, xy (axes 0, 1, 2).
MANDEL_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


@dataclass(frozen=True)
class MicrostructureFactors:
    """Effective over bulk properties of a domain along its three axes (0, 1, 2 = z, y, x).

    Attributes
    ----------
    conductivity : (3,) float64 ndarray
        ``sigma_eff,ii / sigma_bulk``.
    youngs_modulus : (3,) float64 ndarray
        ``E_eff,i / E_bulk``.
    converged : bool
        Whether every conjugate-gradient solve reached its tolerance.
    """

    conductivity: np.ndarray
    youngs_modulus: np.ndarray
    converged: bool


def microstructure_factors(phase, *, poisson_ratio: float = 0.26, void_ratio: float = 1e-2,
                           rtol: float = 1e-3, max_iterations: int = 1000) -> MicrostructureFactors:
    """Conductivity and Young's modulus factors of the solid (True) voxels of ``phase``.

    Parameters
    ----------
    phase : (n_0, n_1, n_2) bool array
        Solid voxels (e.g. ``labels == Phase.LLZO``); the domain is taken as periodic.
    poisson_ratio : float
        Poisson's ratio of the solid (LLZO ~0.26) and of the voids.
    void_ratio : float
        Property of a void over that of the solid.
    rtol, max_iterations
        Conjugate-gradient tolerance (relative residual) and limit, per load.

    Returns
    -------
    MicrostructureFactors
    """
    check_array(phase, name="phase", ndim=3)
    if not 0 < void_ratio < 1:
        raise ValueError(f"void_ratio must lie in (0, 1), got {void_ratio!r}")
    solid = to_numpy(phase).astype(bool)
    local = np.where(solid, 1.0, void_ratio)
    sigma, ok_sigma = effective_conductivity(local, rtol=rtol, max_iterations=max_iterations)
    stiffness, ok_stiffness = effective_stiffness(local, poisson_ratio=poisson_ratio, rtol=rtol,
                                                  max_iterations=max_iterations)
    return MicrostructureFactors(np.diag(sigma).copy(), youngs_moduli(stiffness, poisson_ratio=poisson_ratio),
                                 ok_sigma and ok_stiffness)


def youngs_moduli(stiffness: np.ndarray, *, poisson_ratio: float, young: float = 1.0) -> np.ndarray:
    """Young's moduli along the three axes of a Mandel stiffness ``(6, 6)``, over that of the bulk.

    The bulk is isotropic with Young's modulus ``young`` and ``poisson_ratio``.
    """
    compliance = np.linalg.inv(stiffness)
    return 1.0 / np.diag(compliance)[:3] / young


def effective_conductivity(conductivity, *, rtol: float = 1e-5, max_iterations: int = 1000
                           ) -> tuple[np.ndarray, bool]:
    """Effective conductivity tensor of a periodic domain.

    Parameters
    ----------
    conductivity : (n_0, n_1, n_2) float array
        Local (isotropic) conductivity, > 0.

    Returns
    -------
    (3, 3) float64 ndarray, bool
        ``sigma_eff`` (axes 0, 1, 2) and whether every solve converged.
    """
    local = _positive_field(conductivity, name="conductivity")
    return _unit_load_response(lambda gradient: local * gradient, local.shape, 3, rtol=rtol,
                               max_iterations=max_iterations)


def effective_stiffness(young, *, poisson_ratio: float, rtol: float = 1e-5, max_iterations: int = 1000
                        ) -> tuple[np.ndarray, bool]:
    """Effective stiffness (Mandel, 6 x 6) of a periodic domain of isotropic voxels.

    Parameters
    ----------
    young : (n_0, n_1, n_2) float array
        Local Young's modulus, > 0 (any unit; the result is in the same).
    poisson_ratio : float
        Poisson's ratio, the same everywhere, in (-1, 0.5).

    Returns
    -------
    (6, 6) float64 ndarray, bool
        ``C_eff`` in Mandel notation (shear components times sqrt 2) and convergence.
    """
    local = _positive_field(young, name="young")
    if not -1 < poisson_ratio < 0.5:
        raise ValueError(f"poisson_ratio must lie in (-1, 0.5), got {poisson_ratio!r}")
    lame = local * poisson_ratio / ((1 + poisson_ratio) * (1 - 2 * poisson_ratio))
    shear = local / (2 * (1 + poisson_ratio))

    def stress(strain):  # Mandel: sigma = lambda tr(eps) I + 2 mu eps
        out = 2 * shear * strain
        out[:3] += lame * strain[:3].sum(axis=0)
        return out

    return _unit_load_response(stress, local.shape, 6, rtol=rtol, max_iterations=max_iterations)


def _unit_load_response(constitutive, shape: tuple, n_components: int, *, rtol: float, max_iterations: int
                        ) -> tuple[np.ndarray, bool]:
    """Effective ``(n, n)`` tensor: column ``k`` is the mean flux (or stress) under the unit macroscopic
    gradient (or strain) ``e_k``, each solved on the periodic domain; also whether every solve converged."""
    problem = _Problem(shape, n_components=n_components)
    effective = np.zeros((n_components, n_components))
    converged = True
    for load in range(n_components):
        macro = np.zeros(n_components)
        macro[load] = 1.0
        field, ok = problem.solve(constitutive, macro, rtol=rtol, max_iterations=max_iterations)
        effective[:, load] = constitutive(field).mean(axis=(1, 2, 3))
        converged &= ok
    return effective, converged


def _positive_field(values, *, name: str) -> np.ndarray:
    check_array(values, name=name, ndim=3)
    local = to_numpy(values).astype(np.float64)
    if not (np.all(np.isfinite(local)) and local.min() > 0):
        raise ValueError(f"{name} must be finite and positive everywhere")
    return local


class _Problem:
    """Fourier-space projection onto compatible fields and the conjugate-gradient solve."""

    def __init__(self, shape: tuple[int, int, int], *, n_components: int):
        self.shape = shape
        self.n_components = n_components
        freqs = [scipy.fft.fftfreq(n) for n in shape[:2]] + [scipy.fft.rfftfreq(shape[2])]
        grids = np.meshgrid(*freqs, indexing="ij")  # Nyquist modes kept: laminates need them to be exact
        norm = np.sqrt(sum(g**2 for g in grids))
        norm[norm == 0] = 1.0
        self.direction = np.stack([g / norm for g in grids])  # (3, ...) unit vectors, 0 where xi is 0

    def project(self, field: np.ndarray) -> np.ndarray:
        """``G field`` for a real field ``(n_components, *shape)``."""
        spectrum = scipy.fft.rfftn(field, axes=(1, 2, 3), workers=2)
        n = self.direction
        if self.n_components == 3:
            projected = n * (n * spectrum).sum(axis=0)
        else:
            tensor = _mandel_to_tensor(spectrum)
            traction = np.einsum("ij...,j...->i...", tensor, n)
            normal = (n * traction).sum(axis=0)
            full = n[:, None] * traction[None] + traction[:, None] * n[None] - normal * n[:, None] * n[None]
            projected = _tensor_to_mandel(full)
        return scipy.fft.irfftn(projected, s=self.shape, axes=(1, 2, 3), workers=2)

    def solve(self, flux, macro: np.ndarray, *, rtol: float, max_iterations: int) -> tuple[np.ndarray, bool]:
        """The compatible field ``E + x`` solving ``G[flux(E + x)] = 0``, and convergence."""
        constant = np.broadcast_to(macro[:, None, None, None], (self.n_components, *self.shape))
        b = -self.project(flux(np.array(constant)))
        x = np.zeros_like(b)
        r = b.copy()
        p = r.copy()
        rr = float(np.vdot(r, r))
        target = (rtol * math.sqrt(rr)) ** 2
        converged = rr <= target or rr == 0.0
        for _ in range(max_iterations):
            if converged:
                break
            q = self.project(flux(p))
            alpha = rr / float(np.vdot(p, q))
            x += alpha * p
            r -= alpha * q
            rr, previous = float(np.vdot(r, r)), rr
            converged = rr <= target
            p = r + (rr / previous) * p
        return constant + x, converged


def _mandel_to_tensor(mandel: np.ndarray) -> np.ndarray:
    """(6, ...) Mandel components to (3, 3, ...) tensors."""
    tensor = np.empty((3, 3, *mandel.shape[1:]), dtype=mandel.dtype)
    for index, (i, j) in enumerate(MANDEL_PAIRS):
        value = mandel[index] if i == j else mandel[index] / math.sqrt(2)
        tensor[i, j] = value
        tensor[j, i] = value
    return tensor


def _tensor_to_mandel(tensor: np.ndarray) -> np.ndarray:
    """(3, 3, ...) symmetric tensors to (6, ...) Mandel components."""
    return np.stack([tensor[i, j] if i == j else tensor[i, j] * math.sqrt(2) for i, j in MANDEL_PAIRS])
