"""Galvanostatic evolution: charge balance, current normalisation, pores and voids."""

import numpy as np
import pytest

from porewatch.kernels.constants import FARADAY_C_PER_MOL, MOLAR_VOLUME_LI_M3_PER_MOL
from porewatch.kernels.simulate import CellSpec, GalvanostaticStep, default_steps, evolve
from porewatch.kernels.simulate.pores import Spheres

SPEC = CellSpec()


@pytest.fixture(scope="module")
def states():
    return evolve(SPEC, default_steps())


def _cell_grid(n=801):
    xy = np.linspace(-SPEC.cell_radius_m, SPEC.cell_radius_m, n)
    x, y = np.meshgrid(xy, xy)
    return x, y, x**2 + y**2 < SPEC.cell_radius_m**2


def test_default_steps_are_pristine_plate_strip(states):
    assert [s.step.name for s in states] == ["pristine", "plate", "strip"]
    assert [s.index for s in states] == [0, 1, 2]
    assert states[1].step.current_density_A_m2 > 0 > states[2].step.current_density_A_m2


@pytest.mark.parametrize("electrode", ["top", "bottom"])
def test_current_density_area_mean_is_applied(states, electrode):
    x, y, inside = _cell_grid()
    state = states[1]
    e = getattr(state, electrode)
    j = e.current_density_A_m2(x, y, applied_A_m2=0.25, cell_radius_m=SPEC.cell_radius_m)
    assert abs(j[inside].mean() - 0.25) < 0.25 * 2e-3
    peak_ratio = j[inside].max() / 0.25
    assert 4.0 < peak_ratio < 6.5


def test_thickness_change_matches_faraday(states):
    x, y, inside = _cell_grid()
    step = states[1].step
    expected = step.charge_density_C_m2 * MOLAR_VOLUME_LI_M3_PER_MOL / FARADAY_C_PER_MOL
    for name, sign in (("top", 1), ("bottom", -1)):
        before = getattr(states[0], name).thickness_m(x, y)[inside]
        after = getattr(states[1], name).thickness_m(x, y)[inside]
        assert abs((after - before).mean() - sign * expected) < 0.01 * expected


def test_hot_spot_caps_follow_the_local_charge(states):
    plated = states[1].top
    spots = plated.hot_spots
    local = plated.current_density_A_m2(spots.x_m, spots.y_m, applied_A_m2=0.25,
                                        cell_radius_m=SPEC.cell_radius_m)
    before = states[0].top.thickness_m(spots.x_m, spots.y_m)
    change = plated.thickness_m(spots.x_m, spots.y_m) - before
    np.testing.assert_allclose(change, local * states[1].step.duration_s
                               * MOLAR_VOLUME_LI_M3_PER_MOL / FARADAY_C_PER_MOL, rtol=1e-12)


def test_plate_then_strip_restores_thickness(states):
    for name in ("top", "bottom"):
        before, after = getattr(states[0], name), getattr(states[2], name)
        assert after.base_thickness_m == pytest.approx(before.base_thickness_m, abs=1e-15)
        np.testing.assert_allclose(after.hot_spots.amplitude_m, 0.0, atol=1e-15)


def test_voids_only_on_the_stripping_electrode_near_the_interface(states):
    pristine, plated, stripped = states
    assert len(pristine.top.voids) == len(pristine.bottom.voids) == 0
    assert len(plated.top.voids) == 0 and len(plated.bottom.voids) > 20
    # voids persist: the top electrode gains some on stripping, the bottom keeps its own
    assert len(stripped.bottom.voids) == len(plated.bottom.voids)
    assert len(stripped.top.voids) == pytest.approx(len(plated.bottom.voids), abs=1)
    voids = plated.bottom.voids
    depth = plated.bottom.depth_m(voids.centres_m[:, 2])
    assert np.all(depth >= voids.radii_m)
    assert np.all(depth <= voids.radii_m + SPEC.void_depth_spread_m)


def test_void_count_is_proportional_to_stripped_charge():
    short, long = (evolve(SPEC, [GalvanostaticStep("plate", 0.25, hours * 3600.0)])[0]
                   for hours in (24, 48))
    assert len(long.bottom.voids) == pytest.approx(2 * len(short.bottom.voids), abs=1)


def test_voids_prefer_hot_spots(states):
    bottom = states[1].bottom
    spots = bottom.hot_spots
    x, y, _ = bottom.voids.centres_m.T
    in_spot = bottom.hot_spots.footprints(x, y).max(axis=0) > 0
    area_share = float(np.sum(spots.radius_m**2)) / SPEC.cell_radius_m**2
    assert in_spot.mean() > 5 * area_share


def _assert_disjoint(spheres: Spheres):
    c, r = spheres.centres_m, spheres.radii_m
    gaps = np.linalg.norm(c[:, None] - c[None], axis=-1) - (r[:, None] + r[None])
    np.fill_diagonal(gaps, np.inf)
    assert gaps.min() >= 0


def test_pores_stay_inside_their_phase_and_do_not_overlap(states):
    state = states[2]
    half = SPEC.llzo_thickness_m / 2
    llzo = state.llzo_pores
    assert np.all(np.abs(llzo.centres_m[:, 2]) + llzo.radii_m <= half)
    assert np.all(np.hypot(*llzo.centres_m[:, :2].T) + llzo.radii_m <= SPEC.cell_radius_m)
    pellet = SPEC.cell_area_m2 * SPEC.llzo_thickness_m
    assert llzo.volume_m3 / pellet == pytest.approx(0.05, rel=0.01)
    _assert_disjoint(llzo)
    for e in state.electrodes:
        spheres = e.pores.concat(e.voids)
        x, y, z = spheres.centres_m.T
        assert np.all(e.depth_m(z) - spheres.radii_m >= 0)
        assert np.all(e.depth_m(z) + spheres.radii_m < e.thickness_m(x, y))
        _assert_disjoint(spheres)


def test_llzo_is_more_porous_under_hot_spots(states):
    state = states[0]
    pores = state.llzo_pores
    spots = state.top.hot_spots
    x, y, z = pores.centres_m.T
    near_top = z < -SPEC.llzo_thickness_m / 2 + SPEC.anomaly_depth_m
    in_column = (spots.footprints(x, y).max(axis=0) > 0) & near_top
    column_volume = np.pi * np.sum(spots.radius_m**2) * SPEC.anomaly_depth_m
    column_porosity = pores.select(in_column).volume_m3 / column_volume
    assert column_porosity > 1.8 * SPEC.llzo_porosity


def test_same_seed_same_cell_other_seed_other_cell():
    a, b = (evolve(SPEC, default_steps()[:2])[1] for _ in range(2))
    c = evolve(CellSpec(seed=SPEC.seed + 1), default_steps()[:2])[1]
    np.testing.assert_array_equal(a.llzo_pores.centres_m, b.llzo_pores.centres_m)
    np.testing.assert_array_equal(a.bottom.voids.radii_m, b.bottom.voids.radii_m)
    assert not np.array_equal(a.top.hot_spots.x_m, c.top.hot_spots.x_m)


def test_overstripping_is_rejected():
    with pytest.raises(ValueError, match="steps"):
        evolve(SPEC, [GalvanostaticStep("strip", -2.0, 72 * 3600.0)])


@pytest.mark.parametrize("field, value", [
    ("llzo_porosity", 1.2), ("cell_radius_m", -1.0), ("hot_spot_gain_range", (5.0, 4.0)),
    ("hot_spots_per_electrode", (1, -1)), ("anomaly_depth_m", 1.0)])
def test_invalid_spec_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        CellSpec(**{field: value})
