"""Reconstruction filters: the band-limited ramp times an apodisation window.

The ramp is the Fourier transform of the sampled band-limited ramp kernel
(h[0] = 1/4, h[odd m] = -1/(pi m)^2, h[even m] = 0, detector pitch 1), not |f| sampled in
frequency: sampling |f| gives a zero DC term and a constant offset in the reconstruction.
"""

import numpy as np

from porewatch.kernels.backend import check_array, fft_kwargs, fft_module

FILTER_NAMES = ("ramp", "shepp-logan", "hann", "parzen")


def padded_length(n_cols: int) -> int:
    """FFT length for filtering rows of ``n_cols`` detector pixels: the next power of two
    at or above ``2 * n_cols``, so the linear convolution with the ramp does not wrap."""
    if n_cols < 1:
        raise ValueError(f"n_cols must be positive, got {n_cols}")
    return 1 << int(np.ceil(np.log2(2 * n_cols)))


def _window(name: str, freq: np.ndarray) -> np.ndarray:
    """Apodisation window at frequencies ``freq`` (cycles per pixel, |freq| <= 1/2)."""
    r = np.abs(freq) / 0.5  # 0 at DC, 1 at Nyquist
    if name == "ramp":
        return np.ones_like(r)
    if name == "shepp-logan":
        return np.sinc(freq)
    if name == "hann":
        return 0.5 * (1.0 + np.cos(np.pi * r))
    if name == "parzen":
        inner = 1.0 - 6.0 * r**2 + 6.0 * r**3
        outer = 2.0 * (1.0 - r) ** 3
        return np.where(r <= 0.5, inner, outer)
    raise ValueError(f"filter_name must be one of {FILTER_NAMES}, got {name!r}")


def ramp_filter(length: int, *, filter_name: str = "ramp") -> np.ndarray:
    """Frequency response of the windowed ramp filter, in FFT order.

    Parameters
    ----------
    length : int
        FFT length (see :func:`padded_length`).
    filter_name : {"ramp", "shepp-logan", "hann", "parzen"}
        Window multiplying the ramp: none, sinc(f), raised cosine reaching zero at the
        Nyquist frequency, or the Parzen (de la Vallee Poussin) window.

    Returns
    -------
    response : (length,) float64
        Real, even response; multiply the FFT of a zero-padded detector row by it.  Units:
        cycles per detector pixel (scale by 1/pixel size for physical units).
    """
    if length < 2 or length % 2:
        raise ValueError(f"length must be an even integer >= 2, got {length}")
    offsets = np.fft.fftfreq(length, d=1.0 / length)  # signed integer offsets m
    kernel = np.zeros(length)
    kernel[0] = 0.25
    odd = offsets.astype(int) % 2 == 1
    kernel[odd] = -1.0 / (np.pi * offsets[odd]) ** 2
    response = np.fft.fft(kernel).real
    return response * _window(filter_name, np.fft.fftfreq(length))


def filter_rows(rows, *, filter_name: str = "ramp", workers: int = 2, out=None):
    """Convolve detector rows with the windowed ramp filter (zero-padded, no wrap-around).

    Parameters
    ----------
    rows : (..., n_cols) float array (NumPy or CuPy)
        Line integrals (dimensionless) along detector rows, e.g. one projection
        ``(n_rows, n_cols)`` or a stack ``(n_angles, n_rows, n_cols)``.
    filter_name : {"ramp", "shepp-logan", "hann", "parzen"}
    workers : int
        CPU threads for the FFTs (NumPy backend only).
    out : float32 array shaped like ``rows``, optional

    Returns
    -------
    filtered : float32 array shaped like ``rows``, in units of rows per detector pixel.
    """
    xp = check_array(rows, name="rows")
    n_cols = rows.shape[-1]
    spectra = filtered_spectra(rows, filter_name=filter_name, workers=workers)
    length = padded_length(n_cols)
    filtered = fft_module(xp).irfft(spectra, n=length, axis=-1, **fft_kwargs(xp, workers))[..., :n_cols]
    if out is None:
        return xp.ascontiguousarray(filtered, dtype=xp.float32)
    if out.shape != rows.shape or out.dtype != xp.float32:
        raise ValueError(f"out must be a float32 array of shape {rows.shape}")
    out[...] = filtered
    return out


def filtered_spectra(rows, *, filter_name: str = "ramp", workers: int = 2):
    """Half spectra of zero-padded detector rows times the windowed ramp filter.

    Parameters
    ----------
    rows : (..., n_cols) float array (NumPy or CuPy)
        Line integrals (dimensionless).
    filter_name : {"ramp", "shepp-logan", "hann", "parzen"}
    workers : int
        CPU threads for the FFTs (NumPy backend only).

    Returns
    -------
    spectra : (..., padded_length(n_cols) // 2 + 1) complex64
        ``rfft`` of each row zero-padded to :func:`padded_length`, times the filter
        response (frequencies k / length cycles per pixel).
    """
    xp = check_array(rows, name="rows")
    length = padded_length(rows.shape[-1])
    response = xp.asarray(ramp_filter(length, filter_name=filter_name)[: length // 2 + 1], dtype=xp.float32)
    spectra = fft_module(xp).rfft(rows.astype(xp.float32, copy=False), n=length, axis=-1, **fft_kwargs(xp, workers))
    spectra *= response
    return spectra.astype(xp.complex64, copy=False)
