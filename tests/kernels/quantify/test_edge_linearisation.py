"""Effective edge contrast of a disc (analytic) and the linearisation of an exponential edge."""

import numpy as np
import pytest
from scipy.special import ndtr

from porewatch.kernels.quantify.edge_linearisation import effective_edge_contrast, linearise_fraction


def test_uniform_disc_matches_the_abel_result():
    """For a disc of jump D and radius R: A_eff(r) = (8 / pi) D sqrt(R^2 - r^2)."""
    n, pixel, radius, jump = 96, 10e-6, 0.4e-3, 1400.0
    offset = (np.arange(n) - (n - 1) / 2) * pixel
    r = np.hypot(offset[:, None], offset[None, :])
    found = effective_edge_contrast(np.where(r < radius, jump, 0.0), pixel_size_m=pixel)
    expected = 8 / np.pi * jump * np.sqrt(np.clip(radius**2 - r**2, 0, None))
    inner = r < 0.8 * radius
    np.testing.assert_allclose(found[inner], expected[inner], rtol=0.05)  # pixelated disc, discrete Radon
    assert found.dtype == np.float32 and np.all(found[r > radius + 2 * pixel] == 0)


def test_linearisation_inverts_an_exponential_edge():
    """-log of a blurred intensity step, normalised, maps back to the blur's own profile."""
    z = np.linspace(-3, 3, 61)
    contrast = 1.5
    measured = -np.log1p(-(1 - np.exp(-contrast)) * ndtr(z / 0.8)) / contrast
    recovered = linearise_fraction(measured[:, None], np.array([contrast]))[:, 0]
    np.testing.assert_allclose(recovered, ndtr(z / 0.8), atol=1e-9)
    np.testing.assert_allclose(linearise_fraction(measured[:, None], np.array([0.0]))[:, 0], measured)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="pixel_size_m"):
        effective_edge_contrast(np.ones((8, 8)), pixel_size_m=0.0)
