"""Gridrec: backprojection of ramp-filtered projections by Fourier gridding.

By the Fourier slice theorem, backprojecting filtered projections is a sum of plane waves
over a polar grid of frequencies (one radial line per angle).  That sum is a type-1
non-uniform FFT: the polar samples are spread onto an oversampled Cartesian grid with a
Kaiser-Bessel kernel (:mod:`.gridding`), the grid is inverse-FFTed, and the kernel's
Fourier transform is divided out in image space (deapodisation).  Two real sinograms
travel together as the real and imaginary parts of one complex sinogram.

Input are the filtered half spectra of the detector rows
(:func:`porewatch.kernels.recon.filters.filtered_spectra`), so all per-projection FFT work
can be done as frames arrive.  Frequencies are in cycles per pixel.
"""

import functools

import numpy as np

from porewatch.kernels.backend import backend_name, fft_kwargs, fft_module, get_array_module
from porewatch.kernels.recon.geometry import circle_mask
from porewatch.kernels.recon.gridding import GriddingPlan, spread_cupy, spread_numpy


def gridding_matrix_bytes(*, n_angles: int, n_cols: int) -> int:
    """Bytes of the cached NumPy gridding matrix for this geometry (default plan)."""
    return GriddingPlan.create(n_cols=n_cols, n_angles=n_angles).matrix_bytes()


@functools.lru_cache(maxsize=4)
def _sample_factors(plan: GriddingPlan, angles_key: bytes, weights_key: bytes, center_px: float):
    """Complex factor per polar sample, (n_angles, radial_length) complex64.

    Quadrature weight and FFT normalisation; the phase that puts the rotation axis at
    detector column ``center_px`` and the image origin at voxel ((n-1)/2, (n-1)/2); zero
    at the Nyquist frequency, which has no conjugate partner.
    """
    angles = np.frombuffer(angles_key, dtype=np.float64)
    weights = np.frombuffer(weights_key, dtype=np.float64)
    freq = np.fft.fftfreq(plan.radial_length)
    half_pixel = plan.n // 2 - (plan.n - 1) / 2.0  # image sample j - n//2 sits at x - half_pixel
    shift = center_px + half_pixel * (np.cos(angles) + np.sin(angles))
    scale = weights[:, None] * plan.grid**2 / plan.radial_length
    factors = scale * np.exp(2j * np.pi * freq[None, :] * shift[:, None])
    factors[:, plan.radial_length // 2] = 0.0
    return factors.astype(np.complex64)


@functools.lru_cache(maxsize=4)
def _deapodisation(plan: GriddingPlan) -> np.ndarray:
    """(n, n, 1) float32: 1 / (kernel transform in x and y), zero outside the circle."""
    inverse = 1.0 / plan.kernel_transform((np.arange(plan.n) - plan.n // 2) / plan.grid)
    correction = (inverse[:, None] * inverse[None, :]).astype(np.float32)
    return np.where(circle_mask(plan.n), correction, np.float32(0))[:, :, None]


def _paired_samples(spectra, factors, plan: GriddingPlan, *, xp):
    """Pack half spectra of rows (2p, 2p+1) into the full spectrum of row 2p + i row 2p+1,
    times the sample factors: (n_angles * radial_length, n_pairs) complex64."""
    n_angles, n_slab, half = spectra.shape
    n_pairs = (n_slab + 1) // 2
    first = spectra[:, 0::2]
    second = xp.zeros_like(first)
    second[:, : n_slab // 2] = spectra[:, 1::2]
    packed = xp.empty((n_angles, n_pairs, plan.radial_length), dtype=xp.complex64)
    packed[:, :, :half] = first + 1j * second
    # negative frequencies of a real row are the conjugates of the positive ones
    mirrored = slice(half - 2, 0, -1)
    packed[:, :, half:] = xp.conj(first[:, :, mirrored]) + 1j * xp.conj(second[:, :, mirrored])
    packed *= factors[:, None, :]
    return xp.ascontiguousarray(packed.transpose(0, 2, 1)).reshape(n_angles * plan.radial_length, n_pairs)


def _grid_to_slices(grid, plan: GriddingPlan, *, xp, workers: int, n_slab: int):
    """Inverse FFT of the (grid, grid, n_pairs) samples, crop to n x n, deapodise, unpack."""
    fft = fft_module(xp)
    crop = xp.asarray(np.mod(np.arange(plan.n) - plan.n // 2, plan.grid))
    partial = fft.ifft(grid, axis=1, overwrite_x=True, **fft_kwargs(xp, workers))[:, crop]
    image = fft.ifft(partial, axis=0, overwrite_x=True, **fft_kwargs(xp, workers))[crop]
    image *= xp.asarray(_deapodisation(plan))
    slices = xp.empty((2 * image.shape[2], plan.n, plan.n), dtype=xp.float32)
    slices[0::2] = image.real.transpose(2, 0, 1)
    slices[1::2] = image.imag.transpose(2, 0, 1)
    return slices[:n_slab]


def backproject_gridrec(spectra, *, n_cols, angles_rad, center_px, angle_weights, workers=2):
    """Backproject filtered row spectra into ``n_cols x n_cols`` slices by Fourier gridding.

    Parameters
    ----------
    spectra : (n_angles, n_slab, padded_length(n_cols) // 2 + 1) complex64, NumPy or CuPy
        Filtered half spectra of the detector rows
        (:func:`porewatch.kernels.recon.filters.filtered_spectra`).
    n_cols : int
        Detector columns = side of the reconstructed slices.
    angles_rad : (n_angles,) float64, radians
    center_px : float
        Detector column of the rotation axis (sub-pixel).
    angle_weights : (n_angles,) float64, radians
        Quadrature weights (:func:`porewatch.kernels.recon.geometry.angular_weights`).
    workers : int
        CPU threads for the FFTs and the sparse gridding (NumPy backend).

    Returns
    -------
    slices : (n_slab, n_cols, n_cols) float32, per pixel (divide by the pixel size for 1/m);
        zero outside the reconstruction circle.
    """
    xp = get_array_module(spectra)
    n_angles, n_slab, _ = spectra.shape
    angles = np.ascontiguousarray(angles_rad, dtype=np.float64)
    plan = GriddingPlan.create(n_cols=n_cols, n_angles=n_angles)
    if spectra.shape[2] != plan.radial_length // 2 + 1:
        raise ValueError(f"spectra must have {plan.radial_length // 2 + 1} frequencies for n_cols={n_cols}, "
                         f"got {spectra.shape[2]}")
    weights = np.ascontiguousarray(angle_weights, dtype=np.float64)
    factors = xp.asarray(_sample_factors(plan, angles.tobytes(), weights.tobytes(), float(center_px)))
    samples = _paired_samples(spectra, factors, plan, xp=xp)
    if backend_name(xp) == "cupy":
        grid = spread_cupy(samples, plan, angles)
    else:
        grid = spread_numpy(samples, plan, angles, workers=workers)
    return _grid_to_slices(grid, plan, xp=xp, workers=workers, n_slab=n_slab)
