import json

import numpy as np
import pytest

from porewatch.kernels.constants import FARADAY_C_PER_MOL, MOLAR_VOLUME_LI_M3_PER_MOL
from porewatch.kernels.labels import Phase
from porewatch.kernels.quantify.step_analysis import AnalysisSettings, analyse_step

N_Z, N, P, HOUR_S = 80, 64, 5e-6, 3600.0
FIRST = (10.3, 25.7, 55.45, 70.85)
ELECTRODE_KEYS = {
    "collector_interface_z_um",
    "electrolyte_interface_z_um",
    "thickness_mean_um",
    "porosity",
    "porosity_near_interface",
    "current_density_mean_A_m2",
    "current_density_std_A_m2",
    "hotspots",
}


def bump_rows(centre_yx=(22, 40), amplitude=0.6, sigma_px=3.0):
    i, j = np.mgrid[:N, :N]
    return amplitude * np.exp(-((i - centre_yx[0]) ** 2 + (j - centre_yx[1]) ** 2) / (2 * sigma_px**2))


@pytest.fixture
def two_steps(cells):
    """Step 2: the top foil grew 0.4 rows (+ a plating bump), the bottom one lost 0.4 rows."""
    second = (10.3, 25.7 + 0.4 + bump_rows(), 55.45 + 0.4, 70.85)
    steps = []
    for seed, rows in enumerate((FIRST, second)):
        pores = cells.pores((N_Z, N, N), rows, count=200, seed=seed)
        pores[38:42, 30:34, 30:34] = True  # 64 pore voxels in the pellet
        labels = cells.labels(N_Z, N, rows, pores=pores)
        steps.append((cells.imaged(N_Z, N, rows, seed=seed), labels))
    first = analyse_step(*steps[0], pixel_size_m=P)
    settings = AnalysisSettings(hotspot_min_area_m2=16 * P**2)
    second_analysis = analyse_step(*steps[1], pixel_size_m=P, previous=first, duration_s=HOUR_S, settings=settings)
    return first, second_analysis, steps, second


def test_report_keys_and_first_step_nulls(two_steps):
    first, _, _, _ = two_steps
    report = first.to_report()
    assert set(report) == {"top", "bottom", "llzo"} and set(report["llzo"]) == {"porosity"}
    for name in ("top", "bottom"):
        assert set(report[name]) == ELECTRODE_KEYS
        assert report[name]["current_density_mean_A_m2"] is None
        assert report[name]["current_density_std_A_m2"] is None
        assert report[name]["hotspots"] == []
    assert first.top.current_density_map_A_m2 is None
    json.dumps(report)


def test_first_step_geometry_and_porosity(two_steps):
    first, _, steps, _ = two_steps
    report = first.to_report()
    assert report["top"]["collector_interface_z_um"] == pytest.approx(FIRST[0] * P * 1e6, abs=0.05 * P * 1e6)
    assert report["bottom"]["electrolyte_interface_z_um"] == pytest.approx(FIRST[2] * P * 1e6, abs=0.05 * P * 1e6)
    assert report["top"]["thickness_mean_um"] == pytest.approx((FIRST[1] - FIRST[0]) * P * 1e6, abs=0.05 * P * 1e6)
    labels, usable = steps[0][1], np.isfinite(first.top.interfaces.collector_z_m)
    top = labels[:26, usable]
    expected = np.count_nonzero(top == Phase.PORE) / np.count_nonzero((top == Phase.PORE) | (top == Phase.LITHIUM))
    assert report["top"]["porosity"] == pytest.approx(expected)
    assert report["llzo"]["porosity"] == pytest.approx(64 / (30 * usable.sum()))
    assert first.top.lithium_volume_map_m3.shape == (N, N)


def test_second_step_current_density_and_hotspot(two_steps):
    _, second, _, truth = two_steps
    usable = np.isfinite(second.top.thickness_map_m)
    scale = P * FARADAY_C_PER_MOL / (HOUR_S * MOLAR_VOLUME_LI_M3_PER_MOL)
    expected_top = (0.4 + bump_rows()[usable].mean()) * scale
    report = second.to_report()
    assert report["top"]["current_density_mean_A_m2"] == pytest.approx(expected_top, rel=0.03)
    assert report["bottom"]["current_density_mean_A_m2"] == pytest.approx(0.4 * scale, rel=0.03)
    assert 0 < report["bottom"]["current_density_std_A_m2"] < 0.3 * 0.4 * scale
    assert report["bottom"]["hotspots"] == []
    (spot,) = report["top"]["hotspots"]
    assert set(spot) == {"id", "x_um", "y_um", "area_um2", "peak_current_density_A_m2"}
    assert spot["x_um"] == pytest.approx((40 - (N - 1) / 2) * P * 1e6, abs=1.5 * P * 1e6)
    assert spot["y_um"] == pytest.approx((22 - (N - 1) / 2) * P * 1e6, abs=1.5 * P * 1e6)
    assert spot["peak_current_density_A_m2"] > 2 * report["top"]["current_density_mean_A_m2"]
    json.dumps(report)


def test_previous_needs_duration(two_steps):
    first, _, steps, _ = two_steps
    with pytest.raises(ValueError, match="duration_s"):
        analyse_step(*steps[1], pixel_size_m=P, previous=first)


def test_mismatched_volumes(two_steps):
    _, _, steps, _ = two_steps
    mu, labels = steps[0]
    with pytest.raises(ValueError, match="labels"):
        analyse_step(mu, labels[:-1], pixel_size_m=P)


def test_settings_validate_mode():
    with pytest.raises(ValueError, match="hotspot_mode"):
        AnalysisSettings(hotspot_mode="peaks")
