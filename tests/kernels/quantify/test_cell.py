import numpy as np
import pytest

from porewatch.kernels.quantify.cell import CellFootprint, cell_footprint


def cylinder(n_z, n, *, centre_yx, radius, noise=0.0, seed=0):
    i, j = np.mgrid[:n, :n]
    disc = (i - centre_yx[0]) ** 2 + (j - centre_yx[1]) ** 2 <= radius**2
    volume = np.where(disc[None], 1444.0, 0.0) * np.ones((n_z, 1, 1))
    volume += np.random.default_rng(seed).normal(0.0, noise, volume.shape)
    return volume.astype(np.float32)


def test_off_centre_cylinder_found():
    footprint = cell_footprint(cylinder(6, 64, centre_yx=(30.0, 35.5), radius=20.0, noise=200.0))
    assert footprint.centre_y_px == pytest.approx(30.0, abs=0.3)
    assert footprint.centre_x_px == pytest.approx(35.5, abs=0.3)
    assert footprint.radius_px == pytest.approx(20.0, abs=0.5)


def test_largest_region_kept_against_a_bright_speck():
    volume = cylinder(4, 64, centre_yx=(31.5, 31.5), radius=18.0)
    volume[:, 2:4, 2:4] = 5000.0
    footprint = cell_footprint(volume)
    assert footprint.centre_y_px == pytest.approx(31.5, abs=0.2)
    assert footprint.radius_px == pytest.approx(18.0, abs=0.5)


def test_mask_with_margin():
    footprint = CellFootprint(centre_y_px=10.0, centre_x_px=10.0, radius_px=5.0)
    full, shrunk = footprint.mask((21, 21)), footprint.mask((21, 21), margin_px=2.0)
    assert full.dtype == bool and full.shape == (21, 21)
    assert full[10, 15] and not full[10, 16]
    assert shrunk[10, 13] and not shrunk[10, 14]
    assert not footprint.mask((21, 21), margin_px=9.0).any()


def test_uniform_volume_has_no_footprint():
    with pytest.raises(ValueError, match="uniform"):
        cell_footprint(np.ones((3, 8, 8), np.float32))


def test_rejects_wrong_rank():
    with pytest.raises(ValueError, match="mu"):
        cell_footprint(np.ones((8, 8), np.float32))
