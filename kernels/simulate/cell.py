"""Cell state: Li thickness maps, hot spots, pores, and their galvanostatic evolution.

Frame: x, y from the rotation axis (= cell axis), z from the mid-plane of the LLZO pellet,
increasing towards the bottom electrode.  Each Li foil occupies depths ``d`` in
``[0, t(x, y))`` from its (fixed) Li | LLZO interface; its collector fills the rest of the
collector slab, whose outer face stays fixed.  The thickness map is a plane plus
paraboloid caps at the hot spots:

    t(x, y) = base + sum_k A_k * (1 - r_k^2 / R_k^2)_+ ,

and the local current density is ``j (1 + sum_k g_k cap_k) / N`` with
``N = 1 + sum_k g_k R_k^2 / (2 R_cell^2)``, so its mean over the cell cross-section is the
applied ``j``.  A step changes the top foil by ``+j_local dt V_Li / F`` and the bottom one
by ``-j_local dt V_Li / F``, so both the plane and the cap amplitudes stay analytic.
"""

from dataclasses import dataclass, replace

import numpy as np

from porewatch.kernels.constants import FARADAY_C_PER_MOL, MOLAR_VOLUME_LI_M3_PER_MOL
from porewatch.kernels.simulate.checks import require
from porewatch.kernels.simulate.microstructure import (
    draw_hot_spots,
    draw_lithium_pores,
    draw_llzo_pores,
    draw_voids,
)
from porewatch.kernels.simulate.pores import Spheres
from porewatch.kernels.simulate.spec import ELECTRODES, CellSpec, GalvanostaticStep

_LI_M_PER_C_M2 = MOLAR_VOLUME_LI_M3_PER_MOL / FARADAY_C_PER_MOL


