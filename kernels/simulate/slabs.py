"""The cell averaged over slabs of z: what a detector row (or sub-row) integrates along z.

A detector row images a slab of the cell ``p`` high, not a plane.  Sampling it with a few
planes snaps every interface to the nearest plane, so an interface that moves by a fraction
of a voxel moves the projections by whole sub-rows.  Here each slab's contents are averaged
exactly or nearly so:

* the planar layers (steel, Li, LLZO, air) by their exact overlap with the slab;
* the thickness caps of the hot spots by ``cap_samples`` planes per slab, each weighted
  ``1 / cap_samples`` (their edges are curved, but few discs are involved);
* the spherical pores analytically: the slab average of a sphere's chord at distance ``d``
  from its axis is ``(F(u1) - F(u0)) / h`` with ``a^2 = R^2 - d^2``,
  ``F(u) = u sqrt(a^2 - u^2) + a^2 asin(u / a)`` and ``[u0, u1]`` the slab's part of the
  sphere relative to its centre, clipped to ``[-a, a]``.

Optical constants are differences, as in :mod:`porewatch.kernels.simulate.sections`.
"""

from dataclasses import dataclass

import numpy as np

from porewatch.kernels.constants import AIR, LITHIUM, LLZO, STEEL
from porewatch.kernels.labels import Phase
from porewatch.kernels.simulate.cell import CellState
from porewatch.kernels.simulate.pores import Spheres
from porewatch.kernels.simulate.sections import Sections, cap_discs, optical_contrast


@dataclass(frozen=True)
class SphereSlabs:
    """The parts of spheres inside slabs of z.

    Attributes
    ----------
    plane : (m,) int64
        Slab index of each part.
    centres_m : (m, 2) float64
        Sphere centres (x, y), m.
    radii_m : (m,) float64
        Sphere radii, m.
    bounds_m : (m, 2) float64
        ``(u0, u1)``: the slab's z-range relative to the sphere centre, clipped to the sphere, m.
    reach_m : (m,) float64
        Largest cross-section radius of the sphere within the slab, m.
    contrast : (m, 2) float64
        (mu in 1/m, delta) inside the sphere minus those around it, over the slab height (1/m).
    """

    plane: np.ndarray
    centres_m: np.ndarray
    radii_m: np.ndarray
    bounds_m: np.ndarray
    reach_m: np.ndarray
    contrast: np.ndarray

    def mean_chords(self, members: np.ndarray, offset_m: np.ndarray) -> np.ndarray:
        """Slab-integrated chords (m^2) of parts ``members`` at distances ``offset_m`` from their axes.

        ``offset_m`` has shape ``(len(members), ...)``; the result has its shape.
        """
        shape = (-1,) + (1,) * (offset_m.ndim - 1)
        radius = self.radii_m[members].reshape(shape)
        squared = np.clip(radius**2 - offset_m**2, 0.0, None)
        half = np.sqrt(squared)
        low = np.clip(self.bounds_m[members, 0].reshape(shape), -half, half)
        high = np.clip(self.bounds_m[members, 1].reshape(shape), -half, half)
        with np.errstate(divide="ignore", invalid="ignore"):
            def primitive(u):
                ratio = np.where(half > 0, u / half, 0.0)
                return u * np.sqrt(np.clip(squared - u**2, 0.0, None)) + squared * np.arcsin(np.clip(ratio, -1, 1))
            return primitive(high) - primitive(low)


def slab_sections(state: CellState, *, z_edges_m: np.ndarray, cap_samples: int = 8
                  ) -> tuple[Sections, SphereSlabs]:
    """The cell averaged over the slabs between consecutive ``z_edges_m``.

    Parameters
    ----------
    state : CellState
    z_edges_m : (n_slabs + 1,) float64
        Increasing slab boundaries, m (cell frame).
    cap_samples : int
        Planes per slab sampling the hot-spot caps.

    Returns
    -------
    sections : Sections
        ``base`` the exact slab mean of the layers; discs the cap samples with their
        contrast divided by ``cap_samples``; ``base_phase`` the layer filling most of the slab.
    spheres : SphereSlabs
        Every pore's part in every slab it reaches.
    """
    z_edges_m = np.asarray(z_edges_m, dtype=np.float64)
    if z_edges_m.ndim != 1 or z_edges_m.size < 2 or np.any(np.diff(z_edges_m) <= 0):
        raise ValueError("z_edges_m must be an increasing 1-D array of at least 2 edges")
    if not (isinstance(cap_samples, int) and cap_samples >= 1):
        raise ValueError(f"cap_samples must be an int >= 1, got {cap_samples!r}")
    base, base_phase = _layer_means(state, z_edges_m)
    caps = _cap_samples(state, z_edges_m, cap_samples)
    sections = Sections(state.spec.cell_radius_m, base, base_phase, *caps)
    parts = [_sphere_slabs(spheres, z_edges_m, optical_contrast(AIR, LITHIUM))
             for electrode in state.electrodes for spheres in (electrode.pores, electrode.voids)]
    parts.append(_sphere_slabs(state.llzo_pores, z_edges_m, optical_contrast(AIR, LLZO)))
    return sections, SphereSlabs(*(np.concatenate(column) for column in zip(*parts)))


