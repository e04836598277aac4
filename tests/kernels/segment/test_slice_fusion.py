import numpy as np
import pytest

from porewatch.kernels.labels import Phase
from porewatch.kernels.segment.slice_fusion import fuse_pore_decision


def _column(labels, shares, rows=None):
    """One voxel column through ``len(labels)`` slices: (labels, confidence, share, rows) arrays."""
    labels = np.array(labels, np.uint8).reshape(-1, 1, 1)
    share = np.array(shares, np.float32).reshape(-1, 1, 1)
    confidence = np.where(labels == Phase.PORE, share, np.where(labels == Phase.LITHIUM, 1 - share, 0.9))
    rows = np.arange(len(labels)) if rows is None else np.array(rows)
    return labels, confidence.astype(np.float32), share, rows


def test_a_weak_pore_slice_between_strong_ones_becomes_pore_and_a_lone_one_does_not():
    li, pore = Phase.LITHIUM, Phase.PORE
    # slice 2 alone says Li (share 0.4); its neighbours say pore (0.9, 0.8): (0.9 + 2 * 0.4 + 0.8) / 4 = 0.625
    labels, confidence, share, rows = _column([li, pore, li, pore, li], [0.1, 0.9, 0.4, 0.8, 0.1])
    fused, fused_confidence = fuse_pore_decision(labels, confidence, share, rows, threshold=0.5)
    assert fused[:, 0, 0].tolist() == [li, pore, pore, pore, li]
    # it changed class, so its confidence is now the network's pore probability: p_Li * s / (1 - s)
    assert fused_confidence[2, 0, 0] == pytest.approx(confidence[2, 0, 0] * 0.4 / 0.6)
    np.testing.assert_array_equal(fused_confidence[[0, 1, 3, 4]], confidence[[0, 1, 3, 4]])
    # a single uncertain pore slice among confident Li: (0.05 + 2 * 0.55 + 0.05) / 4 = 0.3
    labels, confidence, share, rows = _column([li, pore, li], [0.05, 0.55, 0.05])
    fused, _ = fuse_pore_decision(labels, confidence, share, rows, threshold=0.5)
    assert fused[:, 0, 0].tolist() == [li, li, li]
    fused, _ = fuse_pore_decision(labels, confidence, share, rows, threshold=0.25)
    assert fused[:, 0, 0].tolist() == [li, pore, li]


def test_other_phases_and_non_adjacent_rows_do_not_dilute_the_share():
    li, pore, llzo = Phase.LITHIUM, Phase.PORE, Phase.LLZO
    # a Li voxel right against LLZO: only its Li neighbour counts, (2 * 0.45 + 0.9) / 3 = 0.6
    labels, confidence, share, rows = _column([llzo, li, pore], [0.0, 0.45, 0.9])
    fused, fused_confidence = fuse_pore_decision(labels, confidence, share, rows, threshold=0.5)
    assert fused[:, 0, 0].tolist() == [llzo, pore, pore]
    assert fused_confidence[0, 0, 0] == confidence[0, 0, 0]
    # the same column split between two electrode bands (rows 10 and 40): no neighbours, no change
    labels, confidence, share, rows = _column([li, li, pore], [0.45, 0.45, 0.9], rows=[9, 10, 40])
    fused, _ = fuse_pore_decision(labels, confidence, share, rows, threshold=0.5)
    assert fused[:, 0, 0].tolist() == [li, li, pore]


def test_a_whole_volume_keeps_its_phases_and_shape():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, len(Phase), (6, 8, 9)).astype(np.uint8)
    share = rng.uniform(0, 0.5, labels.shape).astype(np.float32)  # as a network's: the class label has the larger share
    share = np.where(labels == Phase.PORE, 1 - share, share)
    confidence = rng.uniform(0.5, 1, labels.shape).astype(np.float32)
    fused, fused_confidence = fuse_pore_decision(labels, confidence, share, np.arange(6), threshold=0.4)
    assert fused.shape == labels.shape and fused.dtype == np.uint8 and fused_confidence.dtype == np.float32
    candidate = np.isin(labels, (Phase.PORE, Phase.LITHIUM))
    np.testing.assert_array_equal(fused[~candidate], labels[~candidate])
    assert np.all(np.isin(fused[candidate], (Phase.PORE, Phase.LITHIUM)))
    assert np.all((fused_confidence >= 0) & (fused_confidence <= 1))


@pytest.mark.parametrize("change, message", [
    (dict(threshold=1.0), "threshold"),
    (dict(rows=np.arange(4)), "rows"),
    (dict(pore_share=np.zeros((3, 2, 1), np.float32)), "pore_share"),
    (dict(confidence=np.zeros((3, 2), np.float32)), "confidence"),
])
def test_inconsistent_inputs_are_named(change, message):
    args = dict(labels=np.full((3, 2, 2), Phase.LITHIUM, np.uint8), confidence=np.ones((3, 2, 2), np.float32),
                pore_share=np.zeros((3, 2, 2), np.float32), rows=np.arange(3), threshold=0.4)
    args.update(change)
    threshold = args.pop("threshold")
    with pytest.raises(ValueError, match=message):
        fuse_pore_decision(**args, threshold=threshold)