@dataclass(frozen=True)
class HotSpots:
    """Hot spots of one electrode: fixed footprints and accumulated cap amplitudes.

    Attributes
    ----------
    ids : (n,) int64
        Identifiers, unique over both electrodes.
    x_m, y_m, radius_m : (n,) float64
        Footprint centres and radii, m.
    gain : (n,) float64
        Current-density gain g at the footprint centre (before normalisation).
    amplitude_m : (n,) float64
        Net signed height of the thickness cap accumulated over the steps, m.
    """

    ids: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    radius_m: np.ndarray
    gain: np.ndarray
    amplitude_m: np.ndarray

    def footprints(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Cap profiles ``(1 - r^2/R^2)_+``, shape ``(n, *x.shape)``, at points (x, y) in m."""
        dx = np.asarray(x)[None] - self.x_m.reshape((-1,) + (1,) * np.ndim(x))
        dy = np.asarray(y)[None] - self.y_m.reshape((-1,) + (1,) * np.ndim(y))
        radius = self.radius_m.reshape((-1,) + (1,) * np.ndim(x))
        return np.clip(1.0 - (dx**2 + dy**2) / radius**2, 0.0, None)


@dataclass(frozen=True)
class ElectrodeState:
    """One Li foil after some steps.

    Attributes
    ----------
    name : {"top", "bottom"}
    face_z_m : float
        z of its (fixed) Li | LLZO interface, m.
    outward : int
        -1 (top) or +1 (bottom): the z direction from that interface into the foil.
    base_thickness_m : float
        Thickness away from the hot spots, m.
    hot_spots : HotSpots
    pores : Spheres
        Pores of the pristine foil that are still inside the Li.
    voids : Spheres
        Voids nucleated by stripping.
    """

    name: str
    face_z_m: float
    outward: int
    base_thickness_m: float
    hot_spots: HotSpots
    pores: Spheres
    voids: Spheres

    @property
    def plating_sign(self) -> int:
        """+1 if a positive applied current plates this foil, -1 if it strips it."""
        return 1 if self.name == "top" else -1

    def thickness_m(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Li thickness (m) at points (x, y) in m inside the cell; same shape as ``x``."""
        caps = self.hot_spots.footprints(x, y)
        return self.base_thickness_m + np.tensordot(self.hot_spots.amplitude_m, caps, axes=1)

    def depth_m(self, z: np.ndarray) -> np.ndarray:
        """Depth (m) below the Li | LLZO interface, into this foil, of planes at z (m)."""
        return self.outward * (np.asarray(z) - self.face_z_m)

    def current_normaliser(self, cell_radius_m: float) -> float:
        """N = 1 + sum_k g_k R_k^2 / (2 R_cell^2): area mean of the unnormalised profile."""
        spots = self.hot_spots
        return 1.0 + float(np.sum(spots.gain * spots.radius_m**2)) / (2 * cell_radius_m**2)

    def current_density_A_m2(
        self, x: np.ndarray, y: np.ndarray, *, applied_A_m2: float, cell_radius_m: float
    ) -> np.ndarray:
        """Local current density (A/m^2, sign of the applied one) at points (x, y) in m."""
        caps = self.hot_spots.footprints(x, y)
        profile = 1.0 + np.tensordot(self.hot_spots.gain, caps, axes=1)
        return applied_A_m2 * profile / self.current_normaliser(cell_radius_m)


@dataclass(frozen=True)
class CellState:
    """The cell at the end of one galvanostatic step (cumulative over the previous ones).

    Attributes
    ----------
    spec : CellSpec
    step : GalvanostaticStep
        The step that produced this state.
    index : int
        Position of ``step`` in the protocol.
    top, bottom : ElectrodeState
    llzo_pores : Spheres
    """

    spec: CellSpec
    step: GalvanostaticStep
    index: int
    top: ElectrodeState
    bottom: ElectrodeState
    llzo_pores: Spheres

    @property
    def electrodes(self) -> tuple[ElectrodeState, ElectrodeState]:
        return (self.top, self.bottom)


def pristine_cell(spec: CellSpec) -> CellState:
    """The cell before any current: seeded hot-spot sites, LLZO and Li pores, no voids."""
    if not isinstance(spec, CellSpec):
        raise TypeError(f"spec must be a CellSpec, got {type(spec).__name__}")
    half = spec.llzo_thickness_m / 2
    spots = draw_hot_spots(spec, rng=np.random.default_rng([spec.seed, 0]))
    electrodes = []
    for index, (name, outward) in enumerate(zip(ELECTRODES, (-1, 1))):
        x, y, radius, gain = spots[name]
        ids = np.arange(len(x)) + sum(len(spots[other][0]) for other in ELECTRODES[:index])
        hot = HotSpots(ids, x, y, radius, gain, np.zeros_like(x))
        pores = draw_lithium_pores(spec, face_z_m=outward * half, outward=outward,
                                   rng=np.random.default_rng([spec.seed, 1, index]))
        electrodes.append(ElectrodeState(name, outward * half, outward, spec.lithium_thickness_m,
                                         hot, pores, Spheres.empty()))
    columns = [(e.hot_spots, e.face_z_m, e.outward) for e in electrodes]
    llzo = draw_llzo_pores(spec, columns=columns, rng=np.random.default_rng([spec.seed, 2]))
    return CellState(spec, GalvanostaticStep("pristine", 0.0, 0.0), 0, *electrodes, llzo)


def evolve(spec: CellSpec, steps: list[GalvanostaticStep]) -> list[CellState]:
    """Apply ``steps`` in order to the pristine cell; one cumulative state per step.

    Raises ``ValueError`` (naming ``steps``) if a foil would be stripped too thin for its
    voids or would grow through its collector.
    """
    require(len(steps) > 0, "steps", "must hold at least one GalvanostaticStep")
    state = pristine_cell(spec)
    states = []
    for index, step in enumerate(steps):
        if not isinstance(step, GalvanostaticStep):
            raise TypeError(f"steps[{index}] must be a GalvanostaticStep, "
                            f"got {type(step).__name__}")
        rng = np.random.default_rng([spec.seed, 3, index])
        top, bottom = (_apply_step(e, step, spec, rng) for e in state.electrodes)
        state = replace(state, step=step, index=index, top=top, bottom=bottom)
        states.append(state)
    return states


def _apply_step(
    electrode: ElectrodeState, step: GalvanostaticStep, spec: CellSpec, rng: np.random.Generator
) -> ElectrodeState:
    """Grow or shrink one foil by ``plating_sign * j_local * dt * V_Li / F``; add voids."""
    charge = electrode.plating_sign * step.charge_density_C_m2
    scale = charge / electrode.current_normaliser(spec.cell_radius_m) * _LI_M_PER_C_M2
    spots = electrode.hot_spots
    spots = replace(spots, amplitude_m=spots.amplitude_m + scale * spots.gain)
    grown = replace(electrode, base_thickness_m=electrode.base_thickness_m + scale, hot_spots=spots)
    _check_thickness(grown, spec)
    if charge < 0:
        count = int(round(spec.voids_per_coulomb * -charge * spec.cell_area_m2))
        new_voids = draw_voids(spec, grown, count=count, rng=rng)
        grown = replace(grown, voids=grown.voids.concat(new_voids))
    return replace(grown, pores=_inside_lithium(grown, grown.pores),
                   voids=_inside_lithium(grown, grown.voids))


def _check_thickness(electrode: ElectrodeState, spec: CellSpec) -> None:
    amplitudes = electrode.hot_spots.amplitude_m
    thinnest = electrode.base_thickness_m + min(0.0, float(amplitudes.min(initial=0.0)))
    thickest = electrode.base_thickness_m + max(0.0, float(amplitudes.max(initial=0.0)))
    floor = spec.void_depth_spread_m + 2 * spec.void_radius_range_m[1] + 10e-6
    require(thinnest > floor, "steps", f"strip the {electrode.name} Li below {floor:.3g} m")
    ceiling = spec.lithium_thickness_m + spec.steel_thickness_m
    require(thickest < ceiling, "steps", f"grow the {electrode.name} Li through its collector")


def _inside_lithium(electrode: ElectrodeState, spheres: Spheres) -> Spheres:
    """Spheres lying wholly inside the foil's Li (the others were consumed by stripping)."""
    if len(spheres) == 0:
        return spheres
    x, y, z = spheres.centres_m.T
    spots = electrode.hot_spots
    distance = np.hypot(x[None] - spots.x_m[:, None], y[None] - spots.y_m[:, None])
    nearest = np.clip(distance - spheres.radii_m[None], 0.0, None)
    caps = np.clip(1.0 - nearest**2 / spots.radius_m[:, None] ** 2, 0.0, None)
    dips = np.minimum(spots.amplitude_m[:, None] * caps, 0.0).min(axis=0, initial=0.0)
    thinnest = electrode.base_thickness_m + dips
    return spheres.select(electrode.depth_m(z) + spheres.radii_m < thinnest)
