"""Porosity of the Li electrodes and of the LLZO pellet, from a label volume.

Electrode porosity counts the voxels whose centre lies between a column's two interfaces:
``pores / (pores + Li)`` (voxels of other classes there, e.g. partial-volume voxels
labelled steel or LLZO, are left out).  Depth is measured from the Li|LLZO interface into
the electrode.  The pellet's porosity is its X-ray transparent fraction, as in Dixit et al.
(2020): ``(pores + Li) / (pores + Li + LLZO)`` between the two Li|LLZO interfaces, since Li
inside the pellet cannot be told from voids.
"""

import math
from dataclasses import dataclass

import numpy as np

from porewatch.kernels.backend import check_array, to_numpy
from porewatch.kernels.labels import Phase
from porewatch.kernels.quantify.electrodes import ElectrodeInterfaces, check_same_grid, electrode_depth_m


@dataclass(frozen=True)
class ElectrodePorosity:
    """Porosity figures of one Li electrode.

    Attributes
    ----------
    overall : float
        Over the whole electrode.
    near_interface : float
        Within ``near_interface_m`` of the Li|LLZO interface.
    depth_bin_edges_m : (n_bins + 1,) float64 ndarray
        Depth bins from the Li|LLZO interface, m.
    depth_profile : (n_bins,) float64 ndarray
        Porosity per depth bin.
    pore_density_map : (n_y, n_x) float32 array
        Porosity of each column within ``pore_density_window_m`` of the interface.

    Figures without any Li or pore voxel are NaN.
    """

    overall: float
    near_interface: float
    depth_bin_edges_m: np.ndarray
    depth_profile: np.ndarray
    pore_density_map: object


def electrode_porosity(
    labels,
    interfaces: ElectrodeInterfaces,
    *,
    pixel_size_m: float,
    near_interface_m: float = 10e-6,
    depth_bin_m: float = 10e-6,
    pore_density_window_m: float = 500e-6,
) -> ElectrodePorosity:
    """Overall, near-interface, depth-resolved and mapped porosity of one Li electrode.

    Parameters
    ----------
    labels : (n_z, n_y, n_x) uint8 array
        Phase labels (:class:`porewatch.kernels.labels.Phase`).
    interfaces : ElectrodeInterfaces
        The electrode's interface maps, m, on the grid of ``labels``.
    pixel_size_m : float
        Voxel size, m.
    near_interface_m : float
        Depth of the near-interface layer, m.
    depth_bin_m : float
        Width of the depth-profile bins, m.
    pore_density_window_m : float
        Depth over which the pore density map averages each column, m.

    Returns
    -------
    ElectrodePorosity
    """
    xp = check_array(labels, name="labels", ndim=3)
    check_same_grid(labels, interfaces)
    lengths = dict(
        near_interface_m=near_interface_m, depth_bin_m=depth_bin_m, pore_density_window_m=pore_density_window_m
    )
    for name, value in lengths.items():
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be positive and finite, got {value}")
    rows, depth = electrode_depth_m(interfaces, n_z=labels.shape[0], pixel_size_m=pixel_size_m)
    block = labels[rows]
    pore = (block == Phase.PORE) & xp.isfinite(depth)
    solid = (block == Phase.LITHIUM) & xp.isfinite(depth)
    near = depth <= near_interface_m
    in_window = depth <= pore_density_window_m
    edges, profile = _depth_profile(depth, pore, solid, depth_bin_m, xp)
    return ElectrodePorosity(
        overall=_ratio(int(pore.sum()), int(pore.sum() + solid.sum())),
        near_interface=_ratio(int((pore & near).sum()), int(((pore | solid) & near).sum())),
        depth_bin_edges_m=edges,
        depth_profile=profile,
        pore_density_map=_column_ratio(
            (pore & in_window).sum(axis=0), ((pore | solid) & in_window).sum(axis=0), xp
        ),
    )


def _depth_profile(depth, pore, solid, depth_bin_m: float, xp) -> tuple[np.ndarray, np.ndarray]:
    """Porosity in bins of depth; bin ``b`` covers ``[b, b + 1) * depth_bin_m``."""
    counted = pore | solid
    bins = xp.floor(depth[counted] / depth_bin_m).astype(xp.int64)
    n_bins = int(bins.max()) + 1 if bins.size else 0
    pores = to_numpy(xp.bincount(bins, weights=pore[counted].astype(xp.float64), minlength=n_bins))
    totals = to_numpy(xp.bincount(bins, minlength=n_bins)).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        profile = np.where(totals > 0, pores / totals, np.nan)
    return np.arange(n_bins + 1) * depth_bin_m, profile


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else math.nan


def _column_ratio(part, whole, xp):
    ratio = part.astype(xp.float32) / xp.maximum(whole, 1).astype(xp.float32)
    return xp.ascontiguousarray(xp.where(whole > 0, ratio, xp.nan), dtype=xp.float32)


def pellet_porosity(
    labels, *, top: ElectrodeInterfaces, bottom: ElectrodeInterfaces, pixel_size_m: float
) -> float:
    """X-ray transparent fraction of the LLZO pellet between the two Li|LLZO interfaces.

    Parameters
    ----------
    labels : (n_z, n_y, n_x) uint8 array
    top, bottom : ElectrodeInterfaces
        Interface maps, m; the pellet of a column spans the voxel centres strictly between
        ``top.electrolyte_z_m`` and ``bottom.electrolyte_z_m``.
    pixel_size_m : float

    Returns
    -------
    float
        ``(pores + Li) / (pores + Li + LLZO)``; NaN when no voxel is counted.
    """
    xp = check_array(labels, name="labels", ndim=3)
    check_same_grid(labels, top)
    upper, lower = top.electrolyte_z_m, bottom.electrolyte_z_m
    if not (math.isfinite(pixel_size_m) and pixel_size_m > 0):
        raise ValueError(f"pixel_size_m must be positive and finite, got {pixel_size_m}")
    known = xp.isfinite(upper) & xp.isfinite(lower)
    if not bool(known.any()):
        return math.nan
    start = max(math.ceil(float(upper[known].min()) / pixel_size_m), 0)
    stop = min(math.floor(float(lower[known].max()) / pixel_size_m) + 1, labels.shape[0])
    z = xp.arange(start, stop, dtype=xp.float32)[:, None, None] * pixel_size_m
    inside = (z > upper[None]) & (z < lower[None])
    block = labels[start:stop]
    transparent = int((inside & ((block == Phase.PORE) | (block == Phase.LITHIUM))).sum())
    return _ratio(transparent, transparent + int((inside & (block == Phase.LLZO)).sum()))
