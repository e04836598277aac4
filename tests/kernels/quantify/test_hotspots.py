import numpy as np
import pytest
from scipy import ndimage

from porewatch.kernels.quantify.hotspots import departure_scale, find_hotspots

P = 5e-6
N = 96


def noisy_map(seed, *, n=N, mean=1.0, std=0.1):
    """Correlated noise like a j map's: white noise smoothed twice by sigma 1 px, NaN outside a disc."""
    noise = ndimage.gaussian_filter(np.random.default_rng(seed).normal(0.0, 1.0, (n, n)), 1.4)
    j = mean + std * noise / noise.std()
    offset = np.arange(n) - (n - 1) / 2
    j[np.hypot(offset[:, None], offset[None, :]) > 0.45 * n] = np.nan
    return j.astype(np.float32)


def bump(centre_yx, amplitude, sigma_px=3.0, n=N):
    i, j = np.mgrid[:n, :n]
    return amplitude * np.exp(-((i - centre_yx[0]) ** 2 + (j - centre_yx[1]) ** 2) / (2 * sigma_px**2))


def test_seeded_hot_and_cold_spots_found_where_placed():
    j = noisy_map(0) + bump((40, 20), 1.0) + bump((60, 70), -0.8)
    spots = find_hotspots(j, pixel_size_m=P, electrode="top", threshold=4.0, min_area_m2=16 * P**2, peak_factor=1.0)
    assert [spot.id for spot in spots] == [1, 2]
    hot, cold = spots
    assert hot.peak_j_A_m2 > 1.8 and cold.peak_j_A_m2 < 0.4
    assert hot.x_m == pytest.approx((20 - (N - 1) / 2) * P, abs=1.0 * P)
    assert hot.y_m == pytest.approx((40 - (N - 1) / 2) * P, abs=1.0 * P)
    assert cold.x_m == pytest.approx((70 - (N - 1) / 2) * P, abs=1.0 * P)
    assert cold.y_m == pytest.approx((60 - (N - 1) / 2) * P, abs=1.0 * P)
    assert hot.area_m2 > cold.area_m2 and hot.electrode == "top"
    assert np.pi * 2.0**2 * P**2 < hot.area_m2 < np.pi * 8.0**2 * P**2
    assert np.sqrt(hot.area_m2 / np.pi) < hot.extent_m < 10 * P


@pytest.mark.parametrize("seed", range(3))
def test_no_false_positives_on_noise(seed):
    j = noisy_map(seed, n=256)
    assert find_hotspots(j, pixel_size_m=P, electrode="bottom", threshold=4.0, min_area_m2=16 * P**2) == []


def test_single_pixel_geometry_in_sample_frame():
    j = np.ones((5, 7), dtype=np.float32)
    j[1, 5] = 10.0
    (spot,) = find_hotspots(j, pixel_size_m=P, electrode="top", threshold=2.0, mode="mean_multiple", min_area_m2=0.0,
                            min_area_px=1)
    assert (spot.x_m, spot.y_m) == pytest.approx((2 * P, -1 * P))
    assert spot.area_m2 == pytest.approx(P**2) and spot.extent_m == pytest.approx(0.5 * P)
    assert spot.peak_j_A_m2 == pytest.approx(10.0)


def test_mean_multiple_mode():
    j = np.ones((20, 20))
    j[2:6, 2:6] = 2.5
    mean = j.mean()
    assert departure_scale(j, mode="mean_multiple") == pytest.approx(mean)
    options = dict(pixel_size_m=P, electrode="top", mode="mean_multiple", min_area_m2=0.0, peak_factor=1.0)
    assert len(find_hotspots(j, threshold=1.0, **options)) == 1
    assert find_hotspots(j, threshold=1.5, **options) == []


def test_weak_regions_need_a_strong_peak():
    """A region peaking below peak_factor x threshold (8 sd here) is dropped: the hysteresis seed."""
    j = noisy_map(0) + bump((40, 20), 1.0) + bump((60, 70), -0.8)
    spots = find_hotspots(j, pixel_size_m=P, electrode="top", threshold=4.0, min_area_m2=0.0, peak_factor=2.0)
    assert len(spots) == 1 and spots[0].peak_j_A_m2 > 1.8


def test_arcs_are_not_hot_spots():
    """A ring arc (reconstruction artefact) above threshold is dropped for its shape, a disc kept."""
    i, j_idx = np.mgrid[:N, :N]
    radius = np.hypot(i - 48, j_idx - 48)
    j = noisy_map(3, std=0.02)
    j[(np.abs(radius - 30) < 1.5) & (j_idx > 48)] += 1.0  # half ring, 3 px wide
    j[np.hypot(i - 48, j_idx - 40) < 5] += 1.0  # disc
    spots = find_hotspots(j, pixel_size_m=P, electrode="top", min_area_m2=0.0)
    assert len(spots) == 1 and spots[0].compactness > 0.9
    assert spots[0].x_m == pytest.approx((40 - (N - 1) / 2) * P, abs=P)


def test_min_area_drops_small_regions():
    j = noisy_map(1) + bump((40, 20), 1.0)
    assert find_hotspots(j, pixel_size_m=P, electrode="top", min_area_m2=400 * P**2) == []


def test_robust_scale_ignores_the_spots():
    j = noisy_map(2, std=0.1)
    assert departure_scale(j) == pytest.approx(0.1, rel=0.1)
    j[30:60, 30:60] = 5.0
    assert departure_scale(j) == pytest.approx(0.1, rel=0.35)


def test_map_without_known_entries():
    assert np.isnan(departure_scale(np.full((3, 3), np.nan)))
    assert find_hotspots(np.full((3, 3), np.nan), pixel_size_m=P, electrode="top") == []


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(pixel_size_m=0.0, electrode="top"), "pixel_size_m"),
        (dict(pixel_size_m=P, electrode="middle"), "electrode"),
        (dict(pixel_size_m=P, electrode="top", threshold=-1.0), "threshold"),
        (dict(pixel_size_m=P, electrode="top", mode="max"), "mode"),
        (dict(pixel_size_m=P, electrode="top", min_area_m2=-1.0), "min_area_m2"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        find_hotspots(np.ones((4, 4)), **kwargs)
