import numpy as np
import pytest

from porewatch.kernels.constants import BEAM_ENERGY_KEV, LITHIUM, LLZO, wavelength_m
from porewatch.kernels.prep.normalize import minus_log
from porewatch.kernels.prep.phase import material_delta_over_beta, paganin, paganin_length_m
from porewatch.kernels.simulate.optics import exit_wave, fresnel_propagate, fringe_margin_px

PIXEL_M, DISTANCE_M, THICKNESS_M, PORE_RADIUS_M = 1e-6, 0.1, 1.5e-3, 5e-6
ROWS, COLS, INTERFACE_ROW = 640, 64, 160
DEPTHS_M = (40e-6, 200e-6, 400e-6)


@pytest.fixture(scope="module")
def interface_intensity():
    """Propagated intensity across an LLZO (top) | Li (bottom) edge, with 10 um pores in Li."""
    z = (np.arange(ROWS) - INTERFACE_ROW)[:, None] * PIXEL_M
    x = (np.arange(COLS) - COLS / 2)[None, :] * PIXEL_M
    llzo = np.broadcast_to(z < 0, (ROWS, COLS))
    mu = np.where(llzo, LLZO.mu_per_m, LITHIUM.mu_per_m) * THICKNESS_M
    delta = np.where(llzo, LLZO.delta, LITHIUM.delta) * THICKNESS_M
    for depth in DEPTHS_M:
        chord = 2 * np.sqrt(np.clip(PORE_RADIUS_M**2 - (z - depth) ** 2 - x**2, 0, None))
        mu, delta = mu - LITHIUM.mu_per_m * chord, delta - LITHIUM.delta * chord
    wavelength = wavelength_m(BEAM_ENERGY_KEV)
    optics = {"wavelength_m": wavelength, "distance_m": DISTANCE_M, "pixel_size_m": PIXEL_M}
    wave = fresnel_propagate(exit_wave(mu, delta, wavelength_m=wavelength), pad_px=fringe_margin_px(**optics),
                             **optics)
    return (np.abs(wave) ** 2).astype(np.float32)


def _retrieve(intensity, material):
    return paganin(intensity, pixel_size_m=PIXEL_M, distance_m=DISTANCE_M, energy_kev=BEAM_ENERGY_KEV,
                   delta_over_beta=material_delta_over_beta(material))


def _pore_and_li(result, depth_m):
    row = INTERFACE_ROW + round(depth_m / PIXEL_M)
    return result[row, COLS // 2], result[row, 4]


def _edge_width_px(result):
    profile = result[: INTERFACE_ROW + 300, 4]
    fraction = (profile - profile[-1]) / (profile[0] - profile[-1])
    return np.argmax(fraction < 0.1) - np.argmax(fraction < 0.9)


def test_ratios_and_filter_lengths_of_the_cell_materials():
    assert material_delta_over_beta(LITHIUM) == pytest.approx(1742, rel=0.01)
    assert material_delta_over_beta(LLZO) == pytest.approx(85, rel=0.02)
    length = paganin_length_m(distance_m=0.1, energy_kev=BEAM_ENERGY_KEV, delta_over_beta=1742)
    assert length == pytest.approx(15e-6, rel=0.02)


def test_lithium_ratio_recovers_pore_absorption_but_llzo_halo_inverts_it(interface_intensity):
    result = _retrieve(interface_intensity, LITHIUM)
    bulk_li = LITHIUM.mu_per_m * THICKNESS_M
    expected_contrast = -LITHIUM.mu_per_m * 2 * PORE_RADIUS_M
    pore, li = _pore_and_li(result, 400e-6)
    assert li == pytest.approx(bulk_li, rel=0.01)
    assert pore - li == pytest.approx(expected_contrast, rel=0.1)
    near_pore, near_li = _pore_and_li(result, 40e-6)
    assert near_pore < near_li  # still darker than the Li beside it ...
    assert near_pore > bulk_li  # ... but brighter than bulk Li: inverted for a global threshold
    assert _pore_and_li(result, 200e-6)[0] < bulk_li
    assert 45 <= _edge_width_px(result) <= 60


def test_llzo_ratio_keeps_the_edge_sharp_but_leaves_pore_fringes(interface_intensity):
    result = _retrieve(interface_intensity, LLZO)
    pore, li = _pore_and_li(result, 40e-6)
    assert pore < LITHIUM.mu_per_m * THICKNESS_M  # no inversion 40 um from the LLZO
    assert abs(pore - li) > 5 * LITHIUM.mu_per_m * 2 * PORE_RADIUS_M  # fringe, not absorption
    assert _edge_width_px(result) < 0.3 * _edge_width_px(_retrieve(interface_intensity, LITHIUM))


def test_zero_distance_is_minus_log_and_stack_matches_frames():
    rng = np.random.default_rng(2)
    frames = rng.uniform(0.2, 1.0, size=(3, 20, 24)).astype(np.float32)
    kwargs = {"pixel_size_m": 1e-6, "energy_kev": BEAM_ENERGY_KEV, "delta_over_beta": 1742}
    np.testing.assert_allclose(paganin(frames, distance_m=0.0, **kwargs), minus_log(frames), atol=1e-6)
    stack = paganin(frames, distance_m=0.05, **kwargs)
    assert stack.dtype == np.float32 and stack.shape == frames.shape
    np.testing.assert_allclose(paganin(frames[1], distance_m=0.05, **kwargs), stack[1], atol=1e-6)
    with pytest.raises(ValueError, match="delta_over_beta"):
        paganin(frames, distance_m=0.05, pixel_size_m=1e-6, energy_kev=76.2, delta_over_beta=0)
