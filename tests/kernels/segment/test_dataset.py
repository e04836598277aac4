import numpy as np
import pytest

from porewatch.kernels.segment.dataset import (
    LabelledSlices,
    electrode_rows,
    intensity_statistics,
    split_slices,
    volume_slices,
)

#: rows [start, stop) and attenuation (1/m): air | steel | Li | LLZO | Li | steel | air
LAYERS = (((3, 10), 550.0), ((10, 24), 7.0), ((24, 40), 1440.0), ((40, 54), 7.0), ((54, 61), 550.0))


def layered_cell(n_z=64, n=48, noise=20.0, seed=0):
    rng = np.random.default_rng(seed)
    mu = np.zeros((n_z, n, n), np.float32)
    for (start, stop), value in LAYERS:
        mu[start:stop] = value
    offset = np.arange(n) - (n - 1) / 2
    mu[:, np.hypot(offset[:, None], offset[None, :]) > 0.4 * n] = 0.0
    return mu + rng.normal(0.0, noise, mu.shape).astype(np.float32)


@pytest.mark.parametrize("margin_px", [0, 3])
def test_electrode_rows_cover_both_li_foils_and_the_margin(margin_px):
    rows = electrode_rows(layered_cell(), margin_px=margin_px)
    expected = np.concatenate([np.arange(10 - margin_px, 25 + margin_px), np.arange(40 - margin_px, 55 + margin_px)])
    assert rows.dtype == np.int64
    assert set(range(10, 24)) | set(range(40, 54)) <= set(rows.tolist())
    assert abs(rows.size - expected.size) <= 2
    assert rows.min() >= 10 - margin_px - 1 and rows.max() <= 54 + margin_px


def test_electrode_rows_of_one_electrode_are_its_band_alone():
    both = electrode_rows(layered_cell(), margin_px=2)
    top, bottom = (electrode_rows(layered_cell(), margin_px=2, electrodes=(name,)) for name in ("top", "bottom"))
    assert top.max() < 30 < bottom.min()
    np.testing.assert_array_equal(np.union1d(top, bottom), both)


@pytest.mark.parametrize("kwargs, message", [(dict(margin_px=-1), "margin_px"), (dict(electrodes=()), "electrodes"),
                                             (dict(electrodes=("middle",)), "electrodes")])
def test_electrode_rows_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        electrode_rows(layered_cell(), **{"margin_px": 1, **kwargs})


def test_volume_slices_take_images_and_labels_of_the_same_rows():
    mu = layered_cell()
    labels = (mu > 300).astype(np.uint8)
    slices = volume_slices(mu, labels, rows=[5, 30], source="cell")
    assert len(slices) == 2 and slices.sources == ("cell z 5", "cell z 30")
    np.testing.assert_array_equal(slices.images[1], mu[30])
    np.testing.assert_array_equal(slices.labels[0], labels[5])
    with pytest.raises(ValueError, match="rows"):
        volume_slices(mu, labels, rows=[64], source="cell")
    with pytest.raises(ValueError, match="labels"):
        volume_slices(mu, labels[:10], rows=[0], source="cell")


def numbered(n):
    return LabelledSlices([np.full((4, 4), i, np.float32) for i in range(n)], [np.zeros((4, 4), np.uint8)] * n,
                          tuple(str(i) for i in range(n)))


def test_default_split_is_the_papers_800_and_200_without_overlap():
    train, val = split_slices(numbered(1200))
    assert (len(train), len(val)) == (800, 200)
    assert not set(train.sources) & set(val.sources)


def test_small_sets_split_in_the_same_proportion():
    train, val = split_slices(numbered(50))
    assert (len(train), len(val)) == (40, 10)
    train, val = split_slices(numbered(2))
    assert (len(train), len(val)) == (1, 1)


def test_intensity_statistics_are_the_pixel_mean_and_std():
    slices = numbered(3)
    mean, std = intensity_statistics(slices)
    assert mean == pytest.approx(1.0) and std == pytest.approx(np.std([0, 1, 2]))
