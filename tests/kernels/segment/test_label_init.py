import numpy as np
import pytest

from porewatch.kernels.labels import Phase
from porewatch.kernels.segment.label_init import LabelInitSettings, initial_labels
from porewatch.kernels.segment.metrics import confusion_matrix, iou_dice

#: rows [start, stop) of each layer: air | steel | Li | LLZO | Li | steel | air
LAYERS = (((3, 10), Phase.STEEL, 550.0), ((10, 24), Phase.LITHIUM, 7.0), ((24, 40), Phase.LLZO, 1440.0),
          ((40, 54), Phase.LITHIUM, 7.0), ((54, 61), Phase.STEEL, 550.0))


def cell_with_pores(n_z=64, n=48, seed=0):
    """Layered disc with 5x5x5 air cubes in the Li, blurred and noisy; exact labels."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    mu = np.zeros((n_z, n, n))
    truth = np.zeros((n_z, n, n), np.uint8)
    for (start, stop), phase, value in LAYERS:
        mu[start:stop], truth[start:stop] = value, phase
    for k, i, j in ((16, 20, 20), (18, 28, 15), (46, 22, 30), (48, 15, 20)):
        mu[k - 2:k + 3, i - 2:i + 3, j - 2:j + 3] = -300.0  # the dark fringe-dominated pore of a reconstruction
        truth[k - 2:k + 3, i - 2:i + 3, j - 2:j + 3] = Phase.PORE
    offset = np.arange(n) - (n - 1) / 2
    outside = np.hypot(offset[:, None], offset[None, :]) > 0.4 * n
    mu[:, outside], truth[:, outside] = 0.0, Phase.OUTSIDE
    mu = ndimage.gaussian_filter(mu, 0.7) + rng.normal(0.0, 30.0, mu.shape)
    return mu.astype(np.float32), truth


def test_initial_labels_find_the_layers_air_and_most_pores():
    mu, truth = cell_with_pores()
    labels = initial_labels(mu)
    assert labels.shape == mu.shape and labels.dtype == np.uint8
    iou, _ = iou_dice(confusion_matrix(labels, truth, n_classes=len(Phase)))
    assert iou[Phase.OUTSIDE] > 0.9 and iou[Phase.LITHIUM] > 0.8
    assert iou[Phase.LLZO] > 0.85 and iou[Phase.STEEL] > 0.7
    assert iou[Phase.PORE] > 0.3


@pytest.mark.parametrize("kwargs", [dict(sigma_px=0.0), dict(marker_quantile=1.0), dict(pore_contrast=-1.0)])
def test_invalid_settings_are_rejected(kwargs):
    with pytest.raises(ValueError):
        LabelInitSettings(**kwargs)
