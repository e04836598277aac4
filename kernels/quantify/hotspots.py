"""Hot and cold spots: connected regions where the current density departs from its area mean.

A column departs when ``|j - mean(j)| > threshold * scale``, where ``scale`` is

* ``mode="std"``: a robust standard deviation of the map, ``1.4826 * MAD`` (median
  absolute deviation from the median).  The noise of ``j`` is that of the thickness
  difference and is near-Gaussian; the MAD ignores the spots themselves, which would
  inflate a plain standard deviation and hide them;
* ``mode="mean_multiple"``: ``|mean(j)|``, i.e. a spot carries more than
  ``(1 + threshold)`` or less than ``(1 - threshold)`` times the mean current.

Hot (above) and cold (below) columns are grouped separately into 8-connected regions
(``scipy.ndimage.label``).  A region is kept when it is large enough, both in m^2
(``min_area_m2``, the physical size of a spot worth reporting) and in pixels
(``min_area_px``: noise specks of a map smoothed over a pixel or two cover a few pixels
whatever the pixel size), and compact enough: ``compactness = N / (2 pi (<r^2> + 1/6))``
(``N`` pixels at squared distances ``r^2`` from their centroid, in pixels; 1 for a disc,
1/6 being a pixel's own second moment) at least ``min_compactness``.  A hot spot's
thickness change is a compact bump (discs score 0.9-1, noisy ones 0.7-0.9);
reconstruction artefacts that survive in thickness differences are rings about the
rotation axis and streaks between dense features, whose above-threshold parts are arcs
and lines (scores of 0.1-0.4).  Finally a region must peak at ``peak_factor`` times the
threshold (hysteresis: grown from a strong seed): on simulated cells at 7.5-18.75 um
pixels seeded hot spots peak at 8.5-58 robust standard deviations and compact artefact
blobs at 5-11, so the default (2 x 4 = 8) keeps every seeded spot and at most one artefact
per map.  Spots are numbered from 1 by decreasing area.  Positions are in the sample frame: origin on the
rotation axis, ``x = (j - (n_x - 1) / 2) p``, ``y = (i - (n_y - 1) / 2) p``.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from porewatch.kernels.backend import check_array, to_numpy
from porewatch.kernels.quantify.electrodes import ELECTRODES

#: Ways of setting the departure scale, see the module docstring.
HOTSPOT_MODES = ("std", "mean_multiple")

#: Standard deviation of a Gaussian over its median absolute deviation.
_MAD_TO_STD = 1.4826


@dataclass(frozen=True)
class Hotspot:
    """One connected region of departing current density.

    Attributes
    ----------
    id : int
        1-based rank by decreasing area within its electrode.
    electrode : str
    x_m, y_m : float
        Centroid in the sample frame, m.
    area_m2 : float
    extent_m : float
        Bounding radius: the largest distance from the centroid to a pixel centre of the
        region, plus half a pixel.
    compactness : float
        ``N / (2 pi (<r^2> + 1/6))`` in pixels: ~1 for a disc, small for arcs and lines.
    peak_j_A_m2 : float
        Current density of the region's pixel farthest from the mean, A/m^2.
    """

    id: int
    electrode: str
    x_m: float
    y_m: float
    area_m2: float
    extent_m: float
    peak_j_A_m2: float
    compactness: float


def departure_scale(j_map, *, mode: str = "std") -> float:
    """Scale of departures from the mean of a current density map (see the module docstring).

    Parameters
    ----------
    j_map : (n_y, n_x) float array
        Current density, A/m^2, NaN where unknown.
    mode : {"std", "mean_multiple"}

    Returns
    -------
    float
        A/m^2; NaN when the map has no known entry.
    """
    if mode not in HOTSPOT_MODES:
        raise ValueError(f"mode must be one of {HOTSPOT_MODES}, got {mode!r}")
    check_array(j_map, name="j_map", ndim=2)
    known = to_numpy(j_map)
    known = known[np.isfinite(known)].astype(np.float64)
    if known.size == 0:
        return math.nan
    if mode == "mean_multiple":
        return float(abs(known.mean()))
    return float(_MAD_TO_STD * np.median(np.abs(known - np.median(known))))


def find_hotspots(
    j_map,
    *,
    pixel_size_m: float,
    electrode: str,
    threshold: float = 4.0,
    mode: str = "std",
    min_area_m2: float = 2.5e-9,
    min_area_px: int = 16,
    min_compactness: float = 0.5,
    peak_factor: float = 2.0,
) -> list[Hotspot]:
    """Connected regions of a current density map departing from its area mean.

    Parameters
    ----------
    j_map : (n_y, n_x) float array
        Current density, A/m^2, NaN outside the analysed area.
    pixel_size_m : float
        Pixel size of the map, m.
    electrode : {"top", "bottom"}
    threshold : float
        Departure threshold in units of the scale set by ``mode``.
    mode : {"std", "mean_multiple"}
    min_area_m2 : float
        Smallest region kept, m^2.
    min_area_px : int
        Smallest region kept, pixels.  Noise blobs of a j map at 4 robust standard
        deviations cover a few pixels (none of 16 pixels or more in 5 maps of 512^2 with
        1-2 px correlation, measured).
    min_compactness : float
        Smallest compactness kept (see the module docstring).
    peak_factor : float
        A region's largest departure must reach ``peak_factor * threshold * scale`` (>= 1).

    Returns
    -------
    list of Hotspot
        Ordered by decreasing area.
    """
    _check_arguments(electrode=electrode, pixel_size_m=pixel_size_m, threshold=threshold, min_area_m2=min_area_m2,
                     min_area_px=min_area_px, min_compactness=min_compactness, peak_factor=peak_factor)
    scale = departure_scale(j_map, mode=mode)
    j = to_numpy(j_map).astype(np.float64)
    if not scale > 0:
        return []
    departure = j - np.nanmean(j)
    with np.errstate(invalid="ignore"):
        masks = (departure > threshold * scale, departure < -threshold * scale)
    regions = [region for mask in masks for region in _regions(mask, j, departure, pixel_size_m)]
    smallest = max(min_area_m2, min_area_px * pixel_size_m**2 * (1 - 1e-9))
    mean = np.nanmean(j)
    regions = [region for region in regions
               if region["area_m2"] >= smallest and region["compactness"] >= min_compactness
               and abs(region["peak_j_A_m2"] - mean) >= peak_factor * threshold * scale]
    regions.sort(key=lambda region: region["area_m2"], reverse=True)
    return [Hotspot(id=rank, electrode=electrode, **region) for rank, region in enumerate(regions, start=1)]


def _check_arguments(*, electrode, pixel_size_m, threshold, min_area_m2, min_area_px, min_compactness,
                     peak_factor) -> None:
    if electrode not in ELECTRODES:
        raise ValueError(f"electrode must be one of {ELECTRODES}, got {electrode!r}")
    for name, value in (("pixel_size_m", pixel_size_m), ("threshold", threshold)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be positive and finite, got {value}")
    if not (math.isfinite(min_area_m2) and min_area_m2 >= 0):
        raise ValueError(f"min_area_m2 must be non-negative and finite, got {min_area_m2}")
    if not (isinstance(min_area_px, int) and min_area_px >= 1):
        raise ValueError(f"min_area_px must be an int >= 1, got {min_area_px!r}")
    if not 0 <= min_compactness <= 1:
        raise ValueError(f"min_compactness must lie in [0, 1], got {min_compactness!r}")
    if not (math.isfinite(peak_factor) and peak_factor >= 1):
        raise ValueError(f"peak_factor must be >= 1, got {peak_factor!r}")


def _regions(mask: np.ndarray, j: np.ndarray, departure: np.ndarray, pixel_size_m: float) -> list[dict]:
    """Geometry and peak of each 8-connected region of ``mask``."""
    labelled, _ = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    n_y, n_x = mask.shape
    found = []
    for index, window in enumerate(ndimage.find_objects(labelled), start=1):
        members = labelled[window] == index
        i, j_idx = np.nonzero(members)
        i, j_idx = i + window[0].start, j_idx + window[1].start
        centre_i, centre_j = i.mean(), j_idx.mean()
        peak = np.argmax(np.abs(departure[i, j_idx]))
        extent_px = np.hypot(i - centre_i, j_idx - centre_j).max() + 0.5
        found.append(
            dict(
                x_m=float((centre_j - (n_x - 1) / 2) * pixel_size_m),
                y_m=float((centre_i - (n_y - 1) / 2) * pixel_size_m),
                area_m2=float(i.size * pixel_size_m**2),
                extent_m=float(extent_px * pixel_size_m),
                peak_j_A_m2=float(j[i[peak], j_idx[peak]]),
                compactness=float(i.size / (2 * math.pi * (np.mean((i - centre_i) ** 2 + (j_idx - centre_j) ** 2) + 1 / 6))),
            )
        )
    return found
