import numpy as np
import pytest

from porewatch.kernels.recon.chunking import rows_per_slab, slab_bytes_per_row, slabs
from porewatch.kernels.recon.geometry import angular_weights, check_angles, circle_mask


@pytest.mark.parametrize("n_angles", [1, 7, 180])
def test_weights_of_a_uniform_half_turn_are_equal_and_sum_to_pi(n_angles):
    weights = angular_weights(np.linspace(0, np.pi, n_angles, endpoint=False))
    np.testing.assert_allclose(weights, np.pi / n_angles)


def test_full_turn_halves_weights_and_irregular_angles_sum_to_pi():
    np.testing.assert_allclose(angular_weights(np.linspace(0, 2 * np.pi, 40, endpoint=False)), np.pi / 40)
    irregular = np.random.default_rng(0).uniform(-3, 9, 50)
    assert angular_weights(irregular).sum() == pytest.approx(np.pi)


def test_check_angles_and_circle():
    with pytest.raises(ValueError, match="angles_rad"):
        check_angles(np.zeros(3), n_angles=4)
    with pytest.raises(ValueError, match="finite"):
        check_angles(np.array([0.0, np.nan]), n_angles=2)
    mask = circle_mask(5)
    assert mask.sum() == 13 and mask[2, 0] and not mask[0, 0]


def test_slabs_fit_the_budget_and_cover_all_rows():
    per_row = slab_bytes_per_row(method="gridrec", n_angles=100, n_cols=64)
    rows = rows_per_slab(n_rows=50, bytes_per_row=per_row, fixed_bytes=10_000, memory_budget_bytes=10_000 + 7 * per_row)
    assert rows == 7
    parts = slabs(50, rows)
    assert parts[0] == slice(0, 7) and parts[-1] == slice(49, 50) and len(parts) == 8
    with pytest.raises(ValueError, match="method"):
        slab_bytes_per_row(method="art", n_angles=10, n_cols=8)
    with pytest.raises(ValueError, match="memory_budget_bytes"):
        rows_per_slab(n_rows=5, bytes_per_row=100, fixed_bytes=50, memory_budget_bytes=120)
