"""FFT homogenisation against laminates (exact) and a dilute spherical pore (Maxwell, Mori-Tanaka)."""

import numpy as np
import pytest

from porewatch.kernels.quantify.homogenisation import (
    effective_conductivity,
    effective_stiffness,
    microstructure_factors,
    youngs_moduli,
)


def laminate(n=12, axis=2, fraction_soft=0.25, soft=0.2):
    values = np.ones((n, n, n))
    index = [slice(None)] * 3
    index[axis] = slice(0, int(round(fraction_soft * n)))
    values[tuple(index)] = soft
    return values, int(round(fraction_soft * n)) / n, soft


@pytest.mark.parametrize("axis", [0, 2])
def test_laminate_conductivity_attains_the_wiener_bounds(axis):
    values, f, soft = laminate(axis=axis)
    sigma, converged = effective_conductivity(values)
    harmonic, arithmetic = 1 / ((1 - f) + f / soft), (1 - f) + f * soft
    expected = np.full(3, arithmetic)
    expected[axis] = harmonic
    assert converged
    np.testing.assert_allclose(np.diag(sigma), expected, rtol=1e-3)
    np.testing.assert_allclose(sigma - np.diag(np.diag(sigma)), 0, atol=1e-8)


def test_laminate_youngs_moduli_are_voigt_along_and_reuss_across_for_zero_poisson():
    values, f, soft = laminate(axis=1)
    stiffness, converged = effective_stiffness(values, poisson_ratio=0.0)
    found = youngs_moduli(stiffness, poisson_ratio=0.0)
    voigt, reuss = (1 - f) + f * soft, 1 / ((1 - f) + f / soft)
    assert converged
    np.testing.assert_allclose(found, [voigt, reuss, voigt], rtol=0.01)


def test_laminate_with_poisson_ratio_stays_between_the_bounds():
    values, f, soft = laminate(axis=0)
    found = youngs_moduli(effective_stiffness(values, poisson_ratio=0.3)[0], poisson_ratio=0.3)
    voigt, reuss = (1 - f) + f * soft, 1 / ((1 - f) + f / soft)
    assert found[1] == pytest.approx(voigt, rel=0.01) and found[2] == pytest.approx(voigt, rel=0.01)
    assert reuss < found[0] < voigt


def test_dilute_spherical_pore():
    n = 16
    z, y, x = np.mgrid[:n, :n, :n] - (n - 1) / 2
    pore = np.sqrt(x**2 + y**2 + z**2) < 2.6
    phi = pore.mean()
    factors = microstructure_factors(~pore, poisson_ratio=0.25)
    maxwell = (1 - phi) / (1 + phi / 2)
    bulk, shear = 1 / (3 * (1 - 2 * 0.25)), 1 / (2 * 1.25)
    k = 4 * bulk * shear * (1 - phi) / (4 * shear + 3 * bulk * phi)
    g = shear * (1 - phi) * (9 * bulk + 8 * shear) / (9 * bulk + 8 * shear + phi * (6 * bulk + 12 * shear))
    mori_tanaka = 9 * k * g / (3 * k + g)
    assert factors.converged and 0.01 < phi < 0.04
    # the deficits (1 - factor) agree within 15 % (voxelised sphere, periodic neighbours)
    np.testing.assert_allclose(1 - factors.conductivity, 1 - maxwell, rtol=0.15)
    np.testing.assert_allclose(1 - factors.youngs_modulus, 1 - mori_tanaka, rtol=0.15)
    np.testing.assert_allclose(factors.conductivity, factors.conductivity[0], rtol=1e-3)  # cubic symmetry


def test_invalid_inputs():
    with pytest.raises(ValueError, match="conductivity"):
        effective_conductivity(np.zeros((4, 4, 4)))
    with pytest.raises(ValueError, match="poisson_ratio"):
        effective_stiffness(np.ones((4, 4, 4)), poisson_ratio=0.6)
    with pytest.raises(ValueError, match="void_ratio"):
        microstructure_factors(np.ones((4, 4, 4), bool), void_ratio=0.0)
