"""Electrode localisation along z: the four Li interfaces of every (y, x) column, sub-voxel.

The stack along z (row 0 at the top) is steel | Li | LLZO | Li | steel.  Each Li foil is a
low-attenuation band between two dense plateaus.  For each edge of a band:

1. Plateau levels: the median of ``plateau_px`` rows on either side, ``edge_margin_px``
   rows away from the edge (the fringes and blur of the edge stay out of them).
2. The edge is bracketed where the profile crosses the midpoint between the two levels.
   Partial-volume voxels and a symmetric blur keep the midpoint on the true edge, and the
   phase-contrast fringes (overshoot on the dense side, undershoot on the light side)
   are odd about it.  Pores in the Li (mu ~ 0 against 7 1/m) barely move the low level
   next to jumps of ~550 (steel) and ~1440 1/m (LLZO).
3. Sub-voxel position: the step-integral estimate over the ``2 edge_margin_px + 1``
   samples around the crossing.  For a step sampled by partial-volume voxels, the sum of
   the normalised samples ``(v - low) / (high - low)`` over a window equals the window's
   length beyond the edge whatever the blur, and odd fringes add nothing to it.  Linear
   interpolation between the two bracketing samples errs by up to ~0.1 voxel depending
   on where the edge falls within its voxel; this estimate does not, which matters
   because thickness changes between steps are usually a fraction of a voxel.

Two passes: a coarse one on the profile averaged over the usable cell area finds the two
bands, their edges and the middles of the neighbouring layers; then every column is
searched around each coarse edge, never past the middle of a layer, after a light
lateral Gaussian smoothing that tames the noise.  Columns near the rim of the cell are
masked out (NaN).
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter
from skimage.filters import threshold_multiotsu

from porewatch.kernels.backend import check_array, to_numpy
from porewatch.kernels.quantify.cell import CellFootprint, cell_footprint
from porewatch.kernels.quantify.ndimage_backend import ndimage_module

#: Electrode names in stack order: "top" is the Li foil nearer row 0.
ELECTRODES = ("top", "bottom")


@dataclass(frozen=True)
class ElectrodeBand:
    """Coarse geometry of one Li electrode, in fractional rows (z / pixel size).

    Attributes
    ----------
    electrode : str
    collector_row, electrolyte_row : float
        The steel|Li and Li|LLZO interfaces.
    collector_centre_row, pellet_centre_row : float
        Middle of the steel collector (as far as the volume shows it) and of the LLZO
        pellet: the per-column search of each interface stays between the layer middles.
    """

    electrode: str
    collector_row: float
    electrolyte_row: float
    collector_centre_row: float
    pellet_centre_row: float

    def rows(self, *, margin_px: int = 0) -> tuple[int, int]:
        """``[start, stop)`` of the rows whose voxels reach into the electrode, widened by ``margin_px``."""
        upper = min(self.collector_row, self.electrolyte_row)
        lower = max(self.collector_row, self.electrolyte_row)
        return max(math.floor(upper + 0.5) - margin_px, 0), math.floor(lower + 0.5) + 1 + margin_px


@dataclass(frozen=True)
class ElectrodeInterfaces:
    """Interface maps of one Li electrode.

    Attributes
    ----------
    electrode : str
        ``"top"`` or ``"bottom"``.
    collector_z_m, electrolyte_z_m : (n_y, n_x) float32 array
        z (m, ``z = row * pixel size``) of the steel|Li and Li|LLZO interfaces of each
        column; NaN outside the usable cell area or where no edge was found.
    """

    electrode: str
    collector_z_m: object
    electrolyte_z_m: object

    @property
    def collector_z_mean_m(self) -> float:
        """Area mean of ``collector_z_m``, m."""
        return float(np.nanmean(to_numpy(self.collector_z_m)))

    @property
    def electrolyte_z_mean_m(self) -> float:
        """Area mean of ``electrolyte_z_m``, m."""
        return float(np.nanmean(to_numpy(self.electrolyte_z_m)))


@dataclass(frozen=True)
class CellInterfaces:
    """Both electrodes' interface maps, the coarse estimate and the usable area they came from.

    Attributes
    ----------
    top, bottom : ElectrodeInterfaces
    coarse : (ElectrodeBand, ElectrodeBand)
        From the area-mean profile; ``band.rows()`` gives the slices crossing an electrode.
    footprint : CellFootprint
    usable : (n_y, n_x) bool array
        Columns searched: the footprint less ``rim_margin_px``.
    """

    top: ElectrodeInterfaces
    bottom: ElectrodeInterfaces
    coarse: tuple[ElectrodeBand, ElectrodeBand]
    footprint: CellFootprint
    usable: object

    def electrode(self, name: str) -> ElectrodeInterfaces:
        """The interfaces of electrode ``name`` (``"top"`` or ``"bottom"``)."""
        if name not in ELECTRODES:
            raise ValueError(f"name must be one of {ELECTRODES}, got {name!r}")
        return self.top if name == "top" else self.bottom


@dataclass(frozen=True)
class _EdgeWindow:
    """Rows ``[lo, hi)`` searched for one edge, walked from the Li side (``start``) outward."""

    lo: int
    hi: int
    outward: int
    n_low: int
    n_high: int

    @property
    def start(self) -> int:
        return self.lo if self.outward > 0 else self.hi - 1

    def ordered(self, block):
        """``block`` (rows ``lo:hi`` first) reordered from the Li side outward."""
        return block if self.outward > 0 else block[::-1]


def _edge_window(
    edge_row: float, *, li_centre_row: float, dense_centre_row: float, margin_px: int, plateau_px: int
) -> _EdgeWindow:
    """Rows searched for the edge at ``edge_row``, kept between the middles of the two layers."""
    outward = 1 if dense_centre_row > edge_row else -1
    li_first = math.ceil(edge_row) if outward < 0 else math.floor(edge_row)
    dense_first = li_first + outward
    half = margin_px + plateau_px
    n_li = min(half, abs(li_first - round(li_centre_row)) + 1)
    n_dense = min(half, abs(dense_first - round(dense_centre_row)) + 1)
    first, last = li_first - outward * (n_li - 1), dense_first + outward * (n_dense - 1)
    return _EdgeWindow(
        lo=min(first, last),
        hi=max(first, last) + 1,
        outward=outward,
        n_low=max(1, n_li - margin_px),
        n_high=max(1, n_dense - margin_px),
    )


def _plateau_levels(profiles, window: _EdgeWindow, xp):
    """Median of the Li-side and of the dense-side plateau rows of each profile, ``(M,)`` each."""
    low = xp.median(profiles[: window.n_low], axis=0)
    high = xp.median(profiles[profiles.shape[0] - window.n_high :], axis=0)
    return low, high


def _edge_position(profiles, window: _EdgeWindow, low, high, xp, *, half_width: int):
    """Sub-voxel row of the edge in each profile, NaN where the profile never crosses the midpoint.

    ``profiles`` is ``(K, M)``: the window's rows ordered from the Li side outward;
    ``low``, ``high`` ``(M,)`` the plateau levels.  The number of samples at or below the
    midpoint level brackets the edge; the position is then the step-integral estimate
    over the ``2 half_width + 1`` samples around it.
    """
    n_rows = profiles.shape[0]
    below = xp.count_nonzero(profiles <= 0.5 * (low + high), axis=0)
    found = (below > 0) & (below < n_rows) & (high > low)
    half_width = min(half_width, (n_rows - 1) // 2)
    centre = xp.clip(below, half_width, n_rows - 1 - half_width)
    rows = centre[None] + xp.arange(-half_width, half_width + 1)[:, None]
    fraction = (xp.take_along_axis(profiles, rows, axis=0) - low) / xp.where(found, high - low, 1.0)
    position = centre + half_width + 0.5 - fraction.sum(axis=0)
    return xp.where(found, window.start + window.outward * position, xp.nan).astype(xp.float32)


def _runs(flags: np.ndarray) -> list[tuple[int, int, bool]]:
    """Inclusive ``(first, last, value)`` runs of equal entries of a boolean row vector."""
    starts = np.concatenate(([0], np.flatnonzero(np.diff(flags.astype(np.int8))) + 1))
    stops = np.concatenate((starts[1:] - 1, [flags.size - 1]))
    return [(int(a), int(b), bool(flags[a])) for a, b in zip(starts, stops)]


def coarse_bands(
    mu, *, usable, edge_margin_px: int = 4, plateau_px: int = 8
) -> tuple[ElectrodeBand, ElectrodeBand]:
    """Locate both Li bands on the z-profile of ``mu`` averaged over the ``usable`` columns.

    After a running median over ``2 edge_margin_px + 1`` rows, which removes the narrow
    fringes at the edges but keeps the layers, rows below the lowest of three multi-Otsu
    levels are "low"; the two longest low runs with dense rows on both sides are the Li
    foils.  Their edges are then located on the unfiltered profile.

    Parameters
    ----------
    mu : (n_z, n_y, n_x) float array
        Attenuation, 1/m.
    usable : (n_y, n_x) bool array
        Columns to average.

    Returns
    -------
    (top, bottom) : ElectrodeBand
        Sub-voxel rows of the collector and electrolyte interfaces of each foil.
    """
    xp = check_array(mu, name="mu", ndim=3)
    n_z = mu.shape[0]
    weights = xp.asarray(usable, dtype=xp.float32).ravel()
    if not float(weights.sum()) > 0:
        raise ValueError("usable: no column of the cell is usable")
    profile = to_numpy(mu.reshape(n_z, -1).astype(xp.float32, copy=False) @ weights) / float(weights.sum())
    plateaus = median_filter(profile, size=2 * edge_margin_px + 1, mode="nearest")
    runs = _runs(plateaus < threshold_multiotsu(plateaus, classes=3)[0])
    foils = [index for index in range(1, len(runs) - 1) if runs[index][2]]
    foils = sorted(sorted(foils, key=lambda index: runs[index][1] - runs[index][0])[-2:])
    if len(foils) < 2:
        raise ValueError(
            f"mu: found {len(foils)} low-attenuation band(s) between dense layers, need 2 (Li foils)"
        )
    middle = [0.5 * (first + last) for first, last, _ in runs]
    bands = []
    for name, index in zip(ELECTRODES, foils):
        first, last, _ = runs[index]
        edges = []
        for edge_row, dense_centre in ((first - 0.5, middle[index - 1]), (last + 0.5, middle[index + 1])):
            window = _edge_window(
                edge_row,
                li_centre_row=middle[index],
                dense_centre_row=dense_centre,
                margin_px=edge_margin_px,
                plateau_px=plateau_px,
            )
            block = window.ordered(profile[window.lo : window.hi])[:, None]
            low, high = _plateau_levels(block, window, np)
            edges.append(float(_edge_position(block, window, low, high, np, half_width=edge_margin_px)[0]))
        if name == "top":
            bands.append(ElectrodeBand(name, edges[0], edges[1], middle[index - 1], middle[index + 1]))
        else:
            bands.append(ElectrodeBand(name, edges[1], edges[0], middle[index + 1], middle[index - 1]))
    return bands[0], bands[1]


@dataclass(frozen=True)
class _Search:
    """Parameters of the per-column search, see :func:`locate_interfaces`."""

    lateral_sigma_px: float
    edge_margin_px: int
    plateau_px: int


def _column_edges(mu, usable, xp, *, band: ElectrodeBand, search: _Search):
    """Rows of the collector and electrolyte edges of every usable column, shape ``(M,)`` each."""
    ndi = ndimage_module(xp)
    li_centre = 0.5 * (band.collector_row + band.electrolyte_row)
    edges = {}
    for kind, edge_row, dense_centre in (
        ("collector", band.collector_row, band.collector_centre_row),
        ("electrolyte", band.electrolyte_row, band.pellet_centre_row),
    ):
        window = _edge_window(
            edge_row,
            li_centre_row=li_centre,
            dense_centre_row=dense_centre,
            margin_px=search.edge_margin_px,
            plateau_px=search.plateau_px,
        )
        block = mu[window.lo : window.hi].astype(xp.float32)
        if search.lateral_sigma_px > 0:
            block = ndi.gaussian_filter(block, sigma=(0.0, search.lateral_sigma_px, search.lateral_sigma_px))
        profiles = window.ordered(block)[:, usable]
        levels = _plateau_levels(profiles, window, xp)
        edges[kind] = _edge_position(profiles, window, *levels, xp, half_width=search.edge_margin_px)
    return edges["collector"], edges["electrolyte"]


def locate_interfaces(
    mu,
    *,
    pixel_size_m: float,
    lateral_sigma_px: float = 1.0,
    rim_margin_px: float = 5.0,
    edge_margin_px: int = 4,
    plateau_px: int = 8,
    footprint: CellFootprint | None = None,
) -> CellInterfaces:
    """Find the steel|Li and Li|LLZO interfaces of both electrodes in every column of the cell.

    Parameters
    ----------
    mu : (n_z, n_y, n_x) float array
        Reconstructed attenuation, 1/m; must contain some steel beyond each Li foil.
    pixel_size_m : float
        Voxel size, m.
    lateral_sigma_px : float
        Gaussian sigma (pixels) of the smoothing in y and x before the per-column search;
        0 disables it.
    rim_margin_px : float
        Columns closer than this to the cell's rim are left out (NaN).
    edge_margin_px, plateau_px : int
        Rows skipped next to an edge (fringes, blur, interface roughness) and rows whose
        median gives the plateau level beyond them.  A column's edge is found if it lies
        within ``edge_margin_px + plateau_px`` rows of the coarse edge.
    footprint : CellFootprint, optional
        The cell's disc; found with :func:`cell_footprint` when omitted.

    Returns
    -------
    CellInterfaces
        Maps ``(n_y, n_x)`` float32 in m, on the backend of ``mu``.
    """
    xp = check_array(mu, name="mu", ndim=3)
    _check_positive(pixel_size_m=pixel_size_m, plateau_px=plateau_px)
    _check_non_negative(
        lateral_sigma_px=lateral_sigma_px, rim_margin_px=rim_margin_px, edge_margin_px=edge_margin_px
    )
    footprint = cell_footprint(mu) if footprint is None else footprint
    usable = footprint.mask(mu.shape[1:], margin_px=rim_margin_px, xp=xp)
    coarse = coarse_bands(mu, usable=usable, edge_margin_px=edge_margin_px, plateau_px=plateau_px)
    search = _Search(lateral_sigma_px, edge_margin_px, plateau_px)
    maps = []
    for band in coarse:
        edges = _column_edges(mu, usable, xp, band=band, search=search)
        planes = [xp.full(mu.shape[1:], xp.nan, dtype=xp.float32) for _ in edges]
        for plane, rows in zip(planes, edges):
            plane[usable] = rows * pixel_size_m
        maps.append(ElectrodeInterfaces(band.electrode, *planes))
    return CellInterfaces(maps[0], maps[1], coarse, footprint, usable)


def electrode_depth_m(interfaces: ElectrodeInterfaces, *, n_z: int, pixel_size_m: float):
    """Depth of each voxel centre into a Li electrode, measured from its Li|LLZO interface.

    Parameters
    ----------
    interfaces : ElectrodeInterfaces
    n_z : int
        Number of rows of the volume.
    pixel_size_m : float
        Voxel size, m.

    Returns
    -------
    rows : slice
        Rows of the volume that the depth block covers.
    depth : (rows, n_y, n_x) float32 array
        Distance (m) from the electrolyte interface for voxels whose centre lies between
        the column's two interfaces, NaN elsewhere.
    """
    _check_positive(pixel_size_m=pixel_size_m, n_z=n_z)
    electrolyte, collector = interfaces.electrolyte_z_m, interfaces.collector_z_m
    xp = check_array(electrolyte, name="interfaces.electrolyte_z_m", ndim=2)
    if not bool(xp.isfinite(electrolyte).any()):
        raise ValueError(f"interfaces: no column of the {interfaces.electrode} electrode has an interface")
    z_min = float(xp.nanmin(xp.minimum(electrolyte, collector)))
    z_max = float(xp.nanmax(xp.maximum(electrolyte, collector)))
    rows = slice(max(math.ceil(z_min / pixel_size_m), 0), min(math.floor(z_max / pixel_size_m) + 1, n_z))
    z = xp.arange(rows.start, rows.stop, dtype=xp.float32)[:, None, None] * pixel_size_m
    sign = -1.0 if interfaces.electrode == "top" else 1.0
    depth = sign * (z - electrolyte[None])
    inside = (depth >= 0) & (depth <= xp.abs(collector - electrolyte)[None])
    return rows, xp.where(inside, depth, xp.nan).astype(xp.float32)


def check_same_grid(labels, interfaces: ElectrodeInterfaces) -> None:
    """Raise ValueError unless ``labels`` (n_z, n_y, n_x) lies on the grid of the interface maps."""
    grid = interfaces.electrolyte_z_m.shape
    if labels.shape[1:] != grid:
        raise ValueError(f"labels: shape {labels.shape} does not match the interface maps {grid}")


def _check_positive(**values) -> None:
    for name, value in values.items():
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be positive and finite, got {value}")


def _check_non_negative(**values) -> None:
    for name, value in values.items():
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be non-negative and finite, got {value}")
