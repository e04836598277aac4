"""Electrode localisation along z: the four Li interfaces of every (y, x) column, sub-voxel.

The stack along z (row 0 at the top) is steel | Li | LLZO | Li | steel.  Each Li foil is a
low-attenuation band between two dense plateaus.  For each edge of a band:

1. Levels: per column, the median of the Li's interior rows and of the dense layer's
   (the steel's interior; the first ``plateau_px`` pellet rows beyond ``edge_margin_px``),
   rows ``edge_margin_px`` clear of every edge.  A level far from the cell's median (a
   hot-spot cap filling the steel rows, a stripped hollow in the Li rows) is replaced by
   its neighbours' (:func:`_steady_level`).
2. The edge is bracketed by the first sample above the midpoint between the two levels,
   walking from the middle of the Li towards the far side of the dense layer: pores
   behind the face (pellet pores, 5 % of LLZO) cannot move it, and a hot-spot cap that
   moves an interface by many voxels is still found.
3. Sub-voxel position: the step-integral estimate over the ``2 edge_margin_px + 1``
   samples around the crossing.  For a step sampled by partial-volume voxels, the sum of
   the normalised samples ``(v - low) / (high - low)`` over a window equals the window's
   length beyond the edge whatever the blur, and odd fringes add nothing to it.  Linear
   interpolation between the two bracketing samples errs by up to ~0.1 voxel depending
   on where the edge falls within its voxel; this estimate does not, which matters
   because thickness changes between steps are usually a fraction of a voxel.  A sample
   behind the crossing that drops by more than ``_DROP`` (a pore) is held at its
   predecessor's value.
4. Linearisation (``linearise=True``): each row integrates *intensity* over its height
   before ``-log``, so across the face of a dense layer the profile rises late and the
   face reads up to ~0.5 voxel inside LLZO and ~0.15 inside steel (exponential
   edge-gradient effect).  The samples are mapped back to intensity fractions with the
   column's effective line-integral contrast, computed from the measured jump map alone
   (:mod:`~porewatch.kernels.quantify.edge_linearisation`), before the step integral.

Two passes: a coarse one on the profile averaged over the usable cell area finds the two
bands, their edges and the middles of the neighbouring layers; then every column is
searched, after a light lateral Gaussian smoothing that tames the noise.  Columns near
the rim of the cell are masked out (NaN).
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter
from skimage.filters import threshold_multiotsu

from porewatch.kernels.backend import check_array, to_numpy
from porewatch.kernels.quantify.cell import CellFootprint, cell_footprint
from porewatch.kernels.quantify.edge_linearisation import effective_edge_contrast, linearise_fraction
from porewatch.kernels.quantify.ndimage_backend import nan_gaussian_filter, ndimage_module

#: Electrode names in stack order: "top" is the Li foil nearer row 0.
ELECTRODES = ("top", "bottom")

#: Drop (in units of the jump) behind a face taken for a pore rather than noise.
_DROP = 0.2


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
class _Walk:
    """``count`` rows from ``start`` (inside the Li) stepping by ``step`` (+-1) towards a dense layer."""

    start: int
    step: int
    count: int

    @classmethod
    def between(cls, li_row: float, dense_row: float, n_z: int) -> "_Walk":
        step = 1 if dense_row > li_row else -1
        start = min(max(round(li_row), 0), n_z - 1)
        stop = min(max(round(dense_row), 0), n_z - 1)
        return cls(start, step, abs(stop - start) + 1)

    def take(self, block, first_row: int):
        """Rows of the walk from ``block`` (whose row 0 is volume row ``first_row``), in walk order."""
        begin = self.start - first_row
        end = begin + self.step * (self.count - 1)
        return block[begin : end + 1] if self.step > 0 else block[end : begin + 1][::-1]

    def row(self, index):
        """Volume row of (fractional) walk index ``index``."""
        return self.start + self.step * index


def _interior_rows(edge_a: float, edge_b: float, margin_px: int) -> np.ndarray:
    """Rows whose centre lies between two edges (fractional rows), ``margin_px`` clear of both.

    The row nearest the middle when the layer is thinner than the margins allow.
    """
    low, high = sorted((edge_a, edge_b))
    rows = np.arange(math.ceil(low + margin_px), math.floor(high - margin_px) + 1)
    return rows if rows.size else np.array([round(0.5 * (low + high))])


def _edge_position(profiles, low, high, xp, *, half_width: int, contrast=None):
    """Fractional walk index of the edge in each profile, NaN where it never crosses the midpoint.

    ``profiles`` is ``(K, M)``, each walked from inside the Li outward; ``low``, ``high``
    ``(M,)`` the levels of the Li and of the dense layer.  The first sample above the
    midpoint brackets the edge (pores farther on cannot move it); the position is the
    step-integral estimate over the ``2 half_width + 1`` samples around it: for
    partial-volume samples ``f = (v - low) / (high - low)`` of a step blurred symmetrically,
    ``sum(1 - f)`` over a window is the window's length before the edge, and odd fringes
    add nothing to it.  A sample beyond the crossing that drops more than ``_DROP`` below
    its predecessor (capped at 1) takes the predecessor's value, so a pore behind the face
    does not pull the edge in while noise is left alone.  With ``contrast``
    ``(M,)`` the samples are linearised first (:func:`linearise_fraction`).
    """
    n_rows = profiles.shape[0]
    fraction = (profiles - low) / xp.where(high > low, high - low, 1.0)
    if contrast is not None:
        fraction = linearise_fraction(fraction, contrast, xp)
    above = fraction > 0.5
    found = xp.any(above, axis=0) & (high > low)
    crossing = xp.argmax(above, axis=0)
    rows = crossing[None] + xp.arange(-half_width, half_width + 1)[:, None]
    samples = xp.take_along_axis(fraction, xp.clip(rows, 0, n_rows - 1), axis=0)
    samples = xp.where(rows < 0, 0.0, xp.where(rows >= n_rows, 1.0, samples))
    for index in range(half_width + 1, 2 * half_width + 1):
        held = xp.minimum(samples[index - 1], 1.0)
        samples[index] = xp.where(samples[index] < held - _DROP, held, samples[index])
    position = crossing - half_width - 0.5 + (1.0 - samples).sum(axis=0)
    return xp.where(found, position, xp.nan)


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
        low = float(np.median(profile[_interior_rows(first - 0.5, last + 0.5, edge_margin_px)]))
        edges = []
        for dense in (index - 1, index + 1):
            dense_rows = _interior_rows(runs[dense][0] - 0.5, runs[dense][1] + 0.5, edge_margin_px)
            high = np.float32(np.median(profile[dense_rows]))
            walk = _Walk.between(middle[index], middle[dense], n_z)
            samples = walk.take(profile, 0)[:, None]
            position = _edge_position(samples, np.float32(low), high, np, half_width=edge_margin_px)[0]
            edges.append(float(walk.row(position)))
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
    pixel_size_m: float
    linearise: bool


def _column_edges(mu, usable, inside, xp, *, band: ElectrodeBand, search: _Search):
    """Rows of the collector and electrolyte edges of every usable column, shape ``(M,)`` each.

    ``inside`` ``(n_y, n_x)`` marks the columns of the cell (a superset of ``usable``): their
    levels fill columns whose own level is off, and their jumps enter the effective edge
    contrast.  Each edge is searched walking from the middle of the Li to the far side of
    the dense layer (the steel's outer face, the pellet's middle), so a hot-spot cap that
    moves an interface by many voxels is still found.
    """
    ndi = ndimage_module(xp)
    n_z, margin = mu.shape[0], search.edge_margin_px
    steel_outer = 2 * band.collector_centre_row - band.collector_row
    li_middle = 0.5 * (band.collector_row + band.electrolyte_row)
    first = max(math.floor(min(steel_outer, band.pellet_centre_row)), 0)
    last = min(math.ceil(max(steel_outer, band.pellet_centre_row)), n_z - 1)
    block = mu[first : last + 1].astype(xp.float32)
    if search.lateral_sigma_px > 0:
        block = ndi.gaussian_filter(block, sigma=(0.0, search.lateral_sigma_px, search.lateral_sigma_px))
    block = block[:, inside]
    into_pellet = 1 if band.pellet_centre_row > band.electrolyte_row else -1
    reach = min(2 * margin + search.plateau_px, abs(band.pellet_centre_row - band.electrolyte_row) + margin)
    level_rows = {
        "lithium": _interior_rows(band.collector_row, band.electrolyte_row, margin),
        "collector": _interior_rows(steel_outer, band.collector_row, margin),
        "electrolyte": _interior_rows(band.electrolyte_row, band.electrolyte_row + into_pellet * reach, margin),
    }
    rows = {kind: np.clip(values, first, last) - first for kind, values in level_rows.items()}
    raw = {kind: xp.median(block[xp.asarray(values)], axis=0) for kind, values in rows.items()}
    contrast_scale = abs(float(xp.median(raw["electrolyte"])) - float(xp.median(raw["lithium"])))
    levels = {kind: _steady_level(values, inside, tolerance=0.25 * contrast_scale, xp=xp)
              for kind, values in raw.items()}
    keep = usable[inside]
    edges = {}
    for kind, far_row in (("collector", steel_outer), ("electrolyte", band.pellet_centre_row)):
        walk = _Walk.between(li_middle, far_row, n_z)
        walk = _Walk(walk.start, walk.step, min(walk.count, abs(walk.start - (first if walk.step < 0 else last)) + 1))
        low, high = levels["lithium"], levels[kind]
        contrast = None
        if search.linearise:
            jump = xp.zeros(inside.shape, dtype=xp.float32)
            jump[inside] = xp.clip(high - low, 0.0, None)
            contrast = xp.asarray(effective_edge_contrast(jump, pixel_size_m=search.pixel_size_m))[usable]
        position = _edge_position(walk.take(block[:, keep], first), low[keep], high[keep], xp,
                                  half_width=margin, contrast=contrast)
        edges[kind] = walk.row(position).astype(xp.float32)
    return edges["collector"], edges["electrolyte"]


def _steady_level(values, inside, *, tolerance: float, xp, sigma_px: float = 4.0):
    """Column levels ``(M,)`` with those farther than ``tolerance`` from their median
    replaced by a NaN-aware Gaussian mean (``sigma_px`` columns) of the others around them.

    A level is off where the layer it samples is not there (a hot-spot cap in the steel
    rows, a stripped hollow in the Li rows); a material's level varies slowly across the
    cell.  The others are kept as they are: near the rim of the cell (lateral blur) they
    differ from their neighbours' for good reason.
    """
    centre = xp.median(values)
    off = xp.abs(values - centre) > tolerance
    if not bool(off.any()):
        return values
    plane = xp.full(inside.shape, xp.nan, dtype=xp.float32)
    plane[inside] = xp.where(off, xp.nan, values)
    filled = nan_gaussian_filter(plane, sigma_px=sigma_px, xp=xp, fill=True)[inside]
    return xp.where(off, xp.where(xp.isfinite(filled), filled, centre), values).astype(xp.float32)


def locate_interfaces(
    mu,
    *,
    pixel_size_m: float,
    lateral_sigma_px: float = 1.0,
    rim_margin_px: float = 5.0,
    edge_margin_px: int = 4,
    plateau_px: int = 8,
    linearise: bool = True,
    electrolyte_median_px: int = 5,
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
    linearise : bool
        Correct the exponential edge-gradient effect of intensity averaging across the
        faces of the dense layers (:mod:`~porewatch.kernels.quantify.edge_linearisation`);
        without it the faces read up to ~0.5 voxel inside the LLZO and steel.
    electrolyte_median_px : int
        Lateral median (columns) of the Li|LLZO maps; 1 disables it.  The face of the pellet
        is smooth, but a pore of the pellet or a void of the Li right at it moves its
        column's edge by a fraction of a voxel (0.1-1.4 voxel, measured on simulated cells);
        a 5-column median rejects these columns (per-column RMS error 0.25 -> 0.10 voxel)
        and keeps any feature wider than ~3 columns.
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
    inside = footprint.mask(mu.shape[1:], xp=xp) | usable
    coarse = coarse_bands(mu, usable=usable, edge_margin_px=edge_margin_px, plateau_px=plateau_px)
    search = _Search(lateral_sigma_px, edge_margin_px, plateau_px, pixel_size_m, linearise)
    maps = []
    for band in coarse:
        edges = _column_edges(mu, usable, inside, xp, band=band, search=search)
        planes = [xp.full(mu.shape[1:], xp.nan, dtype=xp.float32) for _ in edges]
        for plane, rows in zip(planes, edges):
            plane[usable] = rows * pixel_size_m
        if electrolyte_median_px > 1:
            planes[1] = _nan_median(planes[1], size=electrolyte_median_px, xp=xp)
        maps.append(ElectrodeInterfaces(band.electrode, *planes))
    return CellInterfaces(maps[0], maps[1], coarse, footprint, usable)


def _nan_median(plane, *, size: int, xp):
    """Median over ``size x size`` columns of a map, NaN kept where it is (filled from the nearest known
    column for the filter only)."""
    ndi = ndimage_module(xp)
    known = xp.isfinite(plane)
    if not bool(known.any()):
        return plane
    _, nearest = ndi.distance_transform_edt(~known, return_indices=True)
    filled = plane[tuple(nearest)]
    return xp.where(known, ndi.median_filter(filled, size=size), xp.nan).astype(xp.float32)


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
