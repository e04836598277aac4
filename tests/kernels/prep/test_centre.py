import numpy as np
import pytest

from porewatch.kernels.prep.centre import find_center
from porewatch.kernels.prep.normalize import minus_log, normalize


def _blob_sinogram(n, angles, *, axis_column):
    """Exact projections of off-axis Gaussian blobs and a disc, axis at ``axis_column``."""
    s = np.arange(n) - axis_column
    sinogram = np.zeros((angles.size, n))
    for x0, y0, width, height in ((10.0, -6.0, 4.0, 1.0), (-14.0, 3.0, 2.5, 0.7), (0.0, 12.0, 6.0, 0.4)):
        centre = x0 * np.cos(angles) + y0 * np.sin(angles)
        sinogram += height * np.exp(-((s[None, :] - centre[:, None]) ** 2) / (2 * width**2))
    return sinogram


@pytest.mark.parametrize("offset", [0.0, 2.37, -5.81])
@pytest.mark.parametrize("n", [64, 96])
def test_analytic_offsets_found_within_a_tenth_of_a_pixel(offset, n):
    angles = np.linspace(0, np.pi, 120, endpoint=False)
    axis = (n - 1) / 2 + offset
    sinogram = _blob_sinogram(n, angles, axis_column=axis)
    noisy = sinogram + np.random.default_rng(1).normal(0, 0.01, sinogram.shape)
    stack = np.repeat(noisy[:, None, :], 2, axis=1).astype(np.float32)
    assert find_center(stack, angles_rad=angles) == pytest.approx(axis, abs=0.1)


def test_full_turn_scan_uses_its_first_half_turn():
    n, axis = 64, 33.6
    angles = np.linspace(0, 2 * np.pi, 240, endpoint=False)
    stack = _blob_sinogram(n, angles, axis_column=axis)[:, None, :].astype(np.float32)
    assert find_center(stack, angles_rad=angles) == pytest.approx(axis, abs=0.1)


@pytest.mark.parametrize("offset", [3.3, -6.6])
def test_simulated_cell_centre_within_a_quarter_pixel(offset):
    from porewatch.kernels.simulate import CellSpec, DetectorSpec, pristine_cell, simulate_step

    spec = CellSpec()
    detector = DetectorSpec.for_cell(spec, n_cols=128, n_rows=16, n_angles=180, centre_offset_px=offset)
    frames = simulate_step(pristine_cell(spec), detector, seed=2)
    line_integrals = minus_log(normalize(frames.projections, frames.flats, frames.darks))
    found = find_center(line_integrals, angles_rad=np.deg2rad(frames.angles_deg))
    assert found == pytest.approx(detector.rotation_column, abs=0.25)


def test_rejects_scans_shorter_than_a_half_turn():
    angles = np.linspace(0, np.pi / 2, 50)
    with pytest.raises(ValueError, match="half turn"):
        find_center(np.zeros((50, 1, 32), np.float32), angles_rad=angles)
    with pytest.raises(ValueError, match="search_px"):
        find_center(np.zeros((50, 1, 32), np.float32), angles_rad=np.linspace(0, np.pi, 50), search_px=20)
