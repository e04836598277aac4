import numpy as np
import pytest

from porewatch.kernels.segment.tiling import SIZE_MULTIPLE, flip_averaged, segment_slices, tile_layout

N_CLASSES = 3


def pixelwise_probabilities(batch):
    """A translation-equivariant stand-in network: per-pixel softmax of (x, -x, 0)."""
    x = batch[:, 0]
    logits = np.stack([x, -x, np.zeros_like(x)], axis=1)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("shape, tile_px, overlap_px", [((100, 300), 64, 16), ((37, 37), 256, 32), ((200, 96), 96, 48)])
def test_tiled_result_equals_the_whole_slice_for_a_pixelwise_network(shape, tile_px, overlap_px):
    rng = np.random.default_rng(0)
    images = rng.normal(0.0, 2.0, (3, *shape)).astype(np.float32)
    labels, confidence, share = segment_slices(images, predict=pixelwise_probabilities, n_classes=N_CLASSES,
                                               tile_px=tile_px, overlap_px=overlap_px, batch_size=4, share_of=(0, 2))
    direct = pixelwise_probabilities(images[:, None])
    assert labels.dtype == np.uint8 and confidence.dtype == np.float32 and share.dtype == np.float32
    assert labels.shape == confidence.shape == share.shape == images.shape
    np.testing.assert_array_equal(labels, direct.argmax(axis=1))
    np.testing.assert_allclose(confidence, direct.max(axis=1), rtol=1e-5)
    np.testing.assert_allclose(share, direct[:, 0] / (direct[:, 0] + direct[:, 2]), rtol=1e-5)


def test_no_share_unless_asked_and_a_share_needs_two_classes():
    images = np.zeros((1, 64, 64), np.float32)
    assert segment_slices(images, predict=pixelwise_probabilities, n_classes=N_CLASSES).share is None
    for pair in ((1, 1), (0, N_CLASSES), (0,)):
        with pytest.raises(ValueError, match="share_of"):
            segment_slices(images, predict=pixelwise_probabilities, n_classes=N_CLASSES, share_of=pair)


def test_position_dependent_outputs_are_blended_into_probabilities_that_sum_to_one():
    calls = []

    def tile_index_network(batch):
        calls.append(batch.shape)
        out = np.zeros((batch.shape[0], N_CLASSES, *batch.shape[2:]), dtype=np.float32)
        for k in range(batch.shape[0]):
            out[k, (len(calls) + k) % N_CLASSES] = 1.0
        return out

    images = np.zeros((2, 150, 150), dtype=np.float32)
    labels, confidence, _ = segment_slices(images, predict=tile_index_network, n_classes=N_CLASSES, tile_px=64,
                                           overlap_px=16, batch_size=5)
    assert all(shape[0] <= 5 and shape[2] % SIZE_MULTIPLE == 0 and shape[3] % SIZE_MULTIPLE == 0 for shape in calls)
    assert np.all((confidence >= 1 / N_CLASSES - 1e-6) & (confidence <= 1 + 1e-6))
    assert np.any(confidence < 0.99), "overlaps of disagreeing tiles must blend"
    assert np.all(np.isin(labels, range(N_CLASSES)))


def test_layout_pads_to_multiples_of_32_and_overlaps_by_at_least_the_request():
    layout = tile_layout((500, 70), tile_px=128, overlap_px=32)
    assert layout.padded_shape == (512, 96)
    assert layout.tile_shape == (128, 96)
    assert layout.starts_y[0] == 0 and layout.starts_y[-1] + 128 == 512
    assert min(np.diff(layout.starts_y)) <= 128 - 32
    assert layout.starts_x == (0,)
    assert layout.weights.shape == (128, 96) and layout.weights.min() > 0 and layout.weights.max() == 1


@pytest.mark.parametrize("kwargs, message", [(dict(tile_px=100, overlap_px=0), "tile_px"),
                                             (dict(tile_px=64, overlap_px=40), "overlap_px")])
def test_invalid_layouts_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tile_layout((64, 64), **kwargs)


def test_wrong_network_output_shape_is_reported():
    with pytest.raises(ValueError, match="predict returned"):
        segment_slices(np.zeros((1, 64, 64), np.float32), predict=lambda b: np.zeros((1, 2, 64, 64)), n_classes=3)


def _corner_network(batch):
    """Class 1 in the top-left quadrant of each input, class 0 elsewhere: not mirror-symmetric."""
    out = np.zeros((batch.shape[0], 2, *batch.shape[2:]), dtype=np.float32)
    out[:, 0] = 1.0
    h, w = batch.shape[2] // 2, batch.shape[3] // 2
    out[:, 1, :h, :w], out[:, 0, :h, :w] = 1.0, 0.0
    return out


def test_flip_averaging_maps_each_mirror_image_back():
    batch = np.arange(2 * 32 * 64, dtype=np.float32).reshape(2, 1, 32, 64)
    averaged = flip_averaged(_corner_network)(batch)
    assert averaged.shape == (2, 2, 32, 64) and averaged.dtype == np.float32
    np.testing.assert_allclose(averaged.sum(axis=1), 1.0)
    np.testing.assert_allclose(averaged[:, 1], 0.25)  # each quadrant is top-left in exactly one mirror image
    pointwise = lambda b: np.concatenate([np.tanh(b) ** 2, 1 - np.tanh(b) ** 2], axis=1)  # noqa: E731
    np.testing.assert_allclose(flip_averaged(pointwise)(batch / 1000), pointwise(batch / 1000), rtol=1e-6)
