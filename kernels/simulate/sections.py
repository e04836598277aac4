"""Cross-sections of the cell in planes of constant z: a base disc plus signed small discs.

In every plane the cell is the cell disc filled with one material (steel, Li or LLZO, or
nothing outside the stack) plus discs where another material replaces it: the thickness
caps of the hot spots (Li in steel or steel in Li) and the slices of the pores.  Optical
constants are stored as differences (to air for the base, to the replaced material for a
disc), so projections are sums of exact chord lengths times these differences.
"""

from dataclasses import dataclass

import numpy as np

from porewatch.kernels.constants import AIR, LITHIUM, LLZO, STEEL, XrayMaterial
from porewatch.kernels.labels import Phase
from porewatch.kernels.simulate.cell import CellState, ElectrodeState
from porewatch.kernels.simulate.pores import Spheres


def optical_contrast(material: XrayMaterial, background: XrayMaterial) -> tuple[float, float]:
    return material.mu_per_m - background.mu_per_m, material.delta - background.delta


@dataclass(frozen=True)
class Sections:
    """Cross-sections of the cell at ``n_planes`` values of z.

    Attributes
    ----------
    cell_radius_m : float
    base : (n_planes, 2) float64
        (mu in 1/m, delta) of the material filling the cell disc, minus those of air.
    base_phase : (n_planes,) uint8
        :class:`~porewatch.kernels.labels.Phase` filling the cell disc.
    plane : (m,) int64
        Plane index of each disc.
    centres_m : (m, 2) float64
        Disc centres (x, y), m.
    radii_m : (m,) float64
        Disc radii, m.
    contrast : (m, 2) float64
        (mu in 1/m, delta) inside the disc minus those of the material around it.
    phase : (m,) uint8
        Phase inside each disc.
    """

    cell_radius_m: float
    base: np.ndarray
    base_phase: np.ndarray
    plane: np.ndarray
    centres_m: np.ndarray
    radii_m: np.ndarray
    contrast: np.ndarray
    phase: np.ndarray


def cross_sections(state: CellState, *, z_m: np.ndarray) -> Sections:
    """Cross-sections of ``state`` at the planes ``z_m`` ((n,) float64, cell frame, m, sorted)."""
    z_m = np.asarray(z_m, dtype=np.float64)
    if z_m.ndim != 1 or np.any(np.diff(z_m) < 0):
        raise ValueError("z_m must be a sorted 1-D array")
    spec = state.spec
    base = np.zeros((z_m.size, 2))
    base_phase = np.full(z_m.size, Phase.OUTSIDE, dtype=np.uint8)
    in_llzo = np.abs(z_m) < spec.llzo_thickness_m / 2
    base[in_llzo], base_phase[in_llzo] = optical_contrast(LLZO, AIR), Phase.LLZO
    parts = []
    collector_m = spec.lithium_thickness_m + spec.steel_thickness_m
    for electrode in state.electrodes:
        depth = electrode.depth_m(z_m)
        in_li = (depth >= 0) & (depth < electrode.base_thickness_m)
        in_steel = (depth >= electrode.base_thickness_m) & (depth < collector_m)
        base[in_li], base_phase[in_li] = optical_contrast(LITHIUM, AIR), Phase.LITHIUM
        base[in_steel], base_phase[in_steel] = optical_contrast(STEEL, AIR), Phase.STEEL
        parts.append(cap_discs(electrode, depth, in_li, in_steel))
        for spheres in (electrode.pores, electrode.voids):
            parts.append(_sphere_discs(spheres, z_m, optical_contrast(AIR, LITHIUM)))
    parts.append(_sphere_discs(state.llzo_pores, z_m, optical_contrast(AIR, LLZO)))
    plane, centres, radii, contrast, phase = (np.concatenate(column) for column in zip(*parts))
    return Sections(spec.cell_radius_m, base, base_phase, plane, centres, radii, contrast, phase)


def cap_discs(electrode: ElectrodeState, depth, in_li, in_steel):
    """Discs where a hot-spot cap moves the Li | steel interface across a plane.

    A cap of height A > 0 puts Li in the steel planes with ``depth - base < A`` inside
    radius ``R sqrt(1 - (depth - base) / A)``; A < 0 puts steel in the Li planes likewise.
    """
    spots = electrode.hot_spots
    amplitude = spots.amplitude_m[None, :]
    excess = (depth - electrode.base_thickness_m)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(amplitude != 0, excess / amplitude, np.inf)
    grows = (amplitude > 0) & in_steel[:, None]
    dips = (amplitude < 0) & in_li[:, None]
    present = (grows | dips) & (fraction < 1.0)
    plane, spot = np.nonzero(present)
    radii = spots.radius_m[spot] * np.sqrt(1.0 - fraction[plane, spot])
    centres = np.stack([spots.x_m[spot], spots.y_m[spot]], axis=1)
    li_in_steel = np.array(optical_contrast(LITHIUM, STEEL))
    grown = grows[plane, spot]
    contrast = np.where(grown[:, None], li_in_steel, -li_in_steel).reshape(-1, 2)
    phase = np.where(grown, Phase.LITHIUM, Phase.STEEL).astype(np.uint8)
    return plane, centres, radii, contrast, phase


def _sphere_discs(spheres: Spheres, z_m: np.ndarray, contrast: tuple[float, float]):
    """Slices of non-overlapping spheres by the planes strictly inside each sphere."""
    low = np.searchsorted(z_m, spheres.centres_m[:, 2] - spheres.radii_m, side="right")
    high = np.searchsorted(z_m, spheres.centres_m[:, 2] + spheres.radii_m, side="left")
    counts = np.clip(high - low, 0, None)
    owner = np.repeat(np.arange(len(spheres)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    plane = np.repeat(low, counts) + np.arange(owner.size) - first
    height = z_m[plane] - spheres.centres_m[owner, 2]
    radii = np.sqrt(np.clip(spheres.radii_m[owner] ** 2 - height**2, 0.0, None))
    contrast = np.broadcast_to(np.asarray(contrast), (owner.size, 2))
    phase = np.full(owner.size, Phase.PORE, dtype=np.uint8)
    return plane, spheres.centres_m[owner, :2], radii, contrast, phase
