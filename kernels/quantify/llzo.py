"""The LLZO pellet from a label volume: porosity depth profile, subsurface map, bulk and interfacial regions.

As in Dixit et al. (2020, Fig. 4), the pellet's porosity is its X-ray transparent fraction:
pores and Li inside the pellet cannot be told apart.  A column's pellet is its voxels lying
wholly between the two Li|LLZO interfaces; depth is measured from the top interface.

* depth profile: transparent fraction in bins of ``depth_bin_m`` (36 um in the paper) from
  the top face, and the same over the pellet's mean (the paper's normalised porosity);
* subsurface map: the transparent fraction of each (y, x) column, averaged along z;
* regions: the interfacial slabs within ``interfacial_m`` (100 um) of each face and the
  bulk between them; :func:`region_boxes` gives box-shaped sub-volumes of each, within
  every column's pellet, for tortuosity and homogenisation.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from porewatch.kernels.backend import check_array, to_numpy
from porewatch.kernels.labels import Phase
from porewatch.kernels.quantify.electrodes import ElectrodeInterfaces, check_same_grid

#: Region names of the pellet, top face first.
REGIONS = ("interfacial_top", "bulk", "interfacial_bottom")


@dataclass(frozen=True)
class PelletPorosity:
    """Porosity figures of the LLZO pellet at one step.

    Attributes
    ----------
    overall : float
        Transparent fraction of the whole pellet.
    regions : dict[str, float]
        Transparent fraction of each of :data:`REGIONS`.
    depth_bin_edges_m : (n_bins + 1,) float64 ndarray
        Depth bins from the top Li|LLZO interface, m.
    depth_profile : (n_bins,) float64 ndarray
        Transparent fraction per bin (NaN for an empty bin).
    subsurface_map : (n_y, n_x) float32 ndarray
        Transparent fraction of each column's pellet; NaN where it is unknown.
    pore_radius_m : float
        Mean equivalent-sphere radius of the transparent clusters (NaN without any).
    """

    overall: float
    regions: dict
    depth_bin_edges_m: np.ndarray
    depth_profile: np.ndarray
    subsurface_map: np.ndarray
    pore_radius_m: float

    @property
    def normalised_profile(self) -> np.ndarray:
        """``depth_profile`` over ``overall`` (the paper's normalised porosity)."""
        return self.depth_profile / self.overall if self.overall > 0 else np.full_like(self.depth_profile, np.nan)


@dataclass(frozen=True)
class _Pellet:
    """Per-voxel depth (m) below the top face for rows ``rows``, and the pellet mask."""

    rows: slice
    depth: np.ndarray
    inside: np.ndarray
    thickness: np.ndarray


def _pellet(labels_shape, top: ElectrodeInterfaces, bottom: ElectrodeInterfaces, pixel_size_m: float) -> _Pellet:
    upper = to_numpy(top.electrolyte_z_m).astype(np.float64)
    lower = to_numpy(bottom.electrolyte_z_m).astype(np.float64)
    known = np.isfinite(upper) & np.isfinite(lower) & (lower > upper)
    if not known.any():
        raise ValueError("top, bottom: no column has both Li|LLZO interfaces")
    start = max(math.floor(float(upper[known].min()) / pixel_size_m), 0)
    stop = min(math.ceil(float(lower[known].max()) / pixel_size_m) + 1, labels_shape[0])
    z = np.arange(start, stop, dtype=np.float64)[:, None, None] * pixel_size_m
    half = 0.5 * pixel_size_m
    inside = known[None] & (z - half >= upper[None]) & (z + half <= lower[None])
    depth = np.where(inside, z - upper[None], np.nan)
    return _Pellet(slice(start, stop), depth, inside, np.where(known, lower - upper, np.nan))


def pellet_porosity_analysis(labels, *, top: ElectrodeInterfaces, bottom: ElectrodeInterfaces, pixel_size_m: float,
                             depth_bin_m: float = 36e-6, interfacial_m: float = 100e-6) -> PelletPorosity:
    """Porosity of the pellet: overall, per region, depth profile and subsurface map.

    Parameters
    ----------
    labels : (n_z, n_y, n_x) uint8 array
        Phase labels (:class:`porewatch.kernels.labels.Phase`).
    top, bottom : ElectrodeInterfaces
        Interface maps ``(n_y, n_x)``, m, on the grid of ``labels``.
    pixel_size_m : float
    depth_bin_m : float
        Width of the depth-profile bins, m.
    interfacial_m : float
        Thickness of each interfacial region, m.

    Returns
    -------
    PelletPorosity
    """
    check_array(labels, name="labels", ndim=3)
    check_same_grid(labels, top)
    for name, value in (("pixel_size_m", pixel_size_m), ("depth_bin_m", depth_bin_m),
                        ("interfacial_m", interfacial_m)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be positive and finite, got {value}")
    pellet = _pellet(labels.shape, top, bottom, pixel_size_m)
    block = to_numpy(labels[pellet.rows])
    transparent = ((block == Phase.PORE) | (block == Phase.LITHIUM)) & pellet.inside
    counted = transparent | ((block == Phase.LLZO) & pellet.inside)
    height = pellet.thickness[None] - pellet.depth
    masks = {"interfacial_top": pellet.depth <= interfacial_m, "interfacial_bottom": height <= interfacial_m}
    masks["bulk"] = ~(masks["interfacial_top"] | masks["interfacial_bottom"])
    bins = np.floor(pellet.depth[counted] / depth_bin_m).astype(np.int64)
    n_bins = int(bins.max()) + 1 if bins.size else 0
    hits = np.bincount(bins, weights=transparent[counted].astype(np.float64), minlength=n_bins)
    totals = np.bincount(bins, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        profile = np.where(totals > 0, hits / totals, np.nan)
        column = transparent.sum(axis=0) / counted.sum(axis=0)
    return PelletPorosity(
        overall=_ratio(transparent.sum(), counted.sum()),
        regions={name: _ratio((transparent & mask).sum(), (counted & mask).sum()) for name, mask in masks.items()},
        depth_bin_edges_m=np.arange(n_bins + 1) * depth_bin_m,
        depth_profile=profile,
        subsurface_map=np.ascontiguousarray(column, dtype=np.float32),
        pore_radius_m=_mean_cluster_radius(transparent, pixel_size_m),
    )


def _ratio(part, whole) -> float:
    return float(part) / float(whole) if whole else math.nan


def _mean_cluster_radius(transparent: np.ndarray, pixel_size_m: float) -> float:
    """Mean equivalent-sphere radius of the face-connected transparent clusters, m."""
    labelled, count = ndimage.label(transparent)
    if count == 0:
        return math.nan
    sizes = np.bincount(labelled.ravel())[1:]
    return float(np.mean(np.cbrt(3.0 * sizes / (4.0 * math.pi)))) * pixel_size_m


def region_boxes(labels_shape, *, top: ElectrodeInterfaces, bottom: ElectrodeInterfaces, usable, pixel_size_m: float,
                 interfacial_m: float = 100e-6, max_side_px: int | None = None) -> dict[str, tuple[slice, slice, slice]]:
    """Box-shaped sub-volumes of the three pellet regions, inside every column's pellet.

    Laterally, the largest square centred in the ``usable`` columns (cropped about its
    centre to ``max_side_px``); along z, rows lying wholly inside the region in every
    column of the square.  A region with fewer than 2 such rows is left out.

    Returns
    -------
    dict[str, (slice, slice, slice)]
        ``(z, y, x)`` slices per region name of :data:`REGIONS`.
    """
    usable = to_numpy(usable).astype(bool)
    if not usable.any():
        raise ValueError("usable: no usable column")
    rows_i, cols_j = np.nonzero(usable)
    centre_i, centre_j = (rows_i.min() + rows_i.max()) / 2, (cols_j.min() + cols_j.max()) / 2
    radius = math.sqrt(usable.sum() / math.pi)
    side = max(int(radius * math.sqrt(2)) - 1, 1)
    side = min(side, max_side_px) if max_side_px else side
    i0, j0 = int(round(centre_i - side / 2)), int(round(centre_j - side / 2))
    lateral = (slice(max(i0, 0), i0 + side), slice(max(j0, 0), j0 + side))
    upper = to_numpy(top.electrolyte_z_m)[lateral]
    lower = to_numpy(bottom.electrolyte_z_m)[lateral]
    if not (np.isfinite(upper).all() and np.isfinite(lower).all()):
        raise ValueError("top, bottom: interfaces unknown inside the analysed square")
    first = math.ceil(float(upper.max()) / pixel_size_m + 0.5)
    last = math.floor(float(lower.min()) / pixel_size_m - 0.5)
    slab = max(int(round(interfacial_m / pixel_size_m)), 1)
    spans = {"interfacial_top": (first, min(first + slab, last + 1)),
             "bulk": (first + slab, last + 1 - slab),
             "interfacial_bottom": (max(last + 1 - slab, first), last + 1)}
    return {name: (slice(max(a, 0), min(b, labels_shape[0])), *lateral)
            for name, (a, b) in spans.items() if min(b, labels_shape[0]) - max(a, 0) >= 2}
