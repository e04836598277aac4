"""Classical segmentation baseline: Otsu thresholds, the method Dixit et al. (2020) compare their CNN to.

Three steps:

1. The cell is the disc found by :func:`porewatch.kernels.quantify.cell.cell_footprint`,
   between the first and last rows whose mean over the disc is dense; everything else is
   ``Phase.OUTSIDE``.
2. A three-class multi-Otsu on the cell's (lightly smoothed) values gives the material
   levels: low (Li, pores, air), steel, LLZO.
3. Within each Li electrode band, the low voxels are split into Li and pores by a
   threshold computed on that band alone: Otsu's (``method="otsu"``, the paper's
   binarisation), or the lowest of three multi-Otsu levels (``method="multiotsu"``, which
   keeps bright fringes in a class of their own so that they do not drag the Li|pore
   threshold up).  The threshold is searched among the band's low voxels at least
   ``edge_exclusion_px`` rows from a dense voxel and pixels from the cell's rim: the
   partial-volume voxels and fringes of the steel and LLZO faces and of the rim would
   otherwise dominate the histogram.  Low voxels outside the bands (pores of the pellet,
   gaps) are ``Phase.PORE``.

The paper's point stands here too: at 76 keV Li and pores differ by 7 1/m, far below the
noise and the phase fringes, so step 3 splits noise rather than material (on the
simulated 64^3 cell, about half of the pristine Li comes out as pore, against 0.75 % of
pores in truth); the CNN exists because of this.  Partial-volume voxels on the Li|LLZO
faces fall between the Li and LLZO levels and come out as a one-voxel shell of
``Phase.STEEL``.
"""

from collections.abc import Sequence

import numpy as np
from skimage.filters import threshold_multiotsu, threshold_otsu

from porewatch.kernels.backend import check_array, get_array_module, to_numpy
from porewatch.kernels.labels import Phase
from porewatch.kernels.quantify.cell import cell_footprint
from porewatch.kernels.quantify.ndimage_backend import ndimage_module

#: Rules for the Li|pore threshold, see the module docstring.
THRESHOLD_METHODS = ("otsu", "multiotsu")


def segment_threshold(
    mu,
    *,
    method: str = "otsu",
    electrode_bands: Sequence[tuple[int, int]] | None = None,
    sigma_px: float = 0.5,
    edge_exclusion_px: int = 2,
    nbins: int = 256,
):
    """Label a reconstructed Li|LLZO|Li cell with Otsu thresholds.

    Parameters
    ----------
    mu : (n_z, n_y, n_x) float array
        Reconstructed attenuation, 1/m.
    method : {"otsu", "multiotsu"}
        Rule for the Li|pore threshold within each electrode band.
    electrode_bands : sequence of (start, stop), optional
        Row ranges ``[start, stop)`` of the Li electrodes, each thresholded on its own
        (e.g. ``ElectrodeBand.rows()`` of the coarse interface estimate).  None: the whole
        cell is one band.
    sigma_px : float
        Gaussian sigma (voxels) of the smoothing applied before thresholding; 0 disables.
    edge_exclusion_px : int
        Rows next to dense voxels, and pixels next to the cell's rim, left out of the
        Li|pore threshold search (not out of the labelling).
    nbins : int
        Histogram bins of the threshold searches.

    Returns
    -------
    (n_z, n_y, n_x) uint8 array
        :class:`~porewatch.kernels.labels.Phase` labels, on the backend of ``mu``.
    """
    xp = check_array(mu, name="mu", ndim=3)
    bands = _check_arguments(
        mu.shape[0],
        method=method,
        electrode_bands=electrode_bands,
        sigma_px=sigma_px,
        edge_exclusion_px=edge_exclusion_px,
        nbins=nbins,
    )
    footprint = cell_footprint(mu)
    disc = footprint.mask(mu.shape[1:], xp=xp)
    inner_columns = footprint.mask(mu.shape[1:], margin_px=edge_exclusion_px, xp=xp)[disc]
    smoothed = mu.astype(xp.float32)
    if sigma_px > 0:
        smoothed = ndimage_module(xp).gaussian_filter(smoothed, sigma_px)
    values = smoothed[:, disc]
    low_level, dense_level = threshold_multiotsu(hist=_histogram(values, nbins, xp), classes=3)
    dense_rows = np.flatnonzero(to_numpy(values.mean(axis=1)) >= low_level)
    if dense_rows.size == 0:
        raise ValueError("mu: the cell has no dense (steel or LLZO) row")
    first, stop = int(dense_rows[0]), int(dense_rows[-1]) + 1
    cell = values[first:stop]
    phases = xp.full(cell.shape, Phase.PORE, dtype=xp.uint8)
    phases[cell >= low_level] = Phase.STEEL
    phases[cell >= dense_level] = Phase.LLZO
    for start, end in bands or [(first, stop)]:
        lo, hi = max(start, first) - first, min(end, stop) - first
        if hi > lo:
            lithium = _lithium_in_band(
                cell[lo:hi],
                low_level=low_level,
                inner_columns=inner_columns,
                method=method,
                edge_exclusion_px=edge_exclusion_px,
                nbins=nbins,
            )
            phases[lo:hi][lithium] = Phase.LITHIUM
    labels = xp.zeros(mu.shape, dtype=xp.uint8)
    labels[first:stop, disc] = phases
    return labels


