"""Integration: simulated 64^3 cell -> flat-field -> -log -> gridrec -> step analysis, against the truth.

At 64 columns (18.75 um voxels) with the truth labels; the accuracy table at 96-160
columns is ``python -m porewatch.tools.bench_quant --sizes 0 --accuracy 7:128``.  Truth
labels come from a 2 x 2 x 2 majority vote.
"""

import numpy as np
import pytest

from porewatch.kernels import simulate
from porewatch.kernels.labels import Phase
from porewatch.kernels.prep import minus_log, normalize
from porewatch.kernels.quantify.step_analysis import AnalysisSettings, analyse_step
from porewatch.kernels.recon import reconstruct


@pytest.fixture(scope="module")
def steps():
    spec = simulate.CellSpec()
    detector = simulate.DetectorSpec.for_cell(spec, n_cols=64)
    pixel = detector.pixel_size_m
    settings = AnalysisSettings(llzo_transport=False)
    results, previous = [], None
    for seed, state in enumerate(simulate.evolve(spec, simulate.default_steps())[:2]):
        frames = simulate.simulate_step(state, detector, seed=seed)
        line_integrals = minus_log(normalize(frames.projections, frames.flats, frames.darks))
        mu = reconstruct(line_integrals, angles_rad=np.deg2rad(frames.angles_deg), pixel_size_m=pixel)
        truth = simulate.ground_truth(state, detector)
        duration = state.step.duration_s if previous is not None else None
        previous = analyse_step(
            mu, truth.labels, pixel_size_m=pixel, previous=previous, duration_s=duration, settings=settings
        )
        results.append((state, truth, previous))
    return pixel, results


def test_interfaces_against_truth(steps):
    pixel, results = steps
    for _, truth, analysis in results:
        for name in ("top", "bottom"):
            found, true = analysis.electrode(name).interfaces, truth.electrodes[name]
            assert abs(found.collector_z_mean_m - true.collector_interface_z_m) < 0.15 * pixel
            assert abs(found.electrolyte_z_mean_m - true.electrolyte_interface_z_m) < 0.15 * pixel


def test_current_density_and_hot_spots_against_truth(steps):
    pixel, results = steps
    _, truth, analysis = results[1]
    for name in ("top", "bottom"):
        found = analysis.electrode(name)
        true = truth.electrodes[name].current_density_A_m2[np.isfinite(found.current_density_map_A_m2)]
        assert found.current_density_mean_A_m2 == pytest.approx(true.mean(), rel=0.1)
    found = [spot for name in ("top", "bottom") for spot in analysis.electrode(name).hotspots]
    assert len(found) == len(truth.hot_spots)
    for true in truth.hot_spots:
        distance = min(np.hypot(s.x_m - true.x_m, s.y_m - true.y_m) for s in found if s.electrode == true.electrode)
        assert distance < 1.5 * pixel


def test_pellet_porosity_against_truth(steps):
    """Against the truth labels' own transparent fraction between the true faces: at 18.75 um voxels the
    majority-vote labels already miss ~24 % of the pores (radii 8-16 um, under a voxel across) of the analytic 5 %."""
    pixel, results = steps
    for _, truth, analysis in results:
        row = np.arange(truth.labels.shape[0])
        faces = [truth.electrodes[name].electrolyte_interface_z_m / pixel for name in ("top", "bottom")]
        pellet = truth.labels[(row - 0.5 >= faces[0]) & (row + 0.5 <= faces[1])]
        pores, solid = np.count_nonzero(pellet == Phase.PORE), np.count_nonzero(pellet == Phase.LLZO)
        assert analysis.llzo_porosity == pytest.approx(pores / (pores + solid), abs=0.003)
        assert analysis.llzo_porosity == pytest.approx(truth.llzo_porosity, abs=0.01)
