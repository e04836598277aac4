"""Raw frames: dtype and range, noise statistics, determinism, Beer-Lambert, flat-field."""

import dataclasses

import numpy as np
import pytest

from porewatch.kernels.simulate import (
    CellSpec,
    DetectorSpec,
    default_steps,
    detected_intensity,
    evolve,
    line_integrals,
    simulate_step,
)
from porewatch.kernels.simulate.frames import column_gain_drift

SPEC = CellSpec()


@pytest.fixture(scope="module")
def setup():
    detector = DetectorSpec.for_cell(SPEC, n_cols=32, n_angles=8, n_flats=6, n_darks=6)
    state = evolve(SPEC, default_steps()[:2])[1]
    return detector, state, simulate_step(state, detector, seed=5)


def test_frames_are_uint16_in_range(setup):
    detector, _, frames = setup
    assert frames.projections.shape == (8, detector.n_rows, detector.n_cols)
    assert frames.flats.shape == frames.darks.shape == (6, detector.n_rows, detector.n_cols)
    for stack in (frames.projections, frames.flats, frames.darks):
        assert stack.dtype == np.uint16 and stack.flags.c_contiguous
        assert 0 < stack.min() and stack.max() < np.iinfo(np.uint16).max
    np.testing.assert_allclose(frames.angles_deg, np.arange(8) * 22.5)


def test_noise_statistics(setup):
    detector, _, frames = setup
    darks = frames.darks.astype(float)
    assert darks.mean() == pytest.approx(detector.dark_counts, abs=0.2)
    assert darks.std() == pytest.approx(detector.read_noise_counts, rel=0.1)
    flats = frames.flats.astype(float) - detector.dark_counts
    assert flats.mean() == pytest.approx(detector.flat_photons, rel=0.03)
    # Poisson: the variance of the difference of two flats is twice the mean (+ read noise)
    variance = np.var(flats[0] - flats[1]) / 2
    assert variance == pytest.approx(flats.mean() + detector.read_noise_counts**2, rel=0.1)


def test_flat_field_correction_leaves_only_defect_columns(setup):
    detector, _, frames = setup
    dark = frames.darks.mean(axis=0)
    normalised = (frames.projections - dark) / (frames.flats.mean(axis=0) - dark)
    air_rows = normalised[:, :2].mean(axis=(0, 1))  # top rows image no sample
    drift = column_gain_drift(detector)
    defects = drift != 1.0
    assert defects.sum() == detector.n_defect_columns
    np.testing.assert_allclose(air_rows[~defects], 1.0, atol=0.01)
    np.testing.assert_allclose(air_rows[defects], drift[defects], atol=0.01)


def test_same_seed_same_frames(setup):
    detector, state, frames = setup
    again = simulate_step(state, detector, seed=5)
    other = simulate_step(state, detector, seed=6)
    np.testing.assert_array_equal(again.projections, frames.projections)
    np.testing.assert_array_equal(again.flats, frames.flats)
    assert not np.array_equal(other.projections, frames.projections)


def test_absorption_only_intensity_is_beer_lambert():
    spec = CellSpec(llzo_porosity=0.0, lithium_porosity=0.0)
    detector = DetectorSpec.for_cell(spec, n_cols=32, n_angles=3, propagation_distance_m=0.0,
                                     blur_sigma_px=0.0)
    state = evolve(spec, default_steps()[:1])[0]
    intensity = detected_intensity(state, detector)
    expected = line_integrals(state, detector)
    assert intensity.dtype == np.float32
    # away from interfaces and the cell wall the pixel-mean transmission is exp(-mean integral)
    middle = detector.n_rows // 2
    interior = np.abs(detector.column_s_m()) < 0.8 * spec.cell_radius_m
    assert expected[:, middle, interior].min() > 0.8
    np.testing.assert_allclose(-np.log(intensity[:, middle, interior]),
                               expected[:, middle, interior], rtol=1e-3)


def test_propagation_adds_fringes_but_keeps_the_flux(setup):
    detector, state, _ = setup
    contact = dataclasses.replace(detector, propagation_distance_m=0.0, n_angles=2)
    far = dataclasses.replace(detector, n_angles=2)
    near_image, far_image = detected_intensity(state, contact), detected_intensity(state, far)
    assert far_image.mean() == pytest.approx(near_image.mean(), rel=2e-3)
    assert np.abs(far_image - near_image).max() > 0.02
