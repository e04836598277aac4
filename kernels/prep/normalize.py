"""Dark/flat-field normalisation and the negative logarithm (transmission -> line integrals)."""

from porewatch.kernels.backend import check_array

#: Default floor on transmission before the logarithm: -log(1e-6) = 13.8 bounds line integrals.
DEFAULT_MIN_TRANSMISSION = 1e-6


def _averaged(frames, *, name: str, xp):
    """Mean over the first axis of a (n, rows, cols) stack; a (rows, cols) frame is used as is."""
    check_array(frames, name=name, ndim=(2, 3))
    if frames.ndim == 3:
        return frames.mean(axis=0, dtype=xp.float32)
    return frames.astype(xp.float32, copy=False)


def normalize(projections, flats, darks, *, out=None):
    """Flat-field correct projections: ``(projection - dark) / (flat - dark)``.

    Flats and darks are averaged over their first axis.  Detector pixels whose averaged
    ``flat - dark`` is zero or negative carry no information and are given transmission 1
    (zero attenuation) instead of a division by zero; negative ``projection - dark``
    (noise under a dark frame) is clipped to 0, which :func:`minus_log` then floors.

    Parameters
    ----------
    projections : (n_angles, n_rows, n_cols) or (n_rows, n_cols) array, any real dtype
        Raw detector counts; a single frame is accepted for per-frame (streaming) use.
    flats : (n_flats, n_rows, n_cols) or (n_rows, n_cols) array
        Open-beam frames, or their average.  Pass the averaged frame when normalising
        frame by frame, so the average is not recomputed each time.
    darks : (n_darks, n_rows, n_cols) or (n_rows, n_cols) array
        Beam-off frames, or their average.
    out : float32 array shaped like ``projections``, optional
        Buffer for the result (may be ``projections`` itself when that is float32).

    Returns
    -------
    transmission : float32 array shaped like ``projections``, C-contiguous, >= 0.
    """
    xp = check_array(projections, name="projections", ndim=(2, 3))
    dark = _averaged(darks, name="darks", xp=xp)
    flat = _averaged(flats, name="flats", xp=xp)
    frame_shape = projections.shape[-2:]
    for name, ref in (("flats", flat), ("darks", dark)):
        if ref.shape != frame_shape:
            raise ValueError(f"{name} frames have shape {ref.shape}, projections frames {frame_shape}")
    if out is None:
        out = xp.empty(projections.shape, dtype=xp.float32)
    elif out.shape != projections.shape or out.dtype != xp.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float32 array of shape {projections.shape}")
    span = flat - dark
    dead = span <= 0
    inverse_span = 1.0 / xp.where(dead, xp.float32(1), span)
    xp.subtract(projections, dark, out=out, casting="unsafe")
    xp.maximum(out, 0, out=out)
    out *= inverse_span
    xp.copyto(out, xp.float32(1), where=dead)
    return out


def minus_log(transmission, *, min_transmission=DEFAULT_MIN_TRANSMISSION, out=None):
    """Line integrals ``-log(transmission)`` with the transmission floored at ``min_transmission``.

    Parameters
    ----------
    transmission : float array, any shape
        Normalised transmission (dimensionless), e.g. from :func:`normalize`.
    min_transmission : float
        Positive floor applied before the logarithm, so zero or negative transmission
        (dead pixels, noise) gives ``-log(min_transmission)`` instead of inf/nan.
    out : float32 array shaped like ``transmission``, optional
        Buffer for the result (may be ``transmission`` itself when that is float32).

    Returns
    -------
    line_integrals : float32 array shaped like ``transmission`` (dimensionless, mu * path).
    """
    xp = check_array(transmission, name="transmission")
    if not 0 < min_transmission < 1:
        raise ValueError(f"min_transmission must be in (0, 1), got {min_transmission}")
    if out is None:
        out = xp.empty(transmission.shape, dtype=xp.float32)
    elif out.shape != transmission.shape or out.dtype != xp.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float32 array of shape {transmission.shape}")
    xp.maximum(transmission, xp.float32(min_transmission), out=out, casting="unsafe")
    xp.log(out, out=out)
    xp.negative(out, out=out)
    return out
