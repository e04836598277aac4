"""Initial labels by edge-based segmentation (gradient + marker watershed), to be corrected by hand.

Dixit et al. (2020) made their training labels this way before correcting them manually.
Per z-slice:

1. The cell's disc (:func:`porewatch.kernels.quantify.cell.cell_footprint`) bounds
   everything; outside it is ``Phase.OUTSIDE``.
2. Three multi-Otsu levels of the smoothed cell give the material classes: low (Li and
   pores), steel, LLZO.
3. Markers are the calm voxels of each class (gradient magnitude below the
   ``marker_quantile`` of that class's voxels in the cell) with the class of their level,
   plus pore seeds: low voxels darker than the Li level (median of the low class) by
   ``pore_contrast`` robust standard deviations (MAD).
4. A watershed of the gradient magnitude from these markers fills the rest, so class
   boundaries follow the edges rather than a threshold.
5. Low regions connected to the first or last slice are the air beyond the stack: outside.
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_multiotsu
from skimage.segmentation import watershed

from porewatch.kernels.backend import check_array, to_numpy
from porewatch.kernels.labels import Phase
from porewatch.kernels.quantify.cell import cell_footprint


@dataclass(frozen=True)
class LabelInitSettings:
    """Parameters of :func:`initial_labels`.

    Attributes
    ----------
    sigma_px : float
        Gaussian sigma (pixels) of the in-slice smoothing and of the gradient magnitude.
    marker_quantile : float
        Voxels with a gradient below this quantile of their class's become markers.
    pore_contrast : float
        Pore seeds lie this many robust standard deviations below the Li level.
    """

    sigma_px: float = 1.0
    marker_quantile: float = 0.5
    pore_contrast: float = 2.5

    def __post_init__(self):
        if not self.sigma_px > 0:
            raise ValueError(f"sigma_px must be positive, got {self.sigma_px}")
        if not 0 < self.marker_quantile < 1:
            raise ValueError(f"marker_quantile must lie in (0, 1), got {self.marker_quantile}")
        if not self.pore_contrast > 0:
            raise ValueError(f"pore_contrast must be positive, got {self.pore_contrast}")


def initial_labels(mu, *, settings: LabelInitSettings = LabelInitSettings()) -> np.ndarray:
    """Edge-based initial labels of a reconstructed cell.

    Parameters
    ----------
    mu : (n_z, n_y, n_x) float array
        Attenuation, 1/m.
    settings : LabelInitSettings

    Returns
    -------
    (n_z, n_y, n_x) uint8 ndarray
        :class:`~porewatch.kernels.labels.Phase` labels (on the host).
    """
    check_array(mu, name="mu", ndim=3)
    mu = np.ascontiguousarray(to_numpy(mu), dtype=np.float32)
    disc = cell_footprint(mu).mask(mu.shape[1:])
    sigma = (0.0, settings.sigma_px, settings.sigma_px)
    smoothed = ndimage.gaussian_filter(mu, sigma)
    gradient = ndimage.gaussian_gradient_magnitude(mu, sigma)
    low_level, dense_level = threshold_multiotsu(smoothed[:, disc], classes=3)
    material = np.where(smoothed < low_level, Phase.LITHIUM, np.where(smoothed < dense_level, Phase.STEEL, Phase.LLZO))
    low_values = smoothed[:, disc][smoothed[:, disc] < low_level]
    lithium_level = float(np.median(low_values))
    spread = 1.4826 * float(np.median(np.abs(low_values - lithium_level)))
    calm = np.zeros(mu.shape, dtype=bool)
    for phase in (Phase.LITHIUM, Phase.STEEL, Phase.LLZO):
        members = (material == phase) & disc
        if members.any():
            calm |= members & (gradient < np.quantile(gradient[members], settings.marker_quantile))
    # watershed markers are class + 1 (0 means "no marker")
    markers = np.where(calm, material + 1, 0).astype(np.int32)
    pore_seeds = (material == Phase.LITHIUM) & (smoothed < lithium_level - settings.pore_contrast * spread)
    markers[pore_seeds] = Phase.PORE + 1
    markers[:, ~disc] = Phase.OUTSIDE + 1
    labels = np.empty(mu.shape, dtype=np.uint8)
    for k in range(mu.shape[0]):
        labels[k] = watershed(gradient[k], markers[k]) - 1
    low, _ = ndimage.label(np.isin(labels, (Phase.PORE, Phase.LITHIUM)))
    open_air = np.setdiff1d(np.union1d(low[0], low[-1]), [0])
    labels[np.isin(low, open_air)] = Phase.OUTSIDE
    return labels