def _lithium_in_band(band, *, low_level, inner_columns, method, edge_exclusion_px, nbins):
    """Low voxels of one band ``(rows, columns)`` at or above the band's Li|pore threshold."""
    xp = get_array_module(band)
    low = band < low_level
    interior = low & inner_columns[None, :]
    if edge_exclusion_px > 0:
        structure = xp.ones((2 * edge_exclusion_px + 1, 1), dtype=bool)
        interior &= ndimage_module(xp).binary_erosion(low, structure=structure)
    sample = band[interior if bool(interior.any()) else low]
    return low & (band >= _lithium_level(sample, method=method, nbins=nbins, xp=xp))


def _histogram(values, nbins: int, xp) -> tuple[np.ndarray, np.ndarray]:
    """Host ``(counts, bin_centres)`` of ``values`` for scikit-image's threshold functions."""
    counts, edges = xp.histogram(values, bins=nbins)
    edges = to_numpy(edges)
    return to_numpy(counts), 0.5 * (edges[:-1] + edges[1:])


def _lithium_level(values, *, method: str, nbins: int, xp) -> float:
    """Li|pore threshold of one band's low voxels; -inf (all Li) when they do not vary."""
    if values.size < 2 or not float(values.max()) > float(values.min()):
        return -np.inf
    histogram = _histogram(values, nbins, xp)
    if method == "otsu":
        return float(threshold_otsu(hist=histogram))
    return float(threshold_multiotsu(hist=histogram, classes=3)[0])


def _check_arguments(
    n_z: int, *, method, electrode_bands, sigma_px, edge_exclusion_px, nbins
) -> list[tuple[int, int]] | None:
    if method not in THRESHOLD_METHODS:
        raise ValueError(f"method must be one of {THRESHOLD_METHODS}, got {method!r}")
    if not (np.isfinite(sigma_px) and sigma_px >= 0):
        raise ValueError(f"sigma_px must be non-negative and finite, got {sigma_px}")
    if int(edge_exclusion_px) != edge_exclusion_px or edge_exclusion_px < 0:
        raise ValueError(f"edge_exclusion_px must be a non-negative integer, got {edge_exclusion_px}")
    if int(nbins) != nbins or nbins < 3:
        raise ValueError(f"nbins must be an integer of at least 3, got {nbins}")
    if electrode_bands is None:
        return None
    bands = [(int(start), int(stop)) for start, stop in electrode_bands]
    for start, stop in bands:
        if not 0 <= start < stop <= n_z:
            raise ValueError(f"electrode_bands: ({start}, {stop}) is not a row range within [0, {n_z}]")
    return bands
