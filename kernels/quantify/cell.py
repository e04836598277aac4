"""Transverse footprint of the cylindrical cell: the disc its high-attenuation layers cover."""

from dataclasses import dataclass
from types import ModuleType

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu

from porewatch.kernels.backend import check_array, to_numpy


@dataclass(frozen=True)
class CellFootprint:
    """Disc occupied by the cell in the (y, x) plane of a volume.

    Attributes
    ----------
    centre_y_px, centre_x_px : float
        Disc centre as (fractional) array indices ``(i, j)``.
    radius_px : float
        Radius of the disc of equal area, pixels.
    """

    centre_y_px: float
    centre_x_px: float
    radius_px: float

    def mask(self, shape: tuple[int, int], *, margin_px: float = 0.0, xp: ModuleType = np):
        """Boolean ``(n_y, n_x)`` mask of the pixels within ``radius_px - margin_px`` of the centre."""
        i = xp.arange(shape[0], dtype=xp.float32)[:, None] - self.centre_y_px
        j = xp.arange(shape[1], dtype=xp.float32)[None, :] - self.centre_x_px
        radius = self.radius_px - margin_px
        if radius <= 0:
            return xp.zeros(shape, dtype=bool)
        return i * i + j * j <= radius * radius


def cell_footprint(mu) -> CellFootprint:
    """Find the cell's disc from the z-averaged attenuation.

    The mean of ``mu`` along z is high inside the cell (steel and LLZO) and near zero in
    the surrounding air; Otsu's threshold separates the two, the largest connected
    region is kept, and it is summarised by its centroid and equal-area radius.

    Parameters
    ----------
    mu : (n_z, n_y, n_x) float array
        Reconstructed linear attenuation coefficient, 1/m.

    Returns
    -------
    CellFootprint

    Raises
    ------
    ValueError
        ``mu`` is not 3-D, or no cell stands out from the background.
    """
    xp = check_array(mu, name="mu", ndim=3)
    column_mean = to_numpy(mu.mean(axis=0, dtype=xp.float32))
    if not np.ptp(column_mean) > 0:
        raise ValueError("mu: the z-averaged attenuation is uniform, no cell footprint to find")
    inside = column_mean > threshold_otsu(column_mean)
    regions, n_regions = ndimage.label(inside)
    sizes = np.bincount(regions.ravel(), minlength=n_regions + 1)
    sizes[0] = 0
    largest = regions == int(np.argmax(sizes))
    area = int(largest.sum())
    centre_y, centre_x = ndimage.center_of_mass(largest)
    return CellFootprint(float(centre_y), float(centre_x), float(np.sqrt(area / np.pi)))
