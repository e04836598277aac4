"""Exact line integrals: disc chords, angle independence, Beer-Lambert through the pellet."""

import numpy as np
import pytest

from porewatch.kernels.constants import AIR, LLZO, STEEL
from porewatch.kernels.simulate import CellSpec, DetectorSpec, line_integrals, pristine_cell
from porewatch.kernels.simulate.projector import disc_chords, project_sections
from porewatch.kernels.simulate.sections import Sections, cross_sections


def _one_disc(centre, radius, contrast=(2.0, 3.0)) -> Sections:
    return Sections(
        cell_radius_m=1.0, base=np.zeros((1, 2)), base_phase=np.zeros(1, np.uint8),
        plane=np.array([0]), centres_m=np.array([centre], float), radii_m=np.array([radius]),
        contrast=np.array([contrast], float), phase=np.ones(1, np.uint8))


def test_disc_chord_is_analytic():
    s = np.linspace(-2.0, 2.0, 41)
    expected = 2 * np.sqrt(np.clip(1.5**2 - s**2, 0, None))
    np.testing.assert_allclose(disc_chords(s, radius_m=1.5), expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize("angle_deg", [0.0, 33.0, 90.0, 147.5])
def test_off_axis_disc_projects_to_shifted_chord(angle_deg):
    centre, radius = (0.31, -0.17), 0.2
    s = np.linspace(-1, 1, 401)
    theta = np.deg2rad(angle_deg)
    out = project_sections(_one_disc(centre, radius), angles_rad=np.array([theta]), s_m=s)
    s0 = centre[0] * np.cos(theta) + centre[1] * np.sin(theta)
    chord = 2 * np.sqrt(np.clip(radius**2 - (s - s0) ** 2, 0, None))
    # atol: sqrt amplifies rounding where a ray grazes the disc
    np.testing.assert_allclose(out[0, 0, 0], 2.0 * chord, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(out[1, 0, 0], 3.0 * chord, rtol=1e-12, atol=1e-6)


def test_disc_wider_than_detector_is_clipped_not_wrapped():
    s = np.linspace(-0.1, 0.1, 21)
    out = project_sections(_one_disc((0.0, 0.0), 0.5), angles_rad=np.array([0.3]), s_m=s)
    np.testing.assert_allclose(out[0, 0, 0], 2.0 * disc_chords(s, radius_m=0.5), atol=1e-12)


@pytest.fixture(scope="module")
def pristine():
    spec = CellSpec()
    detector = DetectorSpec.for_cell(spec, n_cols=32, n_angles=12)
    return spec, detector, pristine_cell(spec), line_integrals(pristine_cell(spec), detector)


def test_pristine_pore_free_rows_are_angle_independent(pristine):
    spec, detector, state, sino = pristine
    assert sino.shape == (12, 32, 32) and sino.dtype == np.float32
    sections = cross_sections(state, z_m=detector.row_z_m(2))
    rows_with_discs = set(sections.plane[sections.radii_m > 0] // 2)
    clean = [r for r in range(detector.n_rows) if r not in rows_with_discs]
    assert clean, "some rows (steel, air) must be free of pores"
    assert np.ptp(sino[:, clean], axis=0).max() < 1e-6
    porous = sorted(rows_with_discs)
    assert np.ptp(sino[:, porous], axis=0).max() > 1e-4


def test_steel_row_matches_beer_lambert(pristine):
    spec, detector, state, sino = pristine
    steel_middle = -(spec.llzo_thickness_m / 2 + spec.lithium_thickness_m
                     + spec.steel_thickness_m / 2)
    row = np.argmin(np.abs(detector.row_z_m() - steel_middle))
    s = detector.column_s_m(2).reshape(-1, 2)
    expected = (STEEL.mu_per_m - AIR.mu_per_m) * disc_chords(s, radius_m=spec.cell_radius_m).mean(1)
    np.testing.assert_allclose(sino[:, row], np.broadcast_to(expected, sino[:, row].shape),
                               rtol=1e-5, atol=1e-6)


def test_pore_free_llzo_row_matches_beer_lambert():
    spec = CellSpec(llzo_porosity=0.0, lithium_porosity=0.0)
    detector = DetectorSpec.for_cell(spec, n_cols=32, n_angles=6, centre_offset_px=1.3)
    sino = line_integrals(pristine_cell(spec), detector)
    middle = detector.n_rows // 2
    s = detector.column_s_m(2).reshape(-1, 2)
    chord = disc_chords(s, radius_m=spec.cell_radius_m).mean(axis=1)
    expected = (LLZO.mu_per_m - AIR.mu_per_m) * chord
    np.testing.assert_allclose(sino[:, middle], np.broadcast_to(expected, sino[:, middle].shape),
                               rtol=1e-5, atol=1e-6)
    # the centre offset moves the whole cell, so its shadow is no longer symmetric
    assert not np.allclose(sino[0, middle], sino[0, middle, ::-1], atol=1e-3)
