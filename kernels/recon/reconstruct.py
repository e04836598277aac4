"""Slice reconstruction entry points: whole stacks, and the streaming split into per-frame
filtering and completion.

``reconstruct(p)`` equals ``reconstruct_prefiltered(stack of prefilter_projection(frame))``:
both filter detector rows with the same function and hand slabs to the same completion.
FBP keeps filtered rows; gridrec keeps their filtered half spectra, so its per-frame part
holds all the FFTs of the projections.
Both backends (NumPy, CuPy) follow from the input array.
"""

import numpy as np

from porewatch.kernels.backend import backend_name, check_array, get_array_module
from porewatch.kernels.recon import fbp, gridrec
from porewatch.kernels.recon.chunking import rows_per_slab, slab_bytes_per_row, slabs
from porewatch.kernels.recon.filters import FILTER_NAMES, filter_rows, filtered_spectra, padded_length
from porewatch.kernels.recon.geometry import angular_weights, check_angles, default_center

METHODS = ("gridrec", "fbp")
#: Default working-memory budget of one reconstruction call, bytes.
DEFAULT_MEMORY_BUDGET_BYTES = 2 * 1024**3


def _check_options(*, method: str, filter_name: str, pixel_size_m: float) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if filter_name not in FILTER_NAMES:
        raise ValueError(f"filter_name must be one of {FILTER_NAMES}, got {filter_name!r}")
    if not pixel_size_m > 0:
        raise ValueError(f"pixel_size_m must be positive, got {pixel_size_m}")


