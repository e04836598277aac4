"""Ground truth: labels vs thickness maps, current maps, hot spots, exact porosities."""

import numpy as np
import pytest

from porewatch.kernels.labels import Phase
from porewatch.kernels.simulate import (
    CellSpec,
    DetectorSpec,
    Spheres,
    default_steps,
    evolve,
    ground_truth,
)
from porewatch.kernels.simulate.sections import Sections
from porewatch.kernels.simulate.truth import _volume_between_depths, majority_labels, rasterise

SPEC = CellSpec()


@pytest.fixture(scope="module")
def truths():
    detector = DetectorSpec.for_cell(SPEC, n_cols=48)
    states = evolve(SPEC, default_steps())
    return detector, states, [ground_truth(s, detector) for s in states]


def test_labels_shape_and_phases(truths):
    detector, _, (pristine, plated, _) = truths
    assert plated.labels.shape == (detector.n_rows, detector.n_cols, detector.n_cols)
    assert plated.labels.dtype == np.uint8
    assert set(np.unique(plated.labels)) == {int(p) for p in Phase}
    assert [t.step_name for t in truths[2]] == ["pristine", "plate", "strip"]


@pytest.mark.parametrize("step", [0, 1, 2])
@pytest.mark.parametrize("name", ["top", "bottom"])
def test_lithium_voxels_match_thickness_map(truths, step, name):
    detector, states, results = truths
    truth, electrode = results[step], getattr(states[step], name)
    p = detector.pixel_size_m
    z = np.arange(detector.n_rows) * p
    face = truth.electrodes[name].electrolyte_interface_z_m
    side = (z < face) if name == "top" else (z >= face)
    column = truth.labels[side]
    counted = np.sum((column == Phase.LITHIUM) | (column == Phase.PORE), axis=0) * p
    thickness = truth.electrodes[name].thickness_m
    xy = detector.voxel_xy_m()
    well_inside = np.hypot(*np.meshgrid(xy, xy)) < SPEC.cell_radius_m - 2 * p
    assert np.all(np.isnan(thickness[~(np.hypot(*np.meshgrid(xy, xy)) < SPEC.cell_radius_m)]))
    # voxel counts quantise the thickness: at most one voxel off, caps included
    assert np.abs(counted - thickness)[well_inside].max() <= 1.01 * p
    mean_thickness = abs(truth.electrodes[name].collector_interface_z_m - face)
    assert np.nanmean(thickness) == pytest.approx(mean_thickness, rel=0.01)
    assert np.nanmax(thickness) - np.nanmin(thickness) == pytest.approx(
        np.abs(electrode.hot_spots.amplitude_m).max(initial=0.0), rel=0.2, abs=1e-9)


def test_current_maps_average_to_the_applied_current(truths):
    _, states, (pristine, plated, stripped) = truths
    for truth, state in ((plated, states[1]), (stripped, states[2])):
        applied = state.step.current_density_A_m2
        for electrode in truth.electrodes.values():
            assert np.nanmean(electrode.current_density_A_m2) == pytest.approx(applied, rel=0.02)
            assert np.nanmax(np.abs(electrode.current_density_A_m2)) > 3 * abs(applied)
    for electrode in pristine.electrodes.values():
        assert np.nanmax(np.abs(electrode.current_density_A_m2)) == 0.0


def test_hot_spot_list(truths):
    detector, _, (_, plated, _) = truths
    spots = plated.hot_spots
    assert [s.id for s in spots] == list(range(sum(SPEC.hot_spots_per_electrode)))
    assert [s.electrode for s in spots] == ["top", "top", "bottom"]
    xy = detector.voxel_xy_m()
    for spot in spots:
        current = plated.electrodes[spot.electrode].current_density_A_m2
        nearest = current[np.argmin(np.abs(xy - spot.y_m)), np.argmin(np.abs(xy - spot.x_m))]
        assert 0.8 * spot.peak_j_A_m2 <= nearest <= spot.peak_j_A_m2
        assert spot.peak_j_A_m2 > 4 * 0.25
        # a cap of several default voxels: plated up on top, stripped down at the bottom
        sign = 1 if spot.electrode == "top" else -1
        assert sign * spot.cap_height_m > 3 * DetectorSpec.for_cell(SPEC).pixel_size_m


