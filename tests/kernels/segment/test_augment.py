import numpy as np
import pytest

from porewatch.kernels.segment.augment import Augmentation, augment

GEOMETRY_ONLY = dict(gain_range=(1.0, 1.0), offset_std_per_m=0.0, noise_std_range_per_m=(0.0, 0.0))


def labelled_slice(shape=(40, 50), seed=0):
    labels = np.random.default_rng(seed).integers(0, 5, shape).astype(np.uint8)
    return 100.0 * labels.astype(np.float32), labels


@pytest.mark.parametrize("seed", range(4))
def test_flips_and_quarter_turns_move_image_and_labels_together(seed):
    image, labels = labelled_slice()
    settings = Augmentation(crop_px=32, angle_probability=0.0, **GEOMETRY_ONLY)
    out_image, out_labels = augment(image, labels, settings=settings, rng=np.random.default_rng(seed))
    assert out_image.shape == out_labels.shape == (32, 32)
    assert out_image.dtype == np.float32 and out_labels.dtype == np.uint8
    np.testing.assert_array_equal(out_image, 100.0 * out_labels)


def test_free_rotations_keep_labels_nearest_and_values_in_range():
    image, labels = labelled_slice()
    settings = Augmentation(crop_px=32, angle_probability=1.0, **GEOMETRY_ONLY)
    out_image, out_labels = augment(image, labels, settings=settings, rng=np.random.default_rng(1))
    assert set(np.unique(out_labels)) <= set(range(5))
    assert out_image.min() >= -1e-3 and out_image.max() <= 400 + 1e-3


def test_small_slices_are_padded_to_the_crop():
    image, labels = labelled_slice((20, 24))
    out_image, out_labels = augment(image, labels, settings=Augmentation(crop_px=32), rng=np.random.default_rng(0))
    assert out_image.shape == out_labels.shape == (32, 32)


def test_intensity_jitter_changes_the_image_only():
    image, labels = labelled_slice()
    settings = Augmentation(crop_px=40, rotate=False, flip=False, noise_std_range_per_m=(5.0, 5.0))
    out_image, out_labels = augment(image[:, :40], labels[:, :40], settings=settings, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(out_labels, labels[:, :40])
    gain, offset = np.polyfit(image[:, :40].ravel(), out_image.ravel(), 1)
    residual = out_image - (gain * image[:, :40] + offset)
    assert 0.9 <= gain <= 1.1
    assert np.std(residual) == pytest.approx(5.0, rel=0.1)


def test_mismatched_shapes_are_rejected():
    with pytest.raises(ValueError, match="shape"):
        augment(np.zeros((4, 4)), np.zeros((4, 5)), settings=Augmentation(), rng=np.random.default_rng(0))
