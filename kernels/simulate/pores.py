"""Spherical pores: a plain container and seeded non-overlapping placement."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

#: ``sampler(rng, radii) -> centres``: draws one centre (x, y, z), m, per radius.
CentreSampler = Callable[[np.random.Generator, np.ndarray], np.ndarray]

_MAX_ROUNDS = 60


@dataclass(frozen=True)
class Spheres:
    """A set of spheres in the cell frame.

    Attributes
    ----------
    centres_m : (n, 3) float64
        Centres (x, y, z), m; x, y from the rotation axis, z from the pellet mid-plane.
    radii_m : (n,) float64
        Radii, m.
    """

    centres_m: np.ndarray
    radii_m: np.ndarray

    @classmethod
    def empty(cls) -> "Spheres":
        return cls(np.zeros((0, 3)), np.zeros(0))

    def __len__(self) -> int:
        return int(self.radii_m.shape[0])

    @property
    def volume_m3(self) -> float:
        """Total volume, m^3 (the spheres never overlap)."""
        return float(np.sum(4.0 / 3.0 * np.pi * self.radii_m**3))

    def concat(self, other: "Spheres") -> "Spheres":
        return Spheres(np.concatenate([self.centres_m, other.centres_m]),
                       np.concatenate([self.radii_m, other.radii_m]))

    def select(self, mask: np.ndarray) -> "Spheres":
        return Spheres(self.centres_m[mask], self.radii_m[mask])


def uniform_in_cylinder(
    rng: np.random.Generator,
    radii: np.ndarray,
    *,
    centre_xy: tuple[float, float],
    radius_m: float,
    z_range_m: tuple[float, float],
) -> np.ndarray:
    """Centres, uniform in volume, of spheres lying wholly inside a z-aligned cylinder.

    Returns (n, 3) float64, m.  Spheres too large for the cylinder get its axis or mid-plane.
    """
    reach = np.clip(radius_m - radii, 0.0, None)
    rho = reach * np.sqrt(rng.random(radii.shape))
    phi = rng.uniform(0.0, 2 * np.pi, radii.shape)
    z_low = np.minimum(z_range_m[0] + radii, 0.5 * (z_range_m[0] + z_range_m[1]))
    z_high = np.maximum(z_range_m[1] - radii, z_low)
    z = rng.uniform(z_low, z_high)
    return np.stack([centre_xy[0] + rho * np.cos(phi), centre_xy[1] + rho * np.sin(phi), z], axis=1)


def _keep_non_overlapping(kept: Spheres, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Mask of candidates that overlap neither ``kept`` nor an earlier kept candidate."""
    all_centres = np.concatenate([kept.centres_m, centres])
    all_radii = np.concatenate([kept.radii_m, radii])
    n_kept = len(kept)
    reach = 2 * float(all_radii.max())
    pairs = cKDTree(all_centres).query_pairs(reach, output_type="ndarray")
    if pairs.size:
        gaps = np.linalg.norm(all_centres[pairs[:, 0]] - all_centres[pairs[:, 1]], axis=1)
        pairs = pairs[gaps < all_radii[pairs[:, 0]] + all_radii[pairs[:, 1]]]
    pairs = np.sort(pairs, axis=1)
    pairs = pairs[(pairs[:, 1] >= n_kept)]
    pairs = pairs[np.lexsort((pairs[:, 0], pairs[:, 1]))]
    alive = np.ones(all_radii.shape[0], dtype=bool)
    for earlier, later in pairs:
        if alive[earlier]:
            alive[later] = False
    return alive[n_kept:]


def place_spheres(
    rng: np.random.Generator,
    *,
    sampler: CentreSampler,
    radius_range_m: tuple[float, float],
    obstacles: Spheres,
    target_volume_m3: float | None = None,
    count: int | None = None,
) -> Spheres:
    """Draw spheres that overlap neither each other nor ``obstacles``.

    Exactly one of ``target_volume_m3`` (stop once the new spheres' volume reaches it) or
    ``count`` (stop at that many spheres) must be given.  Radii are uniform in
    ``radius_range_m``; centres come from ``sampler``.  Returns the new spheres only.
    """
    if (target_volume_m3 is None) == (count is None):
        raise ValueError("give exactly one of target_volume_m3 and count")
    low, high = radius_range_m
    mean_volume = 4.0 / 3.0 * np.pi * (low + high) * (low**2 + high**2) / 4.0
    new = Spheres.empty()
    for _ in range(_MAX_ROUNDS):
        missing = (count - len(new)) if count is not None else int(
            np.ceil((target_volume_m3 - new.volume_m3) / mean_volume))
        if missing <= 0:
            return new
        radii = rng.uniform(low, high, int(1.3 * missing) + 4)
        centres = sampler(rng, radii)
        keep = _keep_non_overlapping(obstacles.concat(new), centres, radii)
        batch = Spheres(centres[keep], radii[keep])
        if count is not None:
            batch = batch.select(np.arange(len(batch)) < count - len(new))
        else:
            volumes = 4.0 / 3.0 * np.pi * batch.radii_m**3
            batch = batch.select(np.cumsum(volumes) - volumes < target_volume_m3 - new.volume_m3)
        new = new.concat(batch)
    raise ValueError("place_spheres could not place the requested spheres without overlap; "
                     "lower the porosity or the void count")