def test_porosities(truths):
    _, _, (pristine, plated, stripped) = truths
    assert plated.llzo_porosity == pytest.approx(SPEC.llzo_porosity, rel=0.01)
    assert pristine.electrodes["top"].porosity == pytest.approx(SPEC.lithium_porosity, rel=0.05)
    before = pristine.electrodes["bottom"].interface_porosity
    after = plated.electrodes["bottom"].interface_porosity
    assert after > before + 0.005
    top_before = plated.electrodes["top"].interface_porosity
    assert stripped.electrodes["top"].interface_porosity > top_before + 0.005


def test_slab_volume_of_a_sphere_is_exact(truths):
    _, states, _ = truths
    electrode = states[0].bottom
    r = 4e-6
    sphere = Spheres(np.array([[0.0, 0.0, electrode.face_z_m + 5e-6]]), np.array([r]))
    whole = _volume_between_depths(sphere, electrode, 0.0, 10e-6)
    half = _volume_between_depths(sphere, electrode, 0.0, 5e-6)
    assert whole == pytest.approx(4 / 3 * np.pi * r**3, rel=1e-12)
    assert half == pytest.approx(whole / 2, rel=1e-12)


def test_majority_vote_gives_ties_to_the_centre_phase():
    samples = np.full((2, 2, 2), Phase.LITHIUM, np.uint8)
    samples[0] = Phase.PORE
    for centre in (Phase.PORE, Phase.LITHIUM):
        assert majority_labels(samples, centre=np.full((1, 1, 1), centre, np.uint8))[0, 0, 0] == centre
    # a centre phase outside the tie does not win it: the lowest tied phase does
    assert majority_labels(samples, centre=np.full((1, 1, 1), Phase.STEEL, np.uint8))[0, 0, 0] == Phase.PORE
    samples[0, 0, 0] = Phase.STEEL
    assert majority_labels(samples, centre=np.full((1, 1, 1), Phase.PORE, np.uint8))[0, 0, 0] == Phase.LITHIUM


def test_label_pore_area_is_unbiased_for_pores_a_few_voxels_across():
    """Discs 2-5 voxels across at random sub-voxel positions: label area within 1.5 % of the exact area."""
    rng = np.random.default_rng(3)
    pixel, n = 1e-6, 400
    grid = (np.arange(n // 8) * 8 - n / 2 + 4) * pixel
    centres = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2) + rng.uniform(-1, 1, (grid.size**2, 2)) * pixel
    radii = rng.uniform(1.0, 2.5, len(centres)) * pixel

    def sections(n_planes):
        count = len(centres) * n_planes
        return Sections(cell_radius_m=1.0, base=np.zeros((n_planes, 2)),
                        base_phase=np.full(n_planes, Phase.LITHIUM, np.uint8),
                        plane=np.repeat(np.arange(n_planes), len(centres)), centres_m=np.tile(centres, (n_planes, 1)),
                        radii_m=np.tile(radii, n_planes), contrast=np.zeros((count, 2)),
                        phase=np.full(count, Phase.PORE, np.uint8))

    xy = (np.arange(n) - (n - 1) / 2) * pixel
    fine = (np.arange(2 * n) / 2 + 0.25 - 0.5 - (n - 1) / 2) * pixel
    labels = majority_labels(rasterise(sections(2), xy_m=fine), centre=rasterise(sections(1), xy_m=xy))
    exact = np.pi * np.sum(radii**2) / pixel**2
    assert np.sum(labels == Phase.PORE) == pytest.approx(exact, rel=0.015)
