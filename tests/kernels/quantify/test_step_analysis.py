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


#: Keys added beside the stable ones (README "Results").
NEW_ELECTRODE_KEYS = {"porosity_depth_profile", "porosity_depth_bin_um", "porosity_modes", "porosity_mode_values",
                      "current_density_from_volume_mean_A_m2", "mass_balance_ratio", "mass_balance_ratio_from_volume",
                      "porosity_near_interface_voxels"}
NEW_LLZO_KEYS = {"porosity_bulk", "porosity_interfacial_top", "porosity_interfacial_bottom",
                 "porosity_depth_profile_normalised", "tortuosity_bulk", "tortuosity_interfacial_top",
                 "tortuosity_interfacial_bottom", "microstructure_factors"}


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
    # the phantom blurs mu, not intensity; the bump is a 0.6-row cap (peak ~6 sd); pellet transport is tested apart
    linear = AnalysisSettings(linearise_edges=False, llzo_transport=False)
    first = analyse_step(*steps[0], pixel_size_m=P, settings=linear)
    settings = AnalysisSettings(hotspot_min_area_m2=16 * P**2, linearise_edges=False, llzo_transport=False,
                                hotspot_peak_factor=1.0)
    second_analysis = analyse_step(*steps[1], pixel_size_m=P, previous=first, duration_s=HOUR_S, settings=settings)
    return first, second_analysis, steps, second


def test_report_keys_and_first_step_nulls(two_steps):
    first, _, _, _ = two_steps
    report = first.to_report()
    assert set(report) == {"top", "bottom", "llzo"} and "porosity" in report["llzo"]
    assert NEW_LLZO_KEYS <= set(report["llzo"])
    for name in ("top", "bottom"):
        assert ELECTRODE_KEYS <= set(report[name]) and NEW_ELECTRODE_KEYS <= set(report[name])
        assert report[name]["mass_balance_ratio"] is None and report[name]["porosity_modes"] >= 1
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
    # Rows 10 (steel) and 26 (LLZO) hold 0.2 of a voxel of the foil each: they count as rows 11 and 25 do.
    weight = np.ones(26)[:, None]
    weight[[11, 25]] = 1.2
    top = labels[:26, usable]
    expected = (weight * (top == Phase.PORE)).sum() / (weight * ((top == Phase.PORE) | (top == Phase.LITHIUM))).sum()
    assert report["top"]["porosity"] == pytest.approx(expected, rel=1e-3)
    # pellet voxels lying wholly between the faces at rows 25.7 and 55.45: rows 27..54 (row 55 in
    # the few columns where noise puts the face beyond 55.5)
    assert report["llzo"]["porosity"] == pytest.approx(64 / (28 * usable.sum()), rel=0.01)
    assert first.top.lithium_volume_map_m3.shape == (N, N)


def test_second_step_current_density_and_hotspot(two_steps):
    _, second, _, truth = two_steps
    usable = np.isfinite(second.top.thickness_map_m)
    scale = P * FARADAY_C_PER_MOL / (HOUR_S * MOLAR_VOLUME_LI_M3_PER_MOL)
    expected_top = (0.4 + bump_rows()[usable].mean()) * scale
    report = second.to_report()
    # 0.4 rows of growth: the noise of the phantom moves mean thicknesses by ~0.01 row (5 %)
    assert report["top"]["current_density_mean_A_m2"] == pytest.approx(expected_top, rel=0.05)
    assert report["bottom"]["current_density_mean_A_m2"] == pytest.approx(0.4 * scale, rel=0.05)
    assert 0 < report["bottom"]["current_density_std_A_m2"] < 0.3 * 0.4 * scale
    assert report["bottom"]["hotspots"] == []
    (spot,) = report["top"]["hotspots"]
    assert {"id", "x_um", "y_um", "area_um2", "peak_current_density_A_m2"} <= set(spot)
    assert spot["electrode"] == "top" and spot["extent_um"] > np.sqrt(spot["area_um2"] / np.pi)
    beneath = spot["llzo_beneath"]  # the pellet under the bump is dense: no pores, straight paths
    assert beneath["porosity"] == 0 and beneath["tortuosity_factor"] == pytest.approx(1.0) and beneath["solid_path"]
    volume_mean = report["top"]["current_density_from_volume_mean_A_m2"]
    assert volume_mean == pytest.approx(report["top"]["current_density_mean_A_m2"], rel=0.05)
    diff = second.top.pore_density_difference_map
    assert diff.shape == (N, N) and np.nanmax(np.abs(diff)) > 0
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