def _layers(state: CellState) -> list[tuple[float, float, tuple[float, float], int]]:
    """``(z_low, z_high, contrast to air, phase)`` of the planar layers of the stack."""
    spec = state.spec
    half = spec.llzo_thickness_m / 2
    layers = [(-half, half, optical_contrast(LLZO, AIR), Phase.LLZO)]
    collector = spec.lithium_thickness_m + spec.steel_thickness_m
    for electrode in state.electrodes:
        face, outward, lithium = electrode.face_z_m, electrode.outward, electrode.base_thickness_m
        for start, stop, material, phase in ((0.0, lithium, LITHIUM, Phase.LITHIUM),
                                             (lithium, collector, STEEL, Phase.STEEL)):
            low, high = sorted((face + outward * start, face + outward * stop))
            layers.append((low, high, optical_contrast(material, AIR), phase))
    return layers


def _layer_means(state: CellState, z_edges_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact slab means of the layers' (mu, delta) and the phase filling most of each slab."""
    height = np.diff(z_edges_m)
    layers = _layers(state)
    overlap = np.stack([np.clip(np.minimum(z_edges_m[1:], high) - np.maximum(z_edges_m[:-1], low), 0.0, None)
                        for low, high, _, _ in layers]) / height
    contrast = np.array([layer[2] for layer in layers])
    phases = np.array([Phase.OUTSIDE] + [layer[3] for layer in layers], dtype=np.uint8)
    filled = np.vstack([1.0 - overlap.sum(axis=0, keepdims=True), overlap])
    return overlap.T @ contrast, phases[np.argmax(filled, axis=0)]


def _cap_samples(state: CellState, z_edges_m: np.ndarray, samples: int):
    """Cap discs on ``samples`` planes per slab, plane index = slab, contrast over ``samples``."""
    fractions = (np.arange(samples) + 0.5) / samples
    z = (z_edges_m[:-1, None] + np.diff(z_edges_m)[:, None] * fractions).ravel()
    collector = state.spec.lithium_thickness_m + state.spec.steel_thickness_m
    parts = []
    for electrode in state.electrodes:
        depth = electrode.depth_m(z)
        in_li = (depth >= 0) & (depth < electrode.base_thickness_m)
        in_steel = (depth >= electrode.base_thickness_m) & (depth < collector)
        plane, centres, radii, contrast, phase = cap_discs(electrode, depth, in_li, in_steel)
        parts.append((plane // samples, centres, radii, contrast / samples, phase))
    return tuple(np.concatenate(column) for column in zip(*parts))


def _sphere_slabs(spheres: Spheres, z_edges_m: np.ndarray, contrast: tuple[float, float]):
    """Parts of non-overlapping spheres in the slabs they reach."""
    centre_z, radius = spheres.centres_m[:, 2], spheres.radii_m
    first = np.clip(np.searchsorted(z_edges_m, centre_z - radius, side="right") - 1, 0, None)
    last = np.clip(np.searchsorted(z_edges_m, centre_z + radius, side="left") - 1, None, z_edges_m.size - 2)
    counts = np.clip(last - first + 1, 0, None)
    owner = np.repeat(np.arange(len(spheres)), counts)
    plane = np.repeat(first, counts) + np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    r = radius[owner]
    low = np.clip(z_edges_m[plane] - centre_z[owner], -r, r)
    high = np.clip(z_edges_m[plane + 1] - centre_z[owner], -r, r)
    nearest = np.where((low <= 0) & (high >= 0), 0.0, np.minimum(np.abs(low), np.abs(high)))
    reach = np.sqrt(np.clip(r**2 - nearest**2, 0.0, None))
    height = z_edges_m[plane + 1] - z_edges_m[plane]
    weights = np.asarray(contrast)[None, :] / height[:, None]
    return plane, spheres.centres_m[owner, :2], r, np.stack([low, high], axis=1), reach, weights
