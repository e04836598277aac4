import numpy as np
import pytest

from porewatch.kernels.segment.metrics import confusion_matrix, iou_dice


def test_iou_and_dice_of_a_known_overlap():
    truth = np.array([[0, 0, 1, 1], [0, 0, 1, 1]])
    predicted = np.array([[0, 1, 1, 1], [0, 0, 1, 2]])
    confusion = confusion_matrix(predicted, truth, n_classes=3)
    assert confusion.tolist() == [[3, 1, 0], [0, 3, 1], [0, 0, 0]]
    iou, dice = iou_dice(confusion)
    np.testing.assert_allclose(iou[:2], [3 / 4, 3 / 5])
    np.testing.assert_allclose(dice[:2], [6 / 7, 6 / 8])
    assert iou[2] == 0.0 and dice[2] == 0.0


def test_absent_classes_are_nan_and_masks_restrict_the_count():
    truth = np.array([0, 0, 1, 1])
    iou, _ = iou_dice(confusion_matrix(truth, truth, n_classes=3, mask=np.array([1, 1, 0, 0], bool)))
    assert iou[0] == 1.0 and np.isnan(iou[1]) and np.isnan(iou[2])


@pytest.mark.parametrize("predicted, message", [(np.array([0, 5]), r"\[0, 3\)"), (np.array([0]), "shape")])
def test_bad_inputs_are_rejected(predicted, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(predicted, np.array([0, 1]), n_classes=3)
