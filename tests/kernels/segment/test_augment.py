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


def images_in_place(image, labels, n_seeds=12, **changes):
    """The augmented images of ``n_seeds`` draws that neither crop, rotate nor flip, checking the labels stay."""
    settings = Augmentation(crop_px=image.shape[0], rotate=False, flip=False, **GEOMETRY_ONLY, **changes)
    images = []
    for seed in range(n_seeds):
        out_image, out_labels = augment(image, labels, settings=settings, rng=np.random.default_rng(seed))
        np.testing.assert_array_equal(out_labels, labels)
        images.append(out_image)
    return images


def test_extra_blur_smooths_the_image_only_and_half_the_time():
    image, labels = labelled_slice((40, 40))
    roughness = []
    for out_image in images_in_place(image, labels, extra_blur_max_px=2.0):
        assert out_image.mean() == pytest.approx(image.mean(), rel=1e-3)
        roughness.append(np.abs(np.diff(out_image, axis=1)).mean() / np.abs(np.diff(image, axis=1)).mean())
    assert min(roughness) < 0.8 and max(roughness) == pytest.approx(1.0)


def test_background_field_is_smooth_bounded_and_changes_the_image_only():
    image, labels = labelled_slice((64, 64))
    fields = [out_image - image for out_image in images_in_place(image, labels, background_max_per_m=100.0)]
    added = [f for f in fields if np.abs(f).max() > 0]
    assert 0 < len(added) < len(fields)
    for field in added:
        assert 0.0 <= field.mean() <= 100.0 + 1e-3
        assert field.std() <= 100.0 + 1e-3
        # smooth: neighbouring pixels differ far less than the field varies
        assert np.abs(np.diff(field, axis=0)).mean() < 0.25 * max(field.std(), 1e-3) + 1e-3


@pytest.mark.parametrize("name", ["extra_blur_max_px", "background_max_per_m"])
def test_negative_resolution_and_background_ranges_are_rejected(name):
    with pytest.raises(ValueError, match=name):
        Augmentation(**{name: -1.0})


def test_mismatched_shapes_are_rejected():
    with pytest.raises(ValueError, match="shape"):
        augment(np.zeros((4, 4)), np.zeros((4, 5)), settings=Augmentation(), rng=np.random.default_rng(0))
