"""Porosity of the Li electrodes from a label volume: overall, near the Li|LLZO interface, by depth, mapped.

Porosity is ``pores / (pores + Li)`` over a layer of the electrode between a column's two
interfaces.  A voxel cut by an interface but labelled steel or LLZO (its larger part) still
holds a share of the electrode, which takes the content of its neighbour inside the
electrode (:func:`fill_interface_voxels`); other voxels of other classes are left out.
Depth is measured from the Li|LLZO interface into the electrode, and a voxel straddling a
layer's bounds counts by the share of its height inside (so a 10 um layer on 9 um voxels is
10 um of Li).  Pores are the Li's own: a pore cluster enclosed mostly by LLZO belongs to the
pellet (:func:`lithium_pores`).  The pellet is in :mod:`porewatch.kernels.quantify.llzo`.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from porewatch.kernels.backend import check_array, to_numpy
from porewatch.kernels.labels import Phase
from porewatch.kernels.quantify.electrodes import ElectrodeInterfaces, check_same_grid

#: Fewest voxels across a depth layer for its porosity to be measured rather than smeared:
#: two samples per layer (the sampling theorem's bound).  Thinner layers are made up mostly of
#: the voxels their two bounds cut, whose share of a pore is decided by sub-voxel geometry
#: that labels do not hold.  On the simulator's true labels of cell 7 (where the layer's
#: porosity is 0.2-1.5 %, mostly the tips of deeper pores) the 10 um layer's porosity misses
#: by up to 113 % at 9.4 um voxels (1.1 voxels per layer), 16 % at 6.3 um (1.6) and 18 % at
#: 4.7 um (2.1) (``tools/bench_quant.py --accuracy 7:128 7:192 7:256``).
RESOLVED_LAYER_VOXELS = 2.0

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
    pore_length_map_m : (n_y, n_x) float32 array
        Total length of pores along each column between its interfaces, m.
    near_interface_voxels : float
        Depth of the near-interface layer in voxels.  Below
        :data:`RESOLVED_LAYER_VOXELS` the layer is thinner than the sampling can resolve and
        ``near_interface`` is limited by partial volume (pores cut by the interface and
        by the layer's far bound are smeared over whole voxels).

    Figures without any Li or pore voxel are NaN.  Pores are the Li's own
    (:func:`lithium_pores`); voxels straddling a layer's bounds count by their share.
    """

    overall: float
    near_interface: float
    depth_bin_edges_m: np.ndarray
    depth_profile: np.ndarray
    pore_density_map: object
    pore_length_map_m: object
    near_interface_voxels: float

    @property
    def near_interface_resolved(self) -> bool:
        """Whether the near-interface layer spans at least :data:`RESOLVED_LAYER_VOXELS` voxels."""
        return self.near_interface_voxels >= RESOLVED_LAYER_VOXELS


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
    rows, depth, thickness = _depth_block(interfaces, n_z=labels.shape[0], pixel_size_m=pixel_size_m, xp=xp)
    block = labels[rows]
    pore = xp.asarray(lithium_pores(labels, rows=rows)).astype(xp.float32)
    counted = pore + (block == Phase.LITHIUM)
    pore, counted = fill_interface_voxels(pore, counted, depth, thickness, pixel_size_m=pixel_size_m,
                                          deeper_row=-1 if interfaces.electrode == "top" else 1, xp=xp)
    layer = _Layer(depth, thickness, pixel_size_m, xp)
    near, whole, window = (layer.weights(0.0, length) for length in (near_interface_m, math.inf, pore_density_window_m))
    edges, profile = _depth_profile(layer, pore, counted, depth_bin_m, xp)
    return ElectrodePorosity(
        overall=_ratio(float((whole * pore).sum()), float((whole * counted).sum())),
        near_interface=_ratio(float((near * pore).sum()), float((near * counted).sum())),
        depth_bin_edges_m=edges,
        depth_profile=profile,
        pore_density_map=_column_ratio((window * pore).sum(axis=0), (window * counted).sum(axis=0), xp),
        pore_length_map_m=xp.ascontiguousarray((whole * pore).sum(axis=0) * pixel_size_m, dtype=xp.float32),
        near_interface_voxels=near_interface_m / pixel_size_m,
    )


