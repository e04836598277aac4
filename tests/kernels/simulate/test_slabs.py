"""Slab means of the cell: exact sphere parts, exact layer fractions, interfaces moving the projections smoothly."""

import dataclasses

import numpy as np
import pytest

from porewatch.kernels.constants import AIR, LITHIUM, STEEL
from porewatch.kernels.simulate import CellSpec, DetectorSpec, line_integrals, pristine_cell
from porewatch.kernels.simulate.pores import Spheres
from porewatch.kernels.simulate.slabs import SphereSlabs, _sphere_slabs, slab_sections


def test_sphere_parts_integrate_to_the_projected_area():
    """Summed over slabs, h x mean chord of a sphere is pi (R^2 - d^2) at distance d from its axis."""
    spheres = Spheres(np.array([[0.1, -0.2, 0.37]]), np.array([0.9]))
    parts = SphereSlabs(*_sphere_slabs(spheres, np.linspace(-1.0, 2.0, 14), (1.0, 0.0)))
    d = np.linspace(-1.0, 1.0, 9)
    total = parts.mean_chords(np.arange(parts.plane.size), np.broadcast_to(d, (parts.plane.size, d.size))).sum(axis=0)
    np.testing.assert_allclose(total, np.pi * np.clip(0.81 - d**2, 0, None), rtol=1e-7, atol=1e-12)


def test_layer_means_are_exact_partial_volumes():
    spec = CellSpec(llzo_porosity=0.0, lithium_porosity=0.0)
    state = pristine_cell(spec)
    interface = -(spec.llzo_thickness_m / 2 + spec.lithium_thickness_m)  # top steel | Li, cell frame
    edges = np.array([interface - 3e-6, interface + 1e-6, interface + 5e-6])
    sections, _ = slab_sections(state, z_edges_m=edges)
    steel, lithium = STEEL.mu_per_m - AIR.mu_per_m, LITHIUM.mu_per_m - AIR.mu_per_m
    np.testing.assert_allclose(sections.base[:, 0], [0.75 * steel + 0.25 * lithium, lithium], rtol=1e-12)


def test_projections_follow_a_sub_voxel_move_of_the_li_linearly():
    """Moving the top Li|steel face a quarter voxel into the steel changes each column's sum over rows by
    a quarter of (mu_Li - mu_steel) times its chord: no snapping to sub-rows."""
    spec = CellSpec(llzo_porosity=0.0, lithium_porosity=0.0, hot_spots_per_electrode=(0, 0))
    detector = DetectorSpec.for_cell(spec, n_cols=32, n_angles=2)
    state = pristine_cell(spec)
    thicker = dataclasses.replace(state.top, base_thickness_m=state.top.base_thickness_m + 0.25 * detector.pixel_size_m)
    moved = dataclasses.replace(state, top=thicker)
    difference = (line_integrals(moved, detector).astype(np.float64) - line_integrals(state, detector)).sum(axis=1)
    s_samples = detector.column_s_m(2).reshape(-1, 2)
    chords = 2 * np.sqrt(np.clip(spec.cell_radius_m**2 - s_samples**2, 0, None)).mean(axis=1)
    expected = 0.25 * (LITHIUM.mu_per_m - STEEL.mu_per_m) * chords
    np.testing.assert_allclose(difference, np.broadcast_to(expected, difference.shape), rtol=1e-3, atol=1e-4)
