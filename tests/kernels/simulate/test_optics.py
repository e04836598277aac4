"""Exit wave, Fresnel propagation and detector blur."""

import numpy as np
import pytest

from porewatch.kernels.simulate.optics import (
    detector_blur,
    exit_wave,
    fresnel_propagate,
    transfer_function,
)

WAVELENGTH = 1.627e-11
PITCH = 2e-6


def _phase_object(shape=(48, 64), seed=0):
    rng = np.random.default_rng(seed)
    mu = 0.2 * rng.random(shape)
    delta = 2e-11 * rng.standard_normal(shape)
    return exit_wave(mu, delta, wavelength_m=WAVELENGTH)


def test_exit_wave_is_beer_lambert_with_phase():
    mu = np.array([[0.0, 1.0, 2.0]])
    delta = np.array([[0.0, WAVELENGTH / 4, WAVELENGTH / 8]])
    wave = exit_wave(mu, delta, wavelength_m=WAVELENGTH)
    assert wave.dtype == np.complex64
    np.testing.assert_allclose(np.abs(wave) ** 2, np.exp(-mu), rtol=1e-6)
    np.testing.assert_allclose(np.angle(wave), [[0.0, -np.pi / 2, -np.pi / 4]], atol=1e-5)


@pytest.mark.parametrize("distance", [0.1, 1.0, 5.0])
def test_propagation_conserves_mean_intensity(distance):
    wave = _phase_object()
    out = fresnel_propagate(wave, wavelength_m=WAVELENGTH, distance_m=distance, pixel_size_m=PITCH)
    assert out.dtype == np.complex64 and out.shape == wave.shape
    before, after = np.mean(np.abs(wave) ** 2), np.mean(np.abs(out) ** 2)
    assert after == pytest.approx(before, rel=1e-5)
    assert not np.allclose(np.abs(out), np.abs(wave), atol=1e-3)


def test_zero_distance_is_identity():
    wave = _phase_object()
    out = fresnel_propagate(wave, wavelength_m=WAVELENGTH, distance_m=0.0, pixel_size_m=PITCH,
                            pad_px=5)
    np.testing.assert_array_equal(out, wave)


def test_padding_keeps_a_plane_wave_and_isolated_object_flux():
    wave = np.ones((3, 40, 40), np.complex64)
    out = fresnel_propagate(wave, wavelength_m=WAVELENGTH, distance_m=2.0, pixel_size_m=PITCH,
                            pad_px=8)
    np.testing.assert_allclose(out, wave, atol=1e-5)
    wave[:, 15:25, 15:25] = np.exp(-1j * 0.5)
    out = fresnel_propagate(wave, wavelength_m=WAVELENGTH, distance_m=2.0, pixel_size_m=PITCH,
                            pad_px=8)
    assert np.mean(np.abs(out) ** 2) == pytest.approx(1.0, rel=2e-3)
    assert np.ptp(np.abs(out[0]) ** 2) > 0.05  # the phase edge became intensity fringes


def test_transfer_function_is_paraxial_fresnel_at_low_frequency():
    h = transfer_function((64, 64), wavelength_m=WAVELENGTH, distance_m=1.0, pixel_size_m=PITCH)
    f = np.fft.fftfreq(64, d=PITCH)
    fresnel = np.exp(-1j * np.pi * WAVELENGTH * 1.0 * (f[:, None] ** 2 + f[None, :] ** 2))
    np.testing.assert_allclose(h, fresnel, atol=1e-5)
    np.testing.assert_allclose(np.abs(h), 1.0, atol=1e-6)


def test_blur_keeps_mean_and_smooths():
    rng = np.random.default_rng(1)
    images = rng.random((2, 32, 32)).astype(np.float32)
    out = detector_blur(images, sigma_px=1.0)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_allclose(out.mean(axis=(1, 2)), images.mean(axis=(1, 2)), rtol=1e-3)
    assert out.std() < 0.6 * images.std()
    np.testing.assert_array_equal(detector_blur(images, sigma_px=0.0), images)


@pytest.mark.parametrize("kwargs, name", [
    (dict(distance_m=-1.0), "distance_m"), (dict(pad_px=-1), "pad_px")])
def test_invalid_arguments_are_named(kwargs, name):
    params = dict(wavelength_m=WAVELENGTH, distance_m=1.0, pixel_size_m=PITCH) | kwargs
    with pytest.raises(ValueError, match=name):
        fresnel_propagate(np.ones((4, 4), np.complex64), **params)