def lithium_pores(labels, *, rows: slice, margin_px: int = 4) -> np.ndarray:
    """Pore voxels of ``labels[rows]`` that belong to the Li: clusters enclosed mostly by Li.

    A pore of the pellet that touches its face would otherwise count as a void of the Li
    wherever the interface is placed a fraction of a voxel into the pellet.  Each
    face-connected cluster of ``Phase.PORE`` voxels (over ``margin_px`` more rows on either
    side, so pellet pores are seen whole) goes to the phase, Li or LLZO, that most of its
    face neighbours belong to.

    Returns
    -------
    (rows, n_y, n_x) bool ndarray
    """
    start, stop = max(rows.start - margin_px, 0), min(rows.stop + margin_px, labels.shape[0])
    block = np.pad(to_numpy(labels[start:stop]), 1, constant_values=Phase.OUTSIDE)  # no wrap-around below
    pore = block == Phase.PORE
    clusters, count = ndimage.label(pore)
    lithium = np.zeros(count + 1)
    llzo = np.zeros(count + 1)
    for axis in range(3):
        for shift in (1, -1):
            owner = np.roll(clusters, shift, axis=axis)
            edge = (owner > 0) & ~pore  # a non-pore voxel next to cluster ``owner``
            lithium += np.bincount(owner[edge & (block == Phase.LITHIUM)], minlength=count + 1)
            llzo += np.bincount(owner[edge & (block == Phase.LLZO)], minlength=count + 1)
    keep = lithium >= llzo
    keep[0] = False
    inner = keep[clusters][1:-1, 1:-1, 1:-1]
    return inner[rows.start - start : rows.stop - start]


def fill_interface_voxels(pore, counted, depth, thickness, *, pixel_size_m: float, deeper_row: int, xp):
    """Pore and counted (pore or Li) content, with interface voxels labelled as neither filled in.

    A voxel cut by the Li|LLZO or steel|Li interface is labelled by its larger part, so
    one whose electrode share is under half is labelled LLZO or steel and would drop that
    share (an eighth of a voxel on average over interface positions), and the porosity of
    the layer next to the interface would lean to that of its deeper part.  Such a
    voxel takes the content of its neighbour on the electrode side (``deeper_row`` rows on
    for the Li|LLZO interface, the other way for the collector); its depth share stays.

    Parameters
    ----------
    pore, counted : (rows, n_y, n_x) float32 arrays
        Li pore voxels and pore-or-Li voxels of the electrode's rows.
    depth : (rows, n_y, n_x) float32 array
        Depth of the voxel centres below the Li|LLZO interface, m (NaN in unknown columns).
    thickness : (n_y, n_x) float32 array
        Electrode thickness, m.
    deeper_row : int
        +1 where depth grows with the row index, -1 where it falls.

    Returns
    -------
    pore, counted : (rows, n_y, n_x) float32 arrays
    """
    half = 0.5 * pixel_size_m
    face = (depth > -half) & (depth < half)
    collector = (depth > thickness[None] - half) & (depth < thickness[None] + half)
    unlabelled = counted == 0
    for cut, step in ((face, deeper_row), (collector, -deeper_row)):
        take = cut & unlabelled
        pore = xp.where(take, _neighbour(pore, step, xp), pore)
        counted = xp.where(take, _neighbour(counted, step, xp), counted)
    return pore, counted


def _neighbour(values, step: int, xp):
    """``values`` of the voxel ``step`` (+1 or -1) rows on, zero past the ends."""
    shifted = xp.zeros_like(values)
    if step > 0:
        shifted[:-step] = values[step:]
    else:
        shifted[-step:] = values[:step]
    return shifted


