"""Transport and mechanics of the LLZO pellet's regions: tortuosity factors and microstructure factors.

For each region box (:func:`porewatch.kernels.quantify.llzo.region_boxes`):

* the tortuosity factor of the LLZO along z (the cell's field direction) over the whole box
  (:func:`~porewatch.kernels.quantify.tortuosity.tortuosity_factor`);
* microstructure factors M_x, M_y, M_z of conductivity and Young's modulus
  (:func:`~porewatch.kernels.quantify.homogenisation.microstructure_factors`) on up to
  ``n_domains`` cubes cut from the box (side: the box's height, at most ``domain_max_px``),
  and on as many synthetic isotropic domains of the same size generated from the region's
  measured porosity and pore radius and the given grain size
  (:func:`~porewatch.kernels.quantify.synthetic.synthetic_domain`): the paper's
  tomography-versus-synthetic comparison.  Mean, minimum and maximum over the domains.
"""

import math
from dataclasses import dataclass

import numpy as np

from porewatch.kernels.backend import to_numpy
from porewatch.kernels.labels import Phase
from porewatch.kernels.quantify.homogenisation import microstructure_factors
from porewatch.kernels.quantify.synthetic import synthetic_domain
from porewatch.kernels.quantify.tortuosity import TortuosityResult, tortuosity_factor

#: Axis names of the factors, in the order reported (the volume's axes are z, y, x).
AXES = ("x", "y", "z")


@dataclass(frozen=True)
class FactorStatistics:
    """Mean, min and max over domains of the factors along x, y, z: ``(3,)`` arrays each."""

    mean: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray

    @classmethod
    def of(cls, values: list[np.ndarray]) -> "FactorStatistics":
        """From per-domain factors ordered (z, y, x)."""
        stack = np.asarray(values)[:, ::-1]
        return cls(stack.mean(axis=0), stack.min(axis=0), stack.max(axis=0))

    def to_report(self) -> dict:
        return {name: {axis: float(v) for axis, v in zip(AXES, values)}
                for name, values in (("mean", self.mean), ("min", self.minimum), ("max", self.maximum))}


@dataclass(frozen=True)
class RegionTransport:
    """Tortuosity and microstructure factors of one pellet region.

    Attributes
    ----------
    tortuosity : TortuosityResult
        Of the LLZO along z over the region box.
    conductivity, youngs_modulus : FactorStatistics or None
        Tomography domains (None when the box is too thin for a domain).
    synthetic_conductivity, synthetic_youngs_modulus : FactorStatistics or None
        Synthetic isotropic domains of the same size.
    domain_px : int
        Side of the domains, voxels (0 without domains).
    """

    tortuosity: TortuosityResult
    conductivity: FactorStatistics | None
    youngs_modulus: FactorStatistics | None
    synthetic_conductivity: FactorStatistics | None
    synthetic_youngs_modulus: FactorStatistics | None
    domain_px: int


def region_transport(labels, box: tuple[slice, slice, slice], *, pixel_size_m: float, n_domains: int = 4,
                     domain_max_px: int = 32, pore_radius_m: float = math.nan, grain_size_m: float = 20e-6,
                     poisson_ratio: float = 0.26, seed: int = 0) -> RegionTransport:
    """Tortuosity and microstructure factors of the LLZO in ``labels[box]``.

    Parameters
    ----------
    labels : (n_z, n_y, n_x) uint8 array
    box : (slice, slice, slice)
        The region's sub-volume.
    pixel_size_m : float
    n_domains : int
        Domains for the microstructure factors (0: none).
    domain_max_px : int
        Largest domain side, voxels.
    pore_radius_m, grain_size_m : float
        Of the synthetic domains (the pore radius measured on the pellet; NaN: no synthetic domains).
    poisson_ratio : float
        Of LLZO.
    seed : int
        Seed of the synthetic domains.

    Returns
    -------
    RegionTransport
    """
    solid = to_numpy(labels[box]) == Phase.LLZO
    tortuosity = tortuosity_factor(solid, axis=0)
    side = min(solid.shape[0], domain_max_px, solid.shape[1], solid.shape[2])
    if n_domains <= 0 or side < 4:
        return RegionTransport(tortuosity, None, None, None, None, 0)
    domains = _domains(solid, side=side, count=n_domains)
    measured = [microstructure_factors(domain, poisson_ratio=poisson_ratio) for domain in domains]
    pore_fraction = float(np.mean([1.0 - domain.mean() for domain in domains]))
    radius_px = pore_radius_m / pixel_size_m
    synthetic = []
    if math.isfinite(radius_px) and 0.5 < radius_px <= (side - 3) / 2.5 and 0 < pore_fraction < 0.5:
        grain_px = max(grain_size_m / pixel_size_m, 1.01)
        for index in range(len(domains)):
            domain = synthetic_domain((side,) * 3, porosity=pore_fraction, pore_radius_px=radius_px,
                                      grain_size_px=grain_px, seed=seed * 1000 + index)
            synthetic.append(microstructure_factors(domain, poisson_ratio=poisson_ratio))
    return RegionTransport(
        tortuosity=tortuosity,
        conductivity=FactorStatistics.of([m.conductivity for m in measured]),
        youngs_modulus=FactorStatistics.of([m.youngs_modulus for m in measured]),
        synthetic_conductivity=FactorStatistics.of([m.conductivity for m in synthetic]) if synthetic else None,
        synthetic_youngs_modulus=FactorStatistics.of([m.youngs_modulus for m in synthetic]) if synthetic else None,
        domain_px=side,
    )


def _domains(solid: np.ndarray, *, side: int, count: int) -> list[np.ndarray]:
    """Up to ``count`` cubes of ``side`` voxels spread over the box's lateral extent (top rows)."""
    per_axis = max(1, math.ceil(math.sqrt(count)))
    starts = [np.unique(np.linspace(0, size - side, per_axis).round().astype(int)) for size in solid.shape[1:]]
    corners = [(i, j) for i in starts[0] for j in starts[1]][:count]
    return [solid[:side, i:i + side, j:j + side] for i, j in corners]
