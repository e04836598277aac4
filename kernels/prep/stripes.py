"""Stripe (ring-artefact) removal on sinograms.

A detector column whose gain differs from the flat field adds an offset that is constant
along the angle axis of its sinogram: a stripe, which backprojects to a ring.  Both
methods act on the angle axis of every sinogram of a stack at once.

* Sorting (Vo et al., Opt. Express 26, 28396, 2018): sorting each column's values over
  angle turns the object's contribution into a smooth ramp shared by neighbouring
  columns, so a median across columns of the sorted sinogram removes the per-column
  offset; the values are then put back in their original angular order.
* Fourier-wavelet (Muench et al., Opt. Express 17, 8567, 2009): stripes live in the
  wavelet details across the detector at the lowest angular frequencies; those are
  damped by ``1 - exp(-k^2 / (2 sigma^2))`` along the angle axis.

Anything constant over angle looks like a stripe, and an axis-centred cylinder (the cell:
steel, Li and LLZO discs about the rotation axis) has an almost angle-independent
sinogram.  On the simulator's cell the sorting method with ``size=3`` halves the energy
of the defect-column rings, while wider medians and the Fourier-wavelet method (any
level) erode the cylinder edges and add more ring-like error than they remove; on
off-axis objects both methods remove 60-85 % of it (``tests/kernels/prep/test_stripes.py``).
"""

from porewatch.kernels.backend import backend_name, check_array, to_numpy


def _as_stack(sinograms, *, xp):
    """View a (n_angles, n_cols) sinogram as a (n_angles, 1, n_cols) stack."""
    data = sinograms.astype(xp.float32, copy=False)
    return data[:, None, :] if data.ndim == 2 else data


def remove_stripes_sorting(sinograms, *, size=5):
    """Remove stripes by a median across columns of the angle-sorted sinograms.

    Parameters
    ----------
    sinograms : (n_angles, n_cols) or (n_angles, n_rows, n_cols) float array
        Line integrals (or transmission); angle first, detector columns last (the
        projection-stack layout, so a stack is processed without transposing).
    size : int
        Odd median window across detector columns, pixels; wider than the widest stripe
        (clusters of bad columns) but well below object features.

    Returns
    -------
    corrected : float32 array shaped like ``sinograms``, C-contiguous.
    """
    xp = check_array(sinograms, name="sinograms", ndim=(2, 3))
    if size < 3 or size % 2 == 0:
        raise ValueError(f"size must be an odd integer >= 3, got {size}")
    if backend_name(xp) == "cupy":
        import cupyx.scipy.ndimage as ndimage
    else:
        import scipy.ndimage as ndimage
    stack = _as_stack(sinograms, xp=xp)
    order = xp.argsort(stack, axis=0)
    ranked = xp.take_along_axis(stack, order, axis=0)
    smoothed = ndimage.median_filter(ranked, size=(1, 1, size), mode="reflect")
    corrected = xp.take_along_axis(smoothed, xp.argsort(order, axis=0), axis=0)
    return xp.ascontiguousarray(corrected.reshape(sinograms.shape))


def remove_stripes_fourier_wavelet(sinograms, *, level=2, wavelet="db5", sigma=1.0):
    """Remove stripes by damping low angular frequencies of the column-detail wavelet bands.

    Uses PyWavelets on the host: CuPy input is copied to the host and the result back.

    Parameters
    ----------
    sinograms : (n_angles, n_cols) or (n_angles, n_rows, n_cols) float array
        Line integrals; angle first, detector columns last.
    level : int
        Number of wavelet decomposition levels (>= 1); stripes up to about ``2**level``
        columns wide are addressed.
    wavelet : str
        PyWavelets wavelet name, e.g. ``"db5"``.
    sigma : float
        Width of the Gaussian notch along the angle axis, in angular-frequency samples of
        each band (> 0); larger removes more slowly varying stripes but also more object.

    Returns
    -------
    corrected : float32 array shaped like ``sinograms``, C-contiguous.
    """
    xp = check_array(sinograms, name="sinograms", ndim=(2, 3))
    if not (isinstance(level, int) and level >= 1):
        raise ValueError(f"level must be an integer >= 1, got {level!r}")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    try:
        import pywt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("remove_stripes_fourier_wavelet needs PyWavelets (pip install PyWavelets)") from error
    import numpy as np

    stack = _as_stack(to_numpy(sinograms), xp=np).astype(np.float64)
    coefficients = pywt.wavedec2(stack, wavelet, level=level, axes=(0, 2), mode="symmetric")
    for index in range(1, len(coefficients)):
        across_rows, across_columns, diagonal = coefficients[index]
        n_freq = across_columns.shape[0]
        k = np.fft.fftfreq(n_freq, d=1.0 / n_freq)[:, None, None]
        notch = 1.0 - np.exp(-(k**2) / (2.0 * sigma**2))
        damped = np.fft.ifft(np.fft.fft(across_columns, axis=0) * notch, axis=0).real
        coefficients[index] = (across_rows, damped, diagonal)
    restored = pywt.waverec2(coefficients, wavelet, axes=(0, 2), mode="symmetric")
    restored = restored[: stack.shape[0], :, : stack.shape[2]].reshape(sinograms.shape)
    return xp.ascontiguousarray(xp.asarray(restored, dtype=xp.float32))