def _depth_block(interfaces: ElectrodeInterfaces, *, n_z: int, pixel_size_m: float, xp):
    """Rows reaching into the electrode, depth (m) of their voxel centres below the Li|LLZO
    interface (NaN in unknown columns) and the thickness map ``(n_y, n_x)``."""
    electrolyte, collector = interfaces.electrolyte_z_m, interfaces.collector_z_m
    known = xp.isfinite(electrolyte) & xp.isfinite(collector)
    if not bool(known.any()):
        raise ValueError(f"interfaces: no column of the {interfaces.electrode} electrode has an interface")
    z_min = float(xp.min(xp.minimum(electrolyte, collector)[known]))
    z_max = float(xp.max(xp.maximum(electrolyte, collector)[known]))
    rows = slice(max(math.floor(z_min / pixel_size_m), 0), min(math.ceil(z_max / pixel_size_m) + 1, n_z))
    z = xp.arange(rows.start, rows.stop, dtype=xp.float32)[:, None, None] * pixel_size_m
    sign = -1.0 if interfaces.electrode == "top" else 1.0
    depth = xp.where(known[None], sign * (z - electrolyte[None]), xp.nan).astype(xp.float32)
    return rows, depth, xp.where(known, xp.abs(collector - electrolyte), xp.nan).astype(xp.float32)


class _Layer:
    """Fraction of each voxel's depth extent ``[d - p/2, d + p/2]`` inside depth layers of the Li.

    Voxels straddling a layer's boundary (the interfaces included) count by the part of
    their height inside it, so a layer of 10 um on 9 um voxels is 10 um of Li, not one or
    two rows of voxels.
    """

    def __init__(self, depth, thickness, pixel_size_m: float, xp):
        self.xp, self.pixel = xp, pixel_size_m
        known = xp.isfinite(depth)
        self.top = xp.where(known, depth - 0.5 * pixel_size_m, 0.0)
        self.bottom = xp.where(known, xp.minimum(depth + 0.5 * pixel_size_m, thickness[None]), 0.0)
        self.thickness = thickness

    def weights(self, low_m: float, high_m: float):
        """(rows, n_y, n_x) float32 weights in [0, 1] of the layer ``[low_m, high_m]`` of the Li."""
        xp = self.xp
        overlap = xp.minimum(self.bottom, high_m) - xp.maximum(self.top, low_m)
        return (xp.clip(overlap, 0.0, None) / self.pixel).astype(xp.float32)


def _depth_profile(layer: _Layer, pore, counted, depth_bin_m: float, xp) -> tuple[np.ndarray, np.ndarray]:
    """Porosity in bins of depth, each voxel split between the bins its height overlaps;
    bin ``b`` covers ``[b, b + 1) * depth_bin_m``."""
    inside = (layer.bottom > layer.top) & (counted > 0)
    top, bottom = layer.top[inside], layer.bottom[inside]
    pore, counted = pore[inside].astype(xp.float64), counted[inside].astype(xp.float64)
    first = xp.floor(xp.clip(top, 0.0, None) / depth_bin_m).astype(xp.int64)
    n_bins = int(xp.ceil(bottom.max() / depth_bin_m)) if bottom.size else 0
    pores, totals = np.zeros(n_bins), np.zeros(n_bins)
    for step in range(int(math.ceil(layer.pixel / depth_bin_m)) + 1):
        index = first + step
        overlap = xp.clip(xp.minimum(bottom, (index + 1) * depth_bin_m) - xp.maximum(top, index * depth_bin_m), 0.0, None)
        keep = (overlap > 0) & (index < n_bins)
        pores += to_numpy(xp.bincount(index[keep], weights=(overlap * pore)[keep], minlength=n_bins))[:n_bins]
        totals += to_numpy(xp.bincount(index[keep], weights=(overlap * counted)[keep], minlength=n_bins))[:n_bins]
    with np.errstate(invalid="ignore", divide="ignore"):
        profile = np.where(totals > 0, pores / totals, np.nan)
    return np.arange(n_bins + 1) * depth_bin_m, profile


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else math.nan


def _column_ratio(part, whole, xp):
    ratio = part / xp.where(whole > 0, whole, 1.0)
    return xp.ascontiguousarray(xp.where(whole > 0, ratio, xp.nan), dtype=xp.float32)