def prefiltered_layout(*, method: str, n_rows: int, n_cols: int):
    """Shape and dtype of one frame from :func:`prefilter_projection`, to preallocate a stack.

    Returns ``((n_rows, n_cols), "float32")`` for FBP (filtered rows) and
    ``((n_rows, padded_length(n_cols) // 2 + 1), "complex64")`` for gridrec (filtered half
    spectra of the zero-padded rows).
    """
    _check_options(method=method, filter_name="ramp", pixel_size_m=1.0)
    if method == "fbp":
        return (n_rows, n_cols), "float32"
    return (n_rows, padded_length(n_cols) // 2 + 1), "complex64"


def _prefilter(rows, *, method, filter_name, workers):
    if method == "fbp":
        return filter_rows(rows, filter_name=filter_name, workers=workers)
    return filtered_spectra(rows, filter_name=filter_name, workers=workers)


def prefilter_projection(frame, *, method="gridrec", filter_name="ramp", workers=2, out=None):
    """Per-frame part of a reconstruction: filter the rows of one projection.

    Independent of the centre of rotation and of the other frames, so it is done as each
    frame arrives; :func:`reconstruct_prefiltered` completes the volume.

    Parameters
    ----------
    frame : (n_rows, n_cols) float array, NumPy or CuPy
        Line integrals of one projection (dimensionless), e.g. from ``minus_log``.
    method : {"gridrec", "fbp"}
    filter_name : {"ramp", "shepp-logan", "hann", "parzen"}
    workers : int
        FFT threads (NumPy backend).
    out : array of :func:`prefiltered_layout`, optional
        Destination, e.g. one frame of a preallocated stack.

    Returns
    -------
    prefiltered : see :func:`prefiltered_layout` (float32 rows for FBP, complex64 half
        spectra for gridrec).
    """
    xp = check_array(frame, name="frame", ndim=2)
    _check_options(method=method, filter_name=filter_name, pixel_size_m=1.0)
    result = _prefilter(frame, method=method, filter_name=filter_name, workers=workers)
    if out is None:
        return result
    if out.shape != result.shape or out.dtype != result.dtype:
        raise ValueError(f"out must be a {result.dtype} array of shape {result.shape}")
    xp.copyto(out, result)
    return out


def _complete_slab(prefiltered, *, method, n_cols, angles, weights, center_px, workers):
    if method == "fbp":
        return fbp.backproject(prefiltered, angles_rad=angles, center_px=center_px, angle_weights=weights)
    return gridrec.backproject_gridrec(prefiltered, n_cols=n_cols, angles_rad=angles, center_px=center_px,
                                       angle_weights=weights, workers=workers)


def _run(stack, *, prefilter, n_cols, angles_rad, center_px, method, filter_name, pixel_size_m,
         memory_budget_bytes, workers):
    _check_options(method=method, filter_name=filter_name, pixel_size_m=pixel_size_m)
    n_angles, n_rows = stack.shape[:2]
    xp = get_array_module(stack)
    angles = check_angles(angles_rad, n_angles=n_angles)
    center = default_center(n_cols) if center_px is None else float(center_px)
    weights = angular_weights(angles)
    cached_matrix = method == "gridrec" and backend_name(xp) == "numpy"
    fixed = gridrec.gridding_matrix_bytes(n_angles=n_angles, n_cols=n_cols) if cached_matrix else 0
    per_row = slab_bytes_per_row(method=method, n_angles=n_angles, n_cols=n_cols)
    rows = rows_per_slab(n_rows=n_rows, bytes_per_row=per_row, fixed_bytes=fixed,
                         memory_budget_bytes=memory_budget_bytes)
    volume = xp.empty((n_rows, n_cols, n_cols), dtype=xp.float32)
    for slab in slabs(n_rows, rows):
        part = stack[:, slab]
        if prefilter:
            part = _prefilter(part, method=method, filter_name=filter_name, workers=workers)
        volume[slab] = _complete_slab(part, method=method, n_cols=n_cols, angles=angles, weights=weights,
                                      center_px=center, workers=workers)
    volume *= np.float32(1.0 / pixel_size_m)
    return volume


def reconstruct(line_integrals, *, angles_rad, center_px=None, method="gridrec", filter_name="ramp",
                pixel_size_m=1.0, memory_budget_bytes=DEFAULT_MEMORY_BUDGET_BYTES, workers=2):
    """Reconstruct every detector row of a parallel-beam projection stack.

    Parameters
    ----------
    line_integrals : (n_angles, n_rows, n_cols) float32, NumPy or CuPy
        ``-log`` of the normalised transmission (dimensionless).
    angles_rad : (n_angles,) float, radians
        Projection angles; any sampling (half or full turn) is weighted to integrate over pi.
    center_px : float or None
        Detector column of the rotation axis, sub-pixel; ``None`` means (n_cols - 1) / 2.
    method : {"gridrec", "fbp"}
        Fourier gridding (fast) or voxel-driven backprojection with linear interpolation.
    filter_name : {"ramp", "shepp-logan", "hann", "parzen"}
        Gridrec interpolates exactly where FBP interpolates linearly (a mild low-pass), so
        gridrec with "shepp-logan" matches the accuracy of FBP with "ramp" (see
        ``tools/bench_recon.py``); gridrec with "ramp" is sharper and rings more.
    pixel_size_m : float
        Detector pixel size at the sample, m; the result is divided by it.
    memory_budget_bytes : int
        Bound on the working memory of the call (input and output volumes not counted);
        rows are reconstructed in slabs that fit it.
    workers : int
        CPU threads for FFTs (NumPy backend).

    Returns
    -------
    volume : (n_rows, n_cols, n_cols) float32, C-contiguous, 1/m
        Voxel ``(k, i, j)`` at ``z = k p``, ``y = (i - (n_cols - 1)/2) p``,
        ``x = (j - (n_cols - 1)/2) p``; zero outside the reconstruction circle.
    """
    check_array(line_integrals, name="line_integrals", ndim=3)
    return _run(line_integrals, prefilter=True, n_cols=line_integrals.shape[2], angles_rad=angles_rad,
                center_px=center_px, method=method, filter_name=filter_name, pixel_size_m=pixel_size_m,
                memory_budget_bytes=memory_budget_bytes, workers=workers)


def reconstruct_prefiltered(prefiltered, *, n_cols, angles_rad, center_px=None, method="gridrec", pixel_size_m=1.0,
                            memory_budget_bytes=DEFAULT_MEMORY_BUDGET_BYTES, workers=2):
    """Completion part of a streamed reconstruction, from frames of :func:`prefilter_projection`.

    Parameters
    ----------
    prefiltered : (n_angles, *prefiltered_layout(...)[0]), NumPy or CuPy
        Stack of :func:`prefilter_projection` frames, in the order of ``angles_rad``,
        made with the same ``method``.
    n_cols : int
        Detector columns of the original frames.
    angles_rad, center_px, method, pixel_size_m, memory_budget_bytes, workers
        As in :func:`reconstruct` (the filter was chosen at prefiltering).

    Returns
    -------
    volume : (n_rows, n_cols, n_cols) float32, 1/m, as :func:`reconstruct`.
    """
    expected, dtype = prefiltered_layout(method=method, n_rows=1, n_cols=n_cols)
    if not hasattr(prefiltered, "ndim") or prefiltered.ndim != 3 or prefiltered.shape[2] != expected[1]:
        raise ValueError(f"prefiltered must have shape (n_angles, n_rows, {expected[1]}) for method={method!r}, "
                         f"n_cols={n_cols}, got {getattr(prefiltered, 'shape', None)}")
    if prefiltered.dtype != dtype:
        raise TypeError(f"prefiltered must be {dtype} for method={method!r}, got {prefiltered.dtype}")
    return _run(prefiltered, prefilter=False, n_cols=n_cols, angles_rad=angles_rad, center_px=center_px,
                method=method, filter_name="ramp", pixel_size_m=pixel_size_m,
                memory_budget_bytes=memory_budget_bytes, workers=workers)
