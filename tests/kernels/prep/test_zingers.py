import numpy as np
import pytest

from porewatch.kernels.prep.zingers import remove_zingers


def _smooth_frames(rng, shape):
    rows, cols = np.indices(shape[-2:])
    base = 1000.0 + 200.0 * np.sin(rows / 7.0) * np.cos(cols / 5.0)
    return np.broadcast_to(base, shape) + rng.normal(0, 3.0, shape)


def test_isolated_zingers_are_removed_and_the_rest_untouched():
    rng = np.random.default_rng(0)
    frames = _smooth_frames(rng, (4, 40, 50))
    hits = (rng.integers(0, 4, 30), rng.integers(0, 40, 30), rng.integers(0, 50, 30))
    corrupted = frames.copy()
    corrupted[hits] += 5000.0
    cleaned = remove_zingers(corrupted, threshold=100.0)
    assert cleaned.dtype == np.float32 and cleaned.shape == frames.shape
    assert np.abs(cleaned[hits] - frames[hits]).max() < 60.0
    untouched = np.ones(frames.shape, bool)
    untouched[hits] = False
    np.testing.assert_allclose(cleaned[untouched], corrupted[untouched].astype(np.float32))


def test_single_frame_equals_stack_frame_and_dark_outliers_stay():
    rng = np.random.default_rng(1)
    frames = _smooth_frames(rng, (2, 20, 20))
    frames[1, 5, 5] -= 5000.0  # a dead pixel is not a zinger
    stack = remove_zingers(frames, threshold=100.0, size=5)
    np.testing.assert_array_equal(remove_zingers(frames[1], threshold=100.0, size=5), stack[1])
    assert stack[1, 5, 5] == pytest.approx(frames[1, 5, 5])


def test_invalid_parameters():
    frames = np.zeros((5, 5), np.float32)
    with pytest.raises(ValueError, match="threshold"):
        remove_zingers(frames, threshold=0.0)
    with pytest.raises(ValueError, match="size"):
        remove_zingers(frames, threshold=1.0, size=4)
    with pytest.raises(ValueError, match="frames"):
        remove_zingers(np.zeros(5), threshold=1.0)
