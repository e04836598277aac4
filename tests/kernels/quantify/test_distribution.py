"""Local porosity distribution: one mode for a uniform electrode, three for three kinds of region."""

import numpy as np

from porewatch.kernels.quantify.distribution import porosity_distribution


def test_uniform_map_is_unimodal():
    values = 0.01 + 0.002 * np.random.default_rng(0).standard_normal((100, 100))
    found = porosity_distribution(values)
    assert found.modes == 1 and abs(found.mode_porosities[0] - 0.01) < 0.002
    assert np.trapezoid(found.density, found.porosity) > 0.9


def test_three_kinds_of_region_are_trimodal():
    rng = np.random.default_rng(1)
    values = np.full((120, 120), 0.01)
    values[:, 40:80] = 0.05
    values[:, 80:] = 0.10
    values += 0.002 * rng.standard_normal(values.shape)
    found = porosity_distribution(values)
    assert found.modes == 3
    np.testing.assert_allclose(found.mode_porosities, [0.01, 0.05, 0.10], atol=0.005)


def test_nan_columns_are_ignored_and_empty_maps_have_no_mode():
    values = np.full((30, 30), np.nan)
    assert porosity_distribution(values).modes == 0
    values[10:20, 10:20] = 0.02
    assert porosity_distribution(values, window_px=1).modes == 1
