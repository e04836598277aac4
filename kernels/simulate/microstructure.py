"""Seeded microstructure of the cell: hot-spot sites, LLZO and Li pores, stripping voids."""

import numpy as np

from porewatch.kernels.simulate.pores import Spheres, place_spheres, uniform_in_cylinder
from porewatch.kernels.simulate.spec import ELECTRODES, CellSpec

_MAX_SITE_TRIES = 10_000


def _edge_margin_m(spec: CellSpec) -> float:
    """Clearance kept between a hot-spot footprint and the cell wall, m."""
    return max(spec.void_radius_range_m[1], spec.llzo_pore_radius_range_m[1]) * 2


def draw_hot_spots(
    spec: CellSpec, *, rng: np.random.Generator
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Hot-spot footprints per electrode: ``{name: (x_m, y_m, radius_m, gain)}``.

    Footprints of one electrode never overlap and stay inside the cell with a margin.
    """
    margin = _edge_margin_m(spec)
    sites = {}
    for name, count in zip(ELECTRODES, spec.hot_spots_per_electrode):
        radii = rng.uniform(*spec.hot_spot_radius_range_m, count)
        gains = rng.uniform(*spec.hot_spot_gain_range, count)
        centres: list[tuple[float, float]] = []
        for radius in radii:
            for _ in range(_MAX_SITE_TRIES):
                reach = spec.cell_radius_m - radius - margin
                rho, phi = reach * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)
                x, y = rho * np.cos(phi), rho * np.sin(phi)
                if all(np.hypot(x - cx, y - cy) > radius + radii[i] + margin
                       for i, (cx, cy) in enumerate(centres)):
                    centres.append((x, y))
                    break
            else:
                raise ValueError("hot_spots_per_electrode: the hot spots do not fit in the cell")
        xy = np.array(centres, dtype=float).reshape(count, 2)
        sites[name] = (xy[:, 0].copy(), xy[:, 1].copy(), radii, gains)
    return sites


def draw_llzo_pores(spec: CellSpec, *, columns: list, rng: np.random.Generator) -> Spheres:
    """Pores of the pellet: a uniform background plus denser columns under the hot spots.

    ``columns`` lists ``(hot_spots, face_z_m, outward)`` per electrode; each hot spot gets a
    cylinder of its footprint radius reaching ``anomaly_depth_m`` into the pellet with
    ``anomaly_porosity_factor`` times the background porosity.  The pellet-wide porosity is
    ``llzo_porosity``.  Every pore lies wholly inside the pellet.
    """
    half = spec.llzo_thickness_m / 2
    pellet_volume = spec.cell_area_m2 * spec.llzo_thickness_m
    boxes = []
    for spots, face_z, outward in columns:
        z_range = sorted((face_z, face_z - outward * spec.anomaly_depth_m))
        boxes += [((x, y), r, tuple(z_range))
                  for x, y, r in zip(spots.x_m, spots.y_m, spots.radius_m)]
    column_volumes = [np.pi * r**2 * spec.anomaly_depth_m for _, r, _ in boxes]
    excess = spec.anomaly_porosity_factor - 1.0
    background = spec.llzo_porosity * pellet_volume / (pellet_volume + excess * sum(column_volumes))
    pores = Spheres.empty()
    for (centre, radius, z_range), volume in zip(boxes, column_volumes):
        pores = pores.concat(place_spheres(
            rng, sampler=_cylinder(centre, radius, z_range),
            target_volume_m3=excess * background * volume,
            radius_range_m=spec.llzo_pore_radius_range_m, obstacles=pores))
    whole = _cylinder((0.0, 0.0), spec.cell_radius_m, (-half, half))
    return pores.concat(place_spheres(
        rng, sampler=whole, target_volume_m3=background * pellet_volume,
        radius_range_m=spec.llzo_pore_radius_range_m, obstacles=pores))


def draw_lithium_pores(
    spec: CellSpec, *, face_z_m: float, outward: int, rng: np.random.Generator
) -> Spheres:
    """Sparse pores of one pristine Li foil (``lithium_porosity`` of its volume)."""
    z_range = tuple(sorted((face_z_m, face_z_m + outward * spec.lithium_thickness_m)))
    volume = spec.cell_area_m2 * spec.lithium_thickness_m
    return place_spheres(
        rng, sampler=_cylinder((0.0, 0.0), spec.cell_radius_m, z_range),
        target_volume_m3=spec.lithium_porosity * volume,
        radius_range_m=spec.lithium_pore_radius_range_m, obstacles=Spheres.empty())


def draw_voids(spec: CellSpec, electrode, *, count: int, rng: np.random.Generator) -> Spheres:
    """``count`` new voids just below the Li | LLZO interface of a stripping foil.

    A fraction ``void_hot_spot_fraction`` lands inside the hot-spot footprints (a spot is
    chosen with its share of the excess current, g R^2; the radius with the cap profile);
    the rest is uniform over the cell.  Centres lie ``r`` to ``r + void_depth_spread_m``
    deep; voids overlap neither each other nor the foil's pores and older voids.
    """
    spots = electrode.hot_spots
    weights = spots.gain * spots.radius_m**2
    hot_fraction = spec.void_hot_spot_fraction if weights.size else 0.0

    def sampler(rng: np.random.Generator, radii: np.ndarray) -> np.ndarray:
        n = radii.shape[0]
        reach = spec.cell_radius_m - radii
        rho, phi = reach * np.sqrt(rng.random(n)), rng.uniform(0, 2 * np.pi, n)
        x, y = rho * np.cos(phi), rho * np.sin(phi)
        hot = rng.random(n) < hot_fraction
        if hot.any():
            pick = rng.choice(weights.size, size=int(hot.sum()), p=weights / weights.sum())
            offset = spots.radius_m[pick] * np.sqrt(1.0 - np.sqrt(rng.random(pick.size)))
            x[hot] = spots.x_m[pick] + offset * np.cos(phi[hot])
            y[hot] = spots.y_m[pick] + offset * np.sin(phi[hot])
        depth = radii + rng.uniform(0.0, spec.void_depth_spread_m, n)
        return np.stack([x, y, electrode.face_z_m + electrode.outward * depth], axis=1)

    obstacles = electrode.pores.concat(electrode.voids)
    return place_spheres(rng, sampler=sampler, count=count,
                         radius_range_m=spec.void_radius_range_m, obstacles=obstacles)


def _cylinder(centre_xy, radius_m, z_range_m):
    def sampler(rng: np.random.Generator, radii: np.ndarray) -> np.ndarray:
        return uniform_in_cylinder(rng, radii, centre_xy=centre_xy, radius_m=radius_m,
                                   z_range_m=z_range_m)
    return sampler
