"""X-ray optics: exit wave, free-space (Fresnel) propagation, detector blur.

Each kernel takes the backend from its input array (NumPy, or CuPy when given CuPy arrays).
"""

import math

import numpy as np
from scipy.fft import next_fast_len

from porewatch.kernels.backend import fft_module, get_array_module


def exit_wave(projected_mu, projected_delta, *, wavelength_m: float):
    """Complex transmission ``exp(-P_mu / 2 - i k P_delta)`` of a thin object, k = 2 pi / lambda.

    Parameters
    ----------
    projected_mu : (..., M, N) float
        Attenuation line integrals (dimensionless).
    projected_delta : (..., M, N) float
        Line integrals of the refractive index decrement, m.
    wavelength_m : float

    Returns
    -------
    (..., M, N) complex64
    """
    xp = get_array_module(projected_mu)
    if projected_mu.shape != projected_delta.shape:
        raise ValueError(f"projected_delta shape {projected_delta.shape} must match "
                         f"projected_mu shape {projected_mu.shape}")
    if not wavelength_m > 0:
        raise ValueError(f"wavelength_m must be positive, got {wavelength_m!r}")
    phase = projected_delta * (-2 * math.pi / wavelength_m)
    return (xp.exp(-0.5 * projected_mu) * xp.exp(1j * phase)).astype(xp.complex64)


def transfer_function(shape: tuple[int, int], *, wavelength_m: float, distance_m: float,
                      pixel_size_m: float, xp=np):
    """Free-space transfer function ``exp(i k z (sqrt(1 - lambda^2 f^2) - 1))`` on an FFT grid.

    The constant phase ``exp(i k z)`` is dropped; written in a cancellation-free form.
    Returns ``shape`` complex64.
    """
    fy = xp.fft.fftfreq(shape[0], d=pixel_size_m)[:, None]
    fx = xp.fft.fftfreq(shape[1], d=pixel_size_m)[None, :]
    squared = wavelength_m**2 * (fx**2 + fy**2)
    if float(squared.max()) >= 1.0:
        raise ValueError("pixel_size_m is below the wavelength: evanescent waves not modelled")
    phase = -2 * math.pi * distance_m / wavelength_m * squared / (1.0 + xp.sqrt(1.0 - squared))
    return xp.exp(1j * phase).astype(xp.complex64)


def fresnel_propagate(field, *, wavelength_m: float, distance_m: float, pixel_size_m: float,
                      pad_px: int = 0):
    """Propagate a complex wave over ``distance_m`` of free space (angular spectrum).

    Parameters
    ----------
    field : (..., M, N) complex
        Wave on a grid of pitch ``pixel_size_m`` (m) over the last two axes.
    wavelength_m, distance_m, pixel_size_m : float
    pad_px : int
        Edge-replicated margin added on every side before the FFT and cropped after, to keep
        the periodic FFT from wrapping fringes around (the trailing side is widened to a
        fast FFT length); 0 propagates periodically (unitary).

    Returns
    -------
    (..., M, N) complex64
    """
    xp = get_array_module(field)
    if field.ndim < 2:
        raise ValueError(f"field must have at least 2 dimensions, got shape {field.shape}")
    if not (distance_m >= 0 and pixel_size_m > 0 and pad_px >= 0):
        raise ValueError("distance_m must be >= 0, pixel_size_m > 0 and pad_px >= 0")
    field = xp.asarray(field, dtype=xp.complex64)
    if distance_m == 0:
        return field.copy()
    rows, cols = field.shape[-2:]
    widths = [(0, 0)] * (field.ndim - 2) + [
        (pad_px, next_fast_len(size + 2 * pad_px) - size - pad_px) for size in (rows, cols)]
    padded = xp.pad(field, widths, mode="edge") if pad_px else field
    kernel = transfer_function(padded.shape[-2:], wavelength_m=wavelength_m,
                               distance_m=distance_m, pixel_size_m=pixel_size_m, xp=xp)
    fft = fft_module(xp)
    propagated = fft.ifft2(fft.fft2(padded) * kernel).astype(xp.complex64)
    return xp.ascontiguousarray(propagated[..., pad_px:pad_px + rows, pad_px:pad_px + cols])


def fringe_margin_px(*, wavelength_m: float, distance_m: float, pixel_size_m: float) -> int:
    """Padding (pixels) wide enough for the widest fringe the grid can carry, plus 8."""
    return int(math.ceil(wavelength_m * distance_m / (2 * pixel_size_m**2))) + 8


def detector_blur(images, *, sigma_px: float):
    """Gaussian blur (standard deviation ``sigma_px`` pixels) over the last two axes.

    ``images`` (..., M, N) float; returns float32 of the same shape.
    """
    xp = get_array_module(images)
    if sigma_px < 0:
        raise ValueError(f"sigma_px must be >= 0, got {sigma_px!r}")
    images = xp.asarray(images, dtype=xp.float32)
    if sigma_px == 0:
        return images.copy()
    if xp is np:
        from scipy import ndimage
    else:
        from cupyx.scipy import ndimage
    sigma = (0.0,) * (images.ndim - 2) + (sigma_px, sigma_px)
    return ndimage.gaussian_filter(images, sigma=sigma, mode="nearest")
