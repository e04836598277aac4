"""The LLZO pellet beneath a point of an electrode: porosity and tortuosity (geometric and diffusive) of a column.

Hot spots of current density are places where Li crosses the Li|LLZO interface unusually fast;
what lies beneath them in the pellet (pores, a winding solid path) is what the control room
looks at next. The column is a cylinder along z of radius ``radius_m`` centred on ``(x, y)``,
spanning the pellet rows that lie strictly between the two Li|LLZO interfaces in every one of
its columns.
"""

import math
from dataclasses import dataclass

import numpy as np
from skimage.graph import MCP_Geometric

from porewatch.kernels.backend import check_array, to_numpy
from porewatch.kernels.labels import Phase
from porewatch.kernels.quantify.electrodes import ElectrodeInterfaces
from porewatch.kernels.quantify.tortuosity import tortuosity_factor


@dataclass(frozen=True)
class PelletColumn:
    """Porosity and tortuosity of the LLZO column beneath a point.

    Attributes
    ----------
    porosity : float
        ``(pores + Li) / (pores + Li + LLZO)`` voxels of the column; NaN when it is empty.
    tortuosity : float
        Geometric tortuosity of the solid LLZO: mean shortest path through LLZO voxels
        (26-connected, Euclidean steps) from the column's upper face to each LLZO voxel
        of its lower face, divided by the straight distance between the faces. 1 for a
        dense column, larger when pores force detours, ``inf`` when no solid path crosses,
        NaN when the column is thinner than two rows.
    thickness_m : float
        Height of the column (rows x pixel size), m.
    tortuosity_factor : float
        Diffusive tortuosity factor of the column's LLZO along z
        (:func:`~porewatch.kernels.quantify.tortuosity.tortuosity_factor`, no flux through the
        cylinder's wall): 1 for a dense column, ``inf`` without a solid path, NaN when the
        column is thinner than two rows.
    """

    porosity: float
    tortuosity: float
    thickness_m: float
    tortuosity_factor: float = math.nan


def pellet_column(labels, *, top: ElectrodeInterfaces, bottom: ElectrodeInterfaces, x_m: float, y_m: float,
                  radius_m: float, pixel_size_m: float) -> PelletColumn:
    """Porosity and geometric tortuosity of the pellet column beneath ``(x_m, y_m)``.

    Parameters
    ----------
    labels : (n_z, n_y, n_x) uint8 array
        Phase labels (:class:`porewatch.kernels.labels.Phase`), NumPy or CuPy.
    top, bottom : ElectrodeInterfaces
        Interface maps ``(n_y, n_x)``, m; the pellet lies between their ``electrolyte_z_m``.
    x_m, y_m : float
        Centre of the column in the sample frame, m (origin on the rotation axis).
    radius_m : float
        Radius of the column, m; at least half a pixel.
    pixel_size_m : float
        Voxel size, m.

    Returns
    -------
    PelletColumn

    Raises
    ------
    ValueError
        If an argument is out of range or the centre lies outside the volume.
    """
    check_array(labels, name="labels", ndim=3)
    if not (math.isfinite(pixel_size_m) and pixel_size_m > 0):
        raise ValueError(f"pixel_size_m must be positive and finite, got {pixel_size_m}")
    if not (math.isfinite(radius_m) and radius_m >= pixel_size_m / 2):
        raise ValueError(f"radius_m must be at least half a pixel ({pixel_size_m / 2} m), got {radius_m}")
    n_z, n_y, n_x = labels.shape
    centre_i, centre_j = y_m / pixel_size_m + (n_y - 1) / 2, x_m / pixel_size_m + (n_x - 1) / 2
    if not (0 <= centre_i <= n_y - 1 and 0 <= centre_j <= n_x - 1):
        raise ValueError(f"(x_m, y_m) = ({x_m}, {y_m}) lies outside the {n_y} x {n_x} volume")
    rows_i, cols_j = np.ogrid[:n_y, :n_x]
    disc = (rows_i - centre_i) ** 2 + (cols_j - centre_j) ** 2 <= (radius_m / pixel_size_m) ** 2
    upper = to_numpy(top.electrolyte_z_m)[disc]
    lower = to_numpy(bottom.electrolyte_z_m)[disc]
    known = np.isfinite(upper) & np.isfinite(lower)
    if not known.any():
        return PelletColumn(math.nan, math.nan, 0.0)
    start = max(math.floor(float(upper[known].max()) / pixel_size_m) + 1, 0)
    stop = min(math.ceil(float(lower[known].min()) / pixel_size_m), n_z)
    if stop <= start:
        return PelletColumn(math.nan, math.nan, 0.0)
    i0, i1 = np.nonzero(disc.any(axis=1))[0][[0, -1]]
    j0, j1 = np.nonzero(disc.any(axis=0))[0][[0, -1]]
    block = to_numpy(labels[start:stop, i0:i1 + 1, j0:j1 + 1])
    inside = np.broadcast_to(disc[i0:i1 + 1, j0:j1 + 1], block.shape)
    solid = inside & (block == Phase.LLZO)
    transparent = int((inside & ((block == Phase.PORE) | (block == Phase.LITHIUM))).sum())
    counted = transparent + int(solid.sum())
    porosity = transparent / counted if counted else math.nan
    factor = tortuosity_factor(solid, axis=0).tau if solid.shape[0] >= 2 else math.nan
    return PelletColumn(porosity, _solid_tortuosity(solid), (stop - start) * pixel_size_m, factor)


def _solid_tortuosity(solid: np.ndarray) -> float:
    """Mean shortest LLZO path from face 0 to each solid voxel of the last face, over the straight distance."""
    n_rows = solid.shape[0]
    if n_rows < 2:
        return math.nan
    starts = np.argwhere(solid[0])
    ends = np.argwhere(solid[-1])
    if len(starts) == 0 or len(ends) == 0:
        return math.inf
    costs = np.where(solid, 1.0, np.inf)
    cumulative, _ = MCP_Geometric(costs, fully_connected=True).find_costs(
        [(0, int(i), int(j)) for i, j in starts])
    lengths = cumulative[-1][solid[-1]]
    reachable = np.isfinite(lengths)
    if not reachable.any():
        return math.inf
    return float(lengths[reachable].mean() / (n_rows - 1))
