"""Exact line integrals of the cell: sums of disc chords, on a sub-pixel grid.

A disc of radius ``a`` centred at ``(x0, y0)`` crosses the ray ``x cos(t) + y sin(t) = s``
along a chord ``2 sqrt(a^2 - (s - s0)^2)`` with ``s0 = x0 cos(t) + y0 sin(t)``; the
projection of a cross-section is the base disc's chord plus every small disc's chord times
its optical contrast.  Along z each sub-row integrates its slab of the cell (see
:mod:`porewatch.kernels.simulate.slabs`), so interfaces move the projections continuously;
along s the sub-pixel samples are points.  No voxel grid is involved (no inverse crime).
"""

import numpy as np

from porewatch.kernels.simulate.cell import CellState
from porewatch.kernels.simulate.detector import DetectorSpec
from porewatch.kernels.simulate.sections import Sections
from porewatch.kernels.simulate.slabs import SphereSlabs, slab_sections

#: Sub-rows and sub-columns per pixel: the grid of the exit wave and of Fresnel propagation.
#: Pixels average the intensity (or, in :func:`line_integrals`, the line integrals) over them.
SUPERSAMPLING = 2


def disc_chords(s_m: np.ndarray, *, radius_m: float, centre_s_m: float = 0.0) -> np.ndarray:
    """Chord lengths (m) of a disc along rays at detector coordinates ``s_m`` (m)."""
    offset = np.asarray(s_m, dtype=np.float64) - centre_s_m
    return 2.0 * np.sqrt(np.clip(radius_m**2 - offset**2, 0.0, None))


def project_sections(sections: Sections, *, angles_rad: np.ndarray, s_m: np.ndarray,
                     spheres: SphereSlabs | None = None) -> np.ndarray:
    """Line integrals of (mu, delta) through the cross-sections.

    Parameters
    ----------
    sections : Sections
        ``n_planes`` cross-sections (planes, or slab means from
        :func:`~porewatch.kernels.simulate.slabs.slab_sections`).
    angles_rad : (n_angles,) float64
        Projection angles, rad.
    s_m : (n_s,) float64
        Evenly spaced detector coordinates, m.
    spheres : SphereSlabs, optional
        Pore parts averaged over the same slabs, added to the projections.

    Returns
    -------
    (2, n_angles, n_planes, n_s) float64
        Projected attenuation (dimensionless, mu times length) and projected delta (m).
    """
    angles_rad = np.asarray(angles_rad, dtype=np.float64)
    n_planes, n_s = sections.base.shape[0], s_m.size
    base = sections.base.T[:, :, None] * disc_chords(s_m, radius_m=sections.cell_radius_m)
    out = np.broadcast_to(base[:, None], (2, angles_rad.size, n_planes, n_s)).copy()
    flat = out.reshape(2, -1)
    radii = sections.radii_m
    groups = [(sections.centres_m, radii, sections.plane, sections.contrast,
               lambda members, offset: 2.0 * np.sqrt(np.clip(radii[members, None, None] ** 2 - offset**2, 0.0, None)))]
    if spheres is not None:
        groups.append((spheres.centres_m, spheres.reach_m, spheres.plane, spheres.contrast, spheres.mean_chords))
    for centres, reach, plane, contrast, chords in groups:
        if reach.size == 0:
            continue
        for index, weight in _scattered_chords(centres, reach, plane, contrast, chords, n_planes=n_planes,
                                               angles_rad=angles_rad, s_m=s_m):
            for channel in range(2):
                flat[channel] += np.bincount(index, weight[:, channel], minlength=flat.shape[1])
    return out


def _scattered_chords(centres_m, reach_m, plane, contrast, chords, *, n_planes, angles_rad, s_m):
    """Yield (flat output index, (n, 2) weights) of small discs or sphere parts.

    ``chords(members, offset)`` gives the (slab-integrated) chord of parts ``members`` at
    distances ``offset`` (members, angles, window) from their axes, zero beyond ``reach_m``.
    Parts are grouped by the number of samples they can cover (rounded up to a power of
    two) so each group is computed as one dense (parts, angles, window) block.
    """
    step = s_m[1] - s_m[0] if s_m.size > 1 else 1.0
    window = np.floor(2 * reach_m / step).astype(np.int64) + 2
    group = np.ceil(np.log2(window)).astype(np.int64)
    cos, sin = np.cos(angles_rad), np.sin(angles_rad)
    angle_index = np.arange(angles_rad.size)[None, :, None]
    for level in np.unique(group):
        members = np.nonzero(group == level)[0]
        offsets = np.arange(2**level)[None, None, :]
        centre = (centres_m[members, :1] * cos + centres_m[members, 1:] * sin)
        radius = reach_m[members, None, None]
        first = np.ceil((centre[:, :, None] - radius - s_m[0]) / step).astype(np.int64)
        column = first + offsets
        chord = chords(members, s_m[0] + column * step - centre[:, :, None])
        chord[(column < 0) | (column >= s_m.size)] = 0.0
        np.clip(column, 0, s_m.size - 1, out=column)
        index = ((angle_index * n_planes + plane[members, None, None]) * s_m.size + column).ravel()
        weight = chord[..., None] * contrast[members][:, None, None, :]
        yield index, weight.reshape(-1, 2)


def bin_pixels(subsamples: np.ndarray) -> np.ndarray:
    """Average ``SUPERSAMPLING x SUPERSAMPLING`` blocks over the last two axes."""
    *lead, rows, cols = subsamples.shape
    blocks = subsamples.reshape(*lead, rows // SUPERSAMPLING, SUPERSAMPLING,
                                cols // SUPERSAMPLING, SUPERSAMPLING)
    return blocks.mean(axis=(-3, -1))


def line_integrals(state: CellState, detector: DetectorSpec) -> np.ndarray:
    """Noise-free attenuation line integrals of ``state``, for reconstruction tests.

    Returns (n_angles, n_rows, n_cols) float32: integral of (mu - mu_air) along each ray,
    averaged over the pixel (slab means in z, 2 samples in s), dimensionless; -log of an ideal absorption
    projection.  Reconstructing it gives mu - mu_air in 1/m.
    """
    angles = np.deg2rad(detector.angles_deg())
    sections, spheres = slab_sections(state, z_edges_m=detector.row_edges_m(SUPERSAMPLING))
    s_m = detector.column_s_m(SUPERSAMPLING)
    out = np.empty((angles.size, detector.n_rows, detector.n_cols), dtype=np.float32)
    for chunk in angle_chunks(detector):
        projected = project_sections(sections, angles_rad=angles[chunk], s_m=s_m, spheres=spheres)
        out[chunk] = bin_pixels(projected[0])
    return out


def angle_chunks(detector: DetectorSpec, *, samples_per_chunk: int = 2**21) -> list[slice]:
    """Slices of the angle axis holding about ``samples_per_chunk`` sub-pixel samples each."""
    per_angle = detector.n_rows * detector.n_cols * SUPERSAMPLING**2
    size = max(1, samples_per_chunk // per_angle)
    return [slice(start, min(start + size, detector.n_angles))
            for start in range(0, detector.n_angles, size)]
