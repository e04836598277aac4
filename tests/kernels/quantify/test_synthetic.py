"""Synthetic isotropic domains: porosity reached, pores on grain boundaries, seeded, statistically isotropic."""

import numpy as np
import pytest

from porewatch.kernels.quantify.homogenisation import microstructure_factors
from porewatch.kernels.quantify.synthetic import synthetic_domain


def test_porosity_reached_and_seeded():
    domain = synthetic_domain((24, 24, 24), porosity=0.08, pore_radius_px=2.0, grain_size_px=6.0, seed=3)
    assert domain.dtype == bool and domain.shape == (24, 24, 24)
    pore_volume = 4 / 3 * np.pi * 2.5**3  # the largest pore
    assert 0.08 <= 1 - domain.mean() <= 0.08 + pore_volume / domain.size
    again = synthetic_domain((24, 24, 24), porosity=0.08, pore_radius_px=2.0, grain_size_px=6.0, seed=3)
    other = synthetic_domain((24, 24, 24), porosity=0.08, pore_radius_px=2.0, grain_size_px=6.0, seed=4)
    assert np.array_equal(domain, again) and not np.array_equal(domain, other)


def test_isotropic_factors():
    domain = synthetic_domain((20, 20, 20), porosity=0.15, pore_radius_px=1.5, grain_size_px=5.0, seed=1)
    factors = microstructure_factors(domain)
    assert np.all(factors.conductivity < 1.0)
    assert np.ptp(factors.conductivity) < 0.05 and np.ptp(factors.youngs_modulus) < 0.05


def test_no_porosity_is_dense():
    assert synthetic_domain((8, 8, 8), porosity=0.0, pore_radius_px=1.0, grain_size_px=3.0, seed=0).all()


@pytest.mark.parametrize("kwargs, match", [
    (dict(porosity=0.6), "porosity"), (dict(pore_radius_px=0.2), "pore_radius_px"),
    (dict(pore_radius_px=9.0), "pore_radius_px"), (dict(grain_size_px=0.5), "grain_size_px")])
def test_invalid_arguments(kwargs, match):
    options = dict(porosity=0.1, pore_radius_px=1.5, grain_size_px=4.0, seed=0) | kwargs
    with pytest.raises(ValueError, match=match):
        synthetic_domain((16, 16, 16), **options)
