import numpy as np
import pytest
from scipy.ndimage import median_filter

from porewatch.kernels.prep.stripes import remove_stripes_fourier_wavelet, remove_stripes_sorting
from porewatch.kernels.recon import reconstruct
from porewatch.kernels.recon.geometry import circle_mask


def ring_energy(volume, reference):
    """Energy of thin rings: radially high-passed azimuthal mean of (volume - reference)."""
    n = volume.shape[-1]
    inside = circle_mask(n)
    coords = np.arange(n) - (n - 1) / 2
    radius = np.rint(np.hypot(coords[None, :], coords[:, None])).astype(int)
    difference = (volume - reference).mean(axis=0)
    counts = np.maximum(np.bincount(radius.ravel(), inside.ravel()), 1)
    profile = np.bincount(radius.ravel(), (difference * inside).ravel()) / counts
    return float(np.sum((profile - median_filter(profile, 9))[: n // 2] ** 2))


def _disc(angles, s, *, x0, y0, radius, value):
    centre = x0 * np.cos(angles) + y0 * np.sin(angles)
    return value * 2 * np.sqrt(np.clip(radius**2 - (s[None, :] - centre[:, None]) ** 2, 0, None))


@pytest.fixture(scope="module")
def striped_discs():
    """Off-axis discs (1, 2 sinogram rows) with six full-column offsets, and the clean version."""
    n = 128
    angles = np.linspace(0, np.pi, 180, endpoint=False)
    s = np.arange(n) - (n - 1) / 2
    discs = ((20, -15, 12, 0.01), (-25, 10, 8, 0.02), (5, 30, 5, 0.03), (-10, -30, 15, 0.005))
    sinogram = sum(_disc(angles, s, x0=x, y0=y, radius=r, value=v) for x, y, r, v in discs)
    clean = np.repeat(sinogram[:, None, :], 2, axis=1).astype(np.float32)
    rng = np.random.default_rng(0)
    columns = rng.choice(np.arange(10, n - 10), 6, replace=False)
    striped = clean.copy()
    striped[:, :, columns] += (rng.choice([-1, 1], 6) * rng.uniform(0.01, 0.03, 6)).astype(np.float32)
    return angles, clean, striped


@pytest.mark.parametrize(("remove", "kwargs", "limit"), [
    (remove_stripes_sorting, {"size": 3}, 0.3),
    (remove_stripes_fourier_wavelet, {"level": 2, "sigma": 1.0}, 0.4),
])
def test_stripe_removal_lowers_ring_energy(striped_discs, remove, kwargs, limit):
    angles, clean, striped = striped_discs
    reference = reconstruct(clean, angles_rad=angles)
    corrected = remove(striped, **kwargs)
    assert corrected.shape == striped.shape and corrected.dtype == np.float32
    before = ring_energy(reconstruct(striped, angles_rad=angles), reference)
    after = ring_energy(reconstruct(corrected, angles_rad=angles), reference)
    assert after < limit * before


@pytest.mark.parametrize("remove", [remove_stripes_sorting, remove_stripes_fourier_wavelet])
def test_single_sinogram_matches_stack_row(striped_discs, remove):
    _, _, striped = striped_discs
    np.testing.assert_allclose(remove(striped[:, 1, :]), remove(striped)[:, 1, :], atol=1e-6)


def test_sorting_leaves_stripe_free_monotone_columns_unchanged():
    sinogram = np.tile(np.linspace(0.0, 1.0, 40, dtype=np.float32), (30, 1))
    np.testing.assert_allclose(remove_stripes_sorting(sinogram, size=5)[:, 2:-2], sinogram[:, 2:-2])


def test_simulator_column_defects_give_weaker_rings_after_sorting():
    from porewatch.kernels.simulate import CellSpec, DetectorSpec, detected_intensity, pristine_cell
    from porewatch.kernels.simulate.frames import column_gain_drift

    spec = CellSpec()
    detector = DetectorSpec.for_cell(spec, n_cols=128, n_rows=16, n_angles=180, n_defect_columns=8)
    clean = -np.log(detected_intensity(pristine_cell(spec), detector))
    defective = (clean - np.log(column_gain_drift(detector))).astype(np.float32)
    angles = np.deg2rad(detector.angles_deg())
    reference = reconstruct(clean.astype(np.float32), angles_rad=angles)
    before = ring_energy(reconstruct(defective, angles_rad=angles), reference)
    after = ring_energy(reconstruct(remove_stripes_sorting(defective, size=3), angles_rad=angles), reference)
    assert after < 0.6 * before


def test_invalid_parameters():
    sinogram = np.zeros((10, 16), np.float32)
    with pytest.raises(ValueError, match="size"):
        remove_stripes_sorting(sinogram, size=4)
    with pytest.raises(ValueError, match="level"):
        remove_stripes_fourier_wavelet(sinogram, level=0)
    with pytest.raises(ValueError, match="sigma"):
        remove_stripes_fourier_wavelet(sinogram, sigma=0)
