import numpy as np
import pytest

from porewatch.kernels.constants import FARADAY_C_PER_MOL, MOLAR_VOLUME_LI_M3_PER_MOL
from porewatch.kernels.quantify.current_density import area_mean_std, current_density_map
from porewatch.kernels.quantify.electrodes import locate_interfaces
from porewatch.kernels.quantify.thickness import thickness_map

HOUR_S = 3600.0


def test_equation_3_and_signs():
    before = np.full((4, 5), 100e-6)
    after = before + 1e-6
    expected = 1e-6 * FARADAY_C_PER_MOL / (HOUR_S * MOLAR_VOLUME_LI_M3_PER_MOL)
    top = current_density_map(before, after, duration_s=HOUR_S, electrode="top")
    bottom = current_density_map(before, after, duration_s=HOUR_S, electrode="bottom")
    assert top.dtype == np.float32 and top.shape == (4, 5)
    np.testing.assert_allclose(top, expected, rtol=1e-6)
    np.testing.assert_allclose(bottom, -expected, rtol=1e-6)


def test_smoothing_keeps_nan_and_level_and_cuts_noise():
    rng = np.random.default_rng(0)
    before = np.full((128, 128), 100e-6)
    after = before + 1e-6 + rng.normal(0.0, 0.1e-6, before.shape)
    after[:, :10] = np.nan
    raw = current_density_map(before, after, duration_s=HOUR_S, electrode="top")
    smooth = current_density_map(before, after, duration_s=HOUR_S, electrode="top", smoothing_sigma_px=2.0)
    assert np.array_equal(np.isnan(raw), np.isnan(smooth))
    raw_mean, raw_std = area_mean_std(raw)
    smooth_mean, smooth_std = area_mean_std(smooth)
    assert smooth_mean == pytest.approx(raw_mean, rel=1e-3)
    assert raw_std / smooth_std == pytest.approx(2 * np.sqrt(np.pi) * 2.0, rel=0.15)


def test_mean_from_two_imaged_steps(cells):
    pixel_size_m, n_z, n = 2e-6, 80, 64
    growth_rows = 0.5  # top plates, bottom strips by the same amount
    first = (10.3, 25.7, 55.45, 70.85)
    second = (10.3, 25.7 + growth_rows, 55.45 + growth_rows, 70.85)
    volumes = [cells.imaged(n_z, n, rows, seed=seed) for seed, rows in enumerate((first, second))]
    steps = [locate_interfaces(volume, pixel_size_m=pixel_size_m, linearise=False) for volume in volumes]
    expected = growth_rows * pixel_size_m * FARADAY_C_PER_MOL / (HOUR_S * MOLAR_VOLUME_LI_M3_PER_MOL)
    for name in ("top", "bottom"):
        before, after = (thickness_map(step.electrode(name)) for step in steps)
        mean, _ = area_mean_std(current_density_map(before, after, duration_s=HOUR_S, electrode=name))
        # the phantom's noise moves mean thicknesses by ~0.01 row (2 % of 0.5 row, 1 sd over seeds)
        assert mean == pytest.approx(expected, rel=0.05)


def test_area_mean_std_ignores_nan():
    assert area_mean_std(np.array([[1.0, np.nan], [3.0, np.nan]])) == pytest.approx((2.0, 1.0))
    mean, std = area_mean_std(np.full((2, 2), np.nan))
    assert np.isnan(mean) and np.isnan(std)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(duration_s=0.0, electrode="top"), "duration_s"),
        (dict(duration_s=1.0, electrode="left"), "electrode"),
        (dict(duration_s=1.0, electrode="top", smoothing_sigma_px=-1.0), "smoothing_sigma_px"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        current_density_map(np.zeros((2, 2)), np.zeros((2, 2)), **kwargs)


def test_shape_mismatch():
    with pytest.raises(ValueError, match="thickness_after_m"):
        current_density_map(np.zeros((2, 2)), np.zeros((2, 3)), duration_s=1.0, electrode="top")
