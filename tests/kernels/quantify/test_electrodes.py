import numpy as np
import pytest

from porewatch.kernels.quantify.electrodes import (
    ElectrodeBand,
    ElectrodeInterfaces,
    coarse_bands,
    locate_interfaces,
)

N_Z, N = 80, 48
FLAT = (10.3, 25.7, 55.45, 70.85)


def maps_in_rows(cell, pixel_size_m=1.0):
    return [
        cell.top.collector_z_m / pixel_size_m,
        cell.top.electrolyte_z_m / pixel_size_m,
        cell.bottom.electrolyte_z_m / pixel_size_m,
        cell.bottom.collector_z_m / pixel_size_m,
    ]


def rms_errors(cell, truth):
    usable = cell.usable
    return [
        float(np.sqrt(np.mean((found[usable] - np.broadcast_to(true, found.shape)[usable]) ** 2)))
        for found, true in zip(maps_in_rows(cell), truth)
    ]


def test_flat_interfaces_with_noise_fringes_and_pores(cells):
    pores = cells.pores((N_Z, N, N), FLAT, count=300, seed=1)
    volume = cells.imaged(N_Z, N, FLAT, fringe=1.0, noise=30.0, pores=pores)
    cell = locate_interfaces(volume, pixel_size_m=1.0, linearise=False)
    assert max(rms_errors(cell, FLAT)) < 0.25
    for found, true in zip(maps_in_rows(cell), FLAT):
        assert abs(np.nanmean(found) - true) < 0.05


def test_thin_pellet_and_collectors(cells):
    truth = (20.3, 35.7, 45.45, 60.85)  # 10-row pellet: the search windows must not cross it
    volume = cells.imaged(N_Z, N, truth, noise=30.0, seed=6)
    cell = locate_interfaces(volume, pixel_size_m=1.0, linearise=False)
    assert max(rms_errors(cell, truth)) < 0.25
    assert cell.coarse[0].pellet_centre_row == pytest.approx(40.5, abs=1.0)
    assert cell.coarse[1].collector_centre_row == pytest.approx(70.0, abs=1.0)


def test_tilted_and_bumped_interfaces(cells):
    offset = np.arange(N) - (N - 1) / 2
    tilt = 0.04 * offset[None, :] - 0.02 * offset[:, None]
    bump = 1.5 * np.exp(-((offset[:, None] - 5) ** 2 + (offset[None, :] + 4) ** 2) / (2 * 4.0**2))
    truth = (10.3 + tilt, 25.7 + tilt + bump, 55.45 - tilt, 70.85 + bump)
    volume = cells.imaged(N_Z, N, truth, fringe=1.0, noise=30.0, seed=2)
    cell = locate_interfaces(volume, pixel_size_m=1.0, linearise=False)
    assert max(rms_errors(cell, truth)) < 0.25


@pytest.mark.parametrize("fringe, edge_margin_px", [(0.0, 3), (1.0, 3), (3.0, 4)])
def test_no_bias_across_sub_voxel_phase(cells, fringe, edge_margin_px):
    """Strong fringes (fringe=3: +-45 % of the jump, 4 rows wide) need a wider margin, and
    collectors thick enough to leave plateau rows beyond it (here 14 rows of bottom steel)."""
    biases = []
    for shift in np.linspace(0.0, 0.9, 4):
        truth = (14.3 + shift, 29.7 + shift, 59.45 + shift, 74.85 - shift)
        volume = cells.imaged(90, N, truth, fringe=fringe, noise=0.0)
        cell = locate_interfaces(volume, pixel_size_m=1.0, edge_margin_px=edge_margin_px, linearise=False)
        biases += [np.nanmean(found) - true for found, true in zip(maps_in_rows(cell), truth)]
    assert np.max(np.abs(biases)) < 0.02


def test_maps_in_metres_nan_outside_usable_area(cells):
    pixel_size_m = 2.5e-6
    cell = locate_interfaces(cells.imaged(N_Z, N, FLAT, seed=3), pixel_size_m=pixel_size_m, rim_margin_px=5.0,
                             linearise=False)
    top = cell.top.collector_z_m
    assert top.shape == (N, N) and top.dtype == np.float32 and top.flags.c_contiguous
    assert np.all(np.isnan(top[~cell.usable])) and np.all(np.isfinite(top[cell.usable]))
    assert abs(cell.top.collector_z_mean_m - FLAT[0] * pixel_size_m) < 0.05 * pixel_size_m
    assert cell.usable.sum() == pytest.approx(np.pi * (0.4 * N - 5) ** 2, rel=0.1)
    assert cell.electrode("bottom") is cell.bottom


def test_coarse_bands_order_and_slices(cells):
    volume = cells.imaged(N_Z, N, FLAT, seed=4)
    top, bottom = coarse_bands(volume, usable=locate_interfaces(volume, pixel_size_m=1.0, linearise=False).usable)
    assert (top.electrode, bottom.electrode) == ("top", "bottom")
    assert top.collector_row == pytest.approx(FLAT[0], abs=0.05)
    assert bottom.electrolyte_row == pytest.approx(FLAT[2], abs=0.05)
    assert top.rows(margin_px=2) == (8, 29)
    assert bottom.rows() == (55, 72)


def test_volume_without_two_li_bands_is_rejected(cells):
    volume = cells.imaged(N_Z, N, (10.3, 25.7, 200.0, 201.0), seed=5)
    with pytest.raises(ValueError, match="need 2"):
        locate_interfaces(volume, pixel_size_m=1.0, linearise=False)


@pytest.mark.parametrize(
    "bad", [dict(pixel_size_m=0.0), dict(pixel_size_m=1.0, lateral_sigma_px=-1.0), dict(pixel_size_m=1.0, plateau_px=0)]
)
def test_invalid_parameters(cells, bad):
    with pytest.raises(ValueError):
        locate_interfaces(cells.imaged(N_Z, N, FLAT), **bad)


def test_rejects_non_volume():
    with pytest.raises(ValueError, match="mu"):
        locate_interfaces(np.zeros((4, 4), np.float32), pixel_size_m=1.0)


def test_coarse_band_rows_clip_at_zero():
    assert ElectrodeBand("top", 1.2, 5.6, 0.0, 20.0).rows(margin_px=3) == (0, 10)
