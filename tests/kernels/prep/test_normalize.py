import numpy as np
import pytest

from porewatch.kernels.prep.normalize import DEFAULT_MIN_TRANSMISSION, minus_log, normalize


@pytest.fixture
def frames():
    rng = np.random.default_rng(0)
    shape = (5, 6, 7)
    transmission = rng.uniform(0.05, 1.0, size=shape)
    dark_level = rng.uniform(90, 110, size=shape[1:])
    flat_level = dark_level + rng.uniform(3000, 5000, size=shape[1:])
    darks = dark_level + rng.normal(0, 1, size=(4, *shape[1:]))
    flats = flat_level + rng.normal(0, 1, size=(3, *shape[1:]))
    projections = darks.mean(0) + transmission * (flats.mean(0) - darks.mean(0))
    return projections, flats, darks, transmission


def test_normalize_recovers_transmission_from_averaged_references(frames):
    projections, flats, darks, transmission = frames
    result = normalize(projections.astype(np.float32), flats, darks)
    assert result.dtype == np.float32 and result.flags.c_contiguous
    np.testing.assert_allclose(result, transmission, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64])
def test_normalize_single_frame_and_dtypes_match_stack(frames, dtype):
    projections, flats, darks, _ = frames
    raw = np.round(projections).astype(dtype)
    stack = normalize(raw, flats.astype(dtype), darks.astype(dtype))
    frame = normalize(raw[2], flats.astype(dtype).mean(0), darks.astype(dtype).mean(0))
    np.testing.assert_allclose(frame, stack[2], rtol=1e-6)


def test_normalize_guards_dead_pixels_and_negative_counts():
    darks = np.full((2, 2, 2), 100.0)
    flats = np.array([[[1100.0, 100.0], [90.0, 1100.0]]] * 2)  # flat == dark and flat < dark
    projections = np.array([[[600.0, 50.0], [500.0, 50.0]]])  # last pixel below the dark
    result = normalize(projections, flats, darks)
    np.testing.assert_allclose(result[0], [[0.5, 1.0], [1.0, 0.0]])
    assert np.all(np.isfinite(minus_log(result)))


def test_normalize_writes_into_out_buffer(frames):
    projections, flats, darks, _ = frames
    buffer = projections.astype(np.float32)
    result = normalize(buffer, flats, darks, out=buffer)
    assert result is buffer
    np.testing.assert_allclose(result, normalize(projections, flats, darks), rtol=1e-6)


def test_normalize_rejects_bad_inputs(frames):
    projections, flats, darks, _ = frames
    with pytest.raises(ValueError, match="flats"):
        normalize(projections, flats[:, :-1], darks)
    with pytest.raises(TypeError, match="projections"):
        normalize(projections.tolist(), flats, darks)
    with pytest.raises(ValueError, match="out"):
        normalize(projections, flats, darks, out=np.empty(projections.shape, np.float64))


def test_minus_log_inverts_beer_lambert_and_floors():
    line_integrals = np.linspace(0.0, 5.0, 11, dtype=np.float32)
    np.testing.assert_allclose(minus_log(np.exp(-line_integrals)), line_integrals, atol=1e-5)
    floored = minus_log(np.array([0.0, -1.0], dtype=np.float32))
    np.testing.assert_allclose(floored, -np.log(DEFAULT_MIN_TRANSMISSION), rtol=1e-6)
    buffer = np.exp(-line_integrals)
    assert minus_log(buffer, out=buffer) is buffer
    with pytest.raises(ValueError, match="min_transmission"):
        minus_log(buffer, min_transmission=0.0)
