import numpy as np
import pytest

from porewatch.kernels.segment.dataset import (
    LabelledSlices,
    electrode_rows,
    intensity_statistics,
    slice_blocks,
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


def rows_of(volumes: dict[str, range]) -> LabelledSlices:
    """Slices named as volume_slices names them, ``"<volume> z <row>"``."""
    sources = tuple(f"{volume} z {row}" for volume, rows in volumes.items() for row in rows)
    return LabelledSlices([np.zeros((4, 4), np.float32)] * len(sources), [np.zeros((4, 4), np.uint8)] * len(sources),
                          sources)


def located(slices: LabelledSlices) -> set[tuple[str, int]]:
    return {(volume, int(row)) for volume, row in (source.rsplit(" z ", 1) for source in slices.sources)}


def test_blocks_are_runs_of_consecutive_rows_of_one_volume():
    sources = [f"a z {k}" for k in (5, 3, 4, 9, 10, 11, 12, 13)] + ["b z 6", "loose", "loose"]
    blocks = [[sources[i] for i in block] for block in slice_blocks(sources, block_slices=3)]
    assert blocks == [["a z 3", "a z 4", "a z 5"], ["a z 9", "a z 10", "a z 11"], ["a z 12", "a z 13"],
                      ["b z 6"], ["loose"], ["loose"]]


def test_validation_holds_out_whole_blocks_with_guard_rows_from_training():
    slices = rows_of({"cell 1 step 0": range(100, 700), "cell 2 step 0": range(40, 640)})
    train, val = split_slices(slices, seed=3)
    assert len(val) == 200 and len(train) == 800
    held_out, trained = located(val), located(train)
    assert not held_out & trained
    for volume, row in held_out:  # two free rows on either side of every validation run
        assert all((volume, row + shift) not in trained for shift in (-2, -1, 1, 2))
    blocks = [located(slices.subset(block)) for block in slice_blocks(slices.sources, block_slices=20)]
    assert sum(block <= held_out for block in blocks) == 10  # ten whole blocks of 20 rows
    assert all(block <= held_out or not block & held_out for block in blocks)


def test_guard_rows_apply_within_one_volume_only():
    train, val = split_slices(rows_of({"a": range(40), "b": range(40)}), n_train=60, n_val=20, seed=0)
    ((volume, _),) = {(v, r // 20) for v, r in located(val)}  # one whole block of 20 rows
    other = "b" if volume == "a" else "a"
    assert {(other, row) for row in range(40)} <= located(train)
    assert len(train) == 40 + 20 - 2


def test_blocks_of_one_without_guard_are_a_random_split():
    train, val = split_slices(rows_of({"cell": range(1000)}), block_slices=1, guard_slices=0, seed=1)
    assert (len(train), len(val)) == (800, 200)
    rows = sorted(row for _, row in located(val))
    assert sum(b - a == 1 for a, b in zip(rows, rows[1:])) < 100  # about 40 neighbours by chance, not 190


def test_single_slices_using_every_slice_reproduce_the_earlier_random_split():
    slices = rows_of({"cell 1": range(30), "cell 2": range(20)})
    train, val = split_slices(slices, n_train=40, n_val=10, block_slices=1, guard_slices=0, seed=7)
    order = np.random.default_rng(7).permutation(50)  # what models up to commit c7950d1 were trained with
    assert train.sources == tuple(slices.sources[i] for i in order[:40])
    assert val.sources == tuple(slices.sources[i] for i in order[40:])


def test_a_guard_that_leaves_no_training_slice_is_refused():
    with pytest.raises(ValueError, match="no training slice"):
        split_slices(rows_of({"cell": range(5)}), n_train=4, n_val=1, block_slices=1, guard_slices=5)


def test_small_sets_split_in_the_same_proportion():
    train, val = split_slices(numbered(50))
    assert (len(train), len(val)) == (40, 10)
    train, val = split_slices(numbered(2))
    assert (len(train), len(val)) == (1, 1)


def test_intensity_statistics_are_the_pixel_mean_and_std():
    slices = numbered(3)
    mean, std = intensity_statistics(slices)
    assert mean == pytest.approx(1.0) and std == pytest.approx(np.std([0, 1, 2]))
