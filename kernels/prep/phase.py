"""Paganin single-distance phase retrieval (Paganin et al., J. Microsc. 206, 33, 2002).

For one homogeneous material with refractive index ``n = 1 - delta + i beta``, the
intensity measured at distance ``z`` behind the sample is low-pass filtered:

    mu T = -ln( IFFT[ FFT(I / I0) / (1 + pi lambda z (delta/beta) |f|^2) ] )

(``f`` spatial frequency in cycles per metre, ``mu = 4 pi beta / lambda``).  The result is
the projected attenuation ``mu T`` (dimensionless, the input of the reconstruction), with
the Fresnel fringes folded back into the edges and noise strongly suppressed.  The filter
is a Lorentzian of length ``l = sqrt(lambda z (delta/beta) / (4 pi))``
(:func:`paganin_length_m`): features narrower than ``l`` are blurred.

Choosing delta/beta for a Li | LLZO | Li cell at 76.2 keV
--------------------------------------------------------
No single ratio fits: ``delta/beta`` is ~1742 for Li, ~85 for LLZO and ~370 for steel
(:func:`material_delta_over_beta`), so the ratio is a setting.  For the material whose
ratio is used the filter inverts the propagation (exact ``mu T``, no fringes, noise
suppressed); every other material is blurred (too high a ratio) or keeps fringes (too
low).  Measured on a projection across an LLZO | Li interface (1.5 mm of each along the
beam, 10 um pores in the Li, 1 um pixels, z = 0.1 m; ``tests/kernels/prep/test_phase.py``):

* **Li's ratio (1742, l = 15 um)**: a Li pore comes out with its true absorption
  contrast (``mu_Li * 2 r``, ~7e-5 for 10 um) and no fringes: the setting for pores in
  Li.  The LLZO edge is smeared (10-90 % over ~53 um) and its halo adds more than the
  pore contrast to the Li out to ~130 um (~9 l) from the interface: there a pore is
  still darker than the Li beside it but brighter than bulk Li, i.e. its contrast is
  inverted against any global threshold, and the interface looks displaced and smooth.
* **LLZO's ratio (85, l = 3.3 um)**: the LLZO edge stays sharp (~12 um) and its halo
  matters only within ~20 um, but Li's phase signal is under-corrected: a pore keeps a
  fringe dip ~10x its absorption contrast that depends on size and distance, so pore
  sizes and porosity are not quantitative, and Li noise is not suppressed.
* A ratio in between trades the two.  For pores near the interface, reconstruct with
  both, or exclude a band of ~9 ``l`` (Li ratio) next to the LLZO from pore statistics.
  ``l`` grows as ``sqrt(z)``.
"""

import math

from porewatch.kernels.backend import check_array, fft_kwargs, fft_module
from porewatch.kernels.constants import XrayMaterial, wavelength_m


def material_delta_over_beta(material: XrayMaterial) -> float:
    """``delta / beta`` of a material from :mod:`porewatch.kernels.constants` (at 76.2 keV)."""
    return material.delta / material.beta


def paganin_length_m(*, distance_m: float, energy_kev: float, delta_over_beta: float) -> float:
    """Length ``l = sqrt(lambda z (delta/beta) / (4 pi))`` (m) of the Paganin low-pass filter."""
    return math.sqrt(wavelength_m(energy_kev) * distance_m * delta_over_beta / (4 * math.pi))


def _check_physics(*, pixel_size_m, distance_m, energy_kev, delta_over_beta) -> None:
    for name, value in (("pixel_size_m", pixel_size_m), ("energy_kev", energy_kev),
                        ("delta_over_beta", delta_over_beta)):
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
    if not distance_m >= 0:
        raise ValueError(f"distance_m must be >= 0, got {distance_m}")


def paganin(transmission, *, pixel_size_m, distance_m, energy_kev, delta_over_beta, min_transmission=1e-6,
            workers=2):
    """Projected attenuation ``mu T`` from flat-field-corrected intensity, Paganin's method.

    Each frame is filtered on its own, so this is per-projection (streaming) work; its
    output replaces ``minus_log`` before the reconstruction.

    Parameters
    ----------
    transmission : (n_rows, n_cols) or (n_frames, n_rows, n_cols) float array
        Normalised intensity ``I / I0`` (dimensionless), e.g. from ``normalize``.
    pixel_size_m : float
        Detector pixel size at the sample, m.
    distance_m : float
        Sample-to-detector propagation distance, m (0 returns ``-ln`` of the input).
    energy_kev : float
        Photon energy, keV.
    delta_over_beta : float
        Ratio of the refractive index decrement to the absorption index of the material
        assumed homogeneous (see the module notes for Li vs. LLZO).
    min_transmission : float
        Floor on the filtered intensity before the logarithm.
    workers : int
        FFT threads (NumPy backend).

    Returns
    -------
    line_integrals : float32 array shaped like ``transmission`` (dimensionless ``mu T``).
    """
    xp = check_array(transmission, name="transmission", ndim=(2, 3))
    _check_physics(pixel_size_m=pixel_size_m, distance_m=distance_m, energy_kev=energy_kev,
                   delta_over_beta=delta_over_beta)
    length_px = paganin_length_m(distance_m=distance_m, energy_kev=energy_kev,
                                 delta_over_beta=delta_over_beta) / pixel_size_m
    rows, cols = transmission.shape[-2:]
    fft = fft_module(xp)
    margin = int(math.ceil(8 * length_px))
    shape = [fft.next_fast_len(size + 2 * margin) for size in (rows, cols)]
    widths = [(0, 0)] * (transmission.ndim - 2) + [
        (margin, shape[0] - rows - margin), (margin, shape[1] - cols - margin)]
    padded = xp.pad(transmission.astype(xp.float32, copy=False), widths, mode="edge")
    fy = xp.fft.fftfreq(shape[0]).astype(xp.float32)[:, None]
    fx = xp.fft.rfftfreq(shape[1]).astype(xp.float32)[None, :]
    # pi lambda z (delta/beta) f^2 = (2 pi l f)^2 with f in cycles per pixel and l in pixels
    response = 1.0 / (1.0 + (2 * math.pi * length_px) ** 2 * (fx**2 + fy**2))
    spectrum = fft.rfft2(padded, **fft_kwargs(xp, workers))
    spectrum *= response
    filtered = fft.irfft2(spectrum, s=shape, **fft_kwargs(xp, workers))
    filtered = filtered[..., margin : margin + rows, margin : margin + cols]
    result = -xp.log(xp.maximum(filtered, xp.float32(min_transmission)))
    return xp.ascontiguousarray(result, dtype=xp.float32)
