import numpy as np
import pytest

from porewatch.kernels.recon.filters import filtered_spectra, padded_length
from porewatch.kernels.recon.geometry import angular_weights, circle_mask
from porewatch.kernels.recon.gridding import GriddingPlan
from porewatch.kernels.recon.gridrec import backproject_gridrec


def direct_backprojection(spectra, *, n, angles, weights, center_px):
    """Band-limited backprojection summed plane wave by plane wave (what gridding approximates)."""
    length = padded_length(n)
    full = np.concatenate([spectra, np.conj(spectra[..., length // 2 - 1 : 0 : -1])], axis=-1)
    full[..., length // 2] = 0.0
    freq = np.fft.fftfreq(length)
    coords = np.arange(n) - (n - 1) / 2
    y, x = np.meshgrid(coords, coords, indexing="ij")
    image = np.zeros((spectra.shape[1], n, n))
    for a, theta in enumerate(angles):
        column = center_px + x * np.cos(theta) + y * np.sin(theta)
        waves = np.exp(2j * np.pi * freq[:, None, None] * column[None])
        image += weights[a] * np.einsum("sk,kij->sij", full[a], waves).real / length
    return image * circle_mask(n)


@pytest.mark.parametrize("n", [16, 17])
def test_gridding_matches_direct_plane_wave_sum(n):
    rng = np.random.default_rng(7)
    angles = np.sort(rng.uniform(0, np.pi, 23))
    weights = angular_weights(angles)
    spectra = filtered_spectra(rng.normal(size=(23, 3, n)).astype(np.float32))
    expected = direct_backprojection(spectra.astype(np.complex128), n=n, angles=angles, weights=weights,
                                     center_px=(n - 1) / 2 + 0.3)
    result = backproject_gridrec(spectra, n_cols=n, angles_rad=angles, center_px=(n - 1) / 2 + 0.3,
                                 angle_weights=weights)
    assert result.shape == (3, n, n) and result.dtype == np.float32
    np.testing.assert_allclose(result, expected, atol=2e-3 * np.abs(expected).max())


def test_kernel_transform_matches_numerical_fourier_transform():
    plan = GriddingPlan.create(n_cols=64, n_angles=10)
    t = np.linspace(-plan.width / 2, plan.width / 2, 4001)
    for xi in (0.0, 0.1, 0.25):
        numeric = np.trapezoid(plan.kernel(t) * np.cos(2 * np.pi * t * xi), t)
        assert plan.kernel_transform(xi) == pytest.approx(numeric, rel=1e-6)


def test_plan_rejects_bad_oversampling_and_width():
    with pytest.raises(ValueError, match="oversampling"):
        GriddingPlan.create(n_cols=64, n_angles=10, oversampling=1.0)
    with pytest.raises(ValueError, match="width"):
        GriddingPlan.create(n_cols=64, n_angles=10, width=1)


def test_spectra_of_wrong_length_are_rejected():
    spectra = np.zeros((5, 1, 10), dtype=np.complex64)
    with pytest.raises(ValueError, match="spectra"):
        backproject_gridrec(spectra, n_cols=16, angles_rad=np.zeros(5), center_px=7.5, angle_weights=np.ones(5))
