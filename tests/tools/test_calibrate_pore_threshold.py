import numpy as np
import pytest

from porewatch.kernels.labels import Phase
from porewatch.kernels.segment.tiling import SegmentedSlices
from porewatch.tools.calibrate_pore_threshold import step_counts, summarise


def _step(predicted_by_threshold, labelled=100):
    """A step's counts where each threshold predicts the given pore voxels, half of them right."""
    counts = {"labelled": labelled, "argmax": {"predicted": 80, "both": 60}}
    for threshold, predicted in predicted_by_threshold.items():
        counts[f"{threshold:.3f}"] = {"predicted": predicted, "both": min(predicted, labelled) // 2}
    return counts


def test_the_threshold_that_keeps_the_slice_wise_pore_volume_is_interpolated():
    thresholds = (0.3, 0.4, 0.5)
    # slice-wise 160 of 200 labelled (0.8); fused pooled 240, 180, 120 of 200
    steps = [_step({0.3: 130, 0.4: 90, 0.5: 70}), _step({0.3: 110, 0.4: 90, 0.5: 50})]
    summary = summarise(steps, thresholds)
    assert summary["threshold"] == pytest.approx(0.4 + 0.1 * (0.9 - 0.8) / (0.9 - 0.6), abs=1e-3)
    assert summary["variants"]["0.400"]["volume_ratio"] == pytest.approx(0.9)
    assert summary["variants"]["argmax"]["pore_iou"] == pytest.approx(120 / (160 + 200 - 120))
    with pytest.raises(ValueError, match="widen --thresholds"):
        summarise([_step({0.3: 95, 0.4: 90, 0.5: 85})], thresholds)


def test_counts_are_taken_inside_the_true_lithium_and_leave_pellet_pores_out():
    truth = np.full((6, 8, 8), Phase.LITHIUM, np.uint8)
    truth[3:] = Phase.LLZO
    truth[1:3, 2:4, 2:4] = Phase.PORE  # a Li pore against the LLZO: 8 voxels
    truth[5, 5:7, 5:7] = Phase.PORE  # a pellet pore, enclosed by LLZO
    labels = truth.copy()
    labels[1, 2, 2:4] = Phase.LITHIUM  # the network misses 2 voxels of the Li pore ...
    share = np.where(labels == Phase.PORE, 0.9, 0.1).astype(np.float32)
    share[1, 2, 2:4] = 0.45  # ... only just: with the slices around, (0.1 + 2 * 0.45 + 0.9) / 4 = 0.475
    segmented = SegmentedSlices(labels, np.full(labels.shape, 0.9, np.float32), share)
    counts = step_counts(segmented, np.arange(6), truth, thresholds=(0.4, 0.5))
    assert counts["labelled"] == 8
    assert counts["argmax"] == {"predicted": 6, "both": 6}
    assert counts["0.400"] == {"predicted": 8, "both": 8}  # Li over the pore: (2 * 0.1 + 0.9) / 3 < 0.4
    assert counts["0.500"] == {"predicted": 6, "both": 6}
