"""Zinger removal: isolated bright outliers (direct hits of scattered X-rays on the sensor)."""

from porewatch.kernels.backend import backend_name, check_array


def _median_filter(xp):
    if backend_name(xp) == "cupy":
        import cupyx.scipy.ndimage

        return cupyx.scipy.ndimage.median_filter
    import scipy.ndimage

    return scipy.ndimage.median_filter


def remove_zingers(frames, *, threshold, size=3, out=None):
    """Replace pixels exceeding their local median by more than ``threshold`` with that median.

    Each frame is filtered on its own (a ``size x size`` median within the frame), so the
    function serves a single projection as it arrives and a whole stack alike.  Only
    positive outliers are replaced: zingers add charge, they never remove it.

    Parameters
    ----------
    frames : (n_rows, n_cols) or (n_frames, n_rows, n_cols) float or integer array
        Raw counts, or normalised transmission.
    threshold : float
        Excess over the local median above which a pixel is a zinger, in the units of
        ``frames`` (counts for raw frames; a fraction for transmission, e.g. 0.1).
    size : int
        Odd side of the median window, pixels (>= 3).
    out : float32 array shaped like ``frames``, optional

    Returns
    -------
    cleaned : float32 array shaped like ``frames``, C-contiguous.
    """
    xp = check_array(frames, name="frames", ndim=(2, 3))
    if not threshold > 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    if size < 3 or size % 2 == 0:
        raise ValueError(f"size must be an odd integer >= 3, got {size}")
    data = frames.astype(xp.float32, copy=False)
    window = (size, size) if frames.ndim == 2 else (1, size, size)
    median = _median_filter(xp)(data, size=window, mode="reflect")
    if out is None:
        out = xp.empty(frames.shape, dtype=xp.float32)
    elif out.shape != frames.shape or out.dtype != xp.float32:
        raise ValueError(f"out must be a float32 array of shape {frames.shape}")
    xp.copyto(out, data)
    xp.copyto(out, median, where=(data - median) > threshold)
    return out
