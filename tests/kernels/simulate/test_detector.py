"""Detector framing and sampling grids."""

import numpy as np
import pytest

from porewatch.kernels.simulate import CellSpec, DetectorSpec

SPEC = CellSpec()


@pytest.mark.parametrize("n_cols", [64, 128, 256])
def test_for_cell_frames_the_stack_at_any_size(n_cols):
    detector = DetectorSpec.for_cell(SPEC, n_cols=n_cols)
    p = detector.pixel_size_m
    assert detector.n_rows == n_cols and detector.n_angles == int(np.ceil(90 * n_cols / 64))
    assert n_cols * p >= 1.2 * 2 * SPEC.cell_radius_m * (1 - 1e-12)
    assert n_cols * p >= 1.2 * SPEC.stack_height_m
    # same Fresnel number p^2 / (lambda z) at every size
    assert p**2 / (detector.wavelength_m * detector.propagation_distance_m) == pytest.approx(4.0)


def test_default_pixel_makes_the_mean_step_about_one_voxel():
    p = DetectorSpec.for_cell(SPEC).pixel_size_m
    assert 8e-6 < p < 11e-6


def test_grids_follow_the_shared_convention():
    detector = DetectorSpec.for_cell(SPEC, n_cols=8, n_rows=10, centre_offset_px=0.5)
    p = detector.pixel_size_m
    np.testing.assert_allclose(detector.row_z_m() + detector.stack_centre_z_m, np.arange(10) * p)
    np.testing.assert_allclose(detector.column_s_m(), (np.arange(8) - 4.0) * p)
    np.testing.assert_allclose(detector.voxel_xy_m(), (np.arange(8) - 3.5) * p)
    np.testing.assert_allclose(detector.row_z_m(2).reshape(10, 2).mean(axis=1), detector.row_z_m())
    np.testing.assert_allclose(detector.angles_deg()[:2], [0.0, 180.0 / detector.n_angles])


@pytest.mark.parametrize("field, value", [
    ("n_cols", 0), ("pixel_size_m", -1.0), ("blur_sigma_px", -0.5), ("centre_offset_px", 40.0),
    ("flat_photons", 60_000.0), ("n_defect_columns", 99)])
def test_invalid_detector_names_the_field(field, value):
    fields = dict(n_cols=64, n_rows=64, pixel_size_m=1e-5, n_angles=10) | {field: value}
    with pytest.raises(ValueError, match=field):
        DetectorSpec(**fields)
