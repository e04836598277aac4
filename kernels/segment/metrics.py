"""Segmentation scores: confusion matrix, per-class IoU and Dice (NumPy)."""

import numpy as np

from porewatch.kernels.backend import to_numpy


def confusion_matrix(predicted, truth, *, n_classes: int, mask=None) -> np.ndarray:
    """Counts ``[true class, predicted class]``, ``(n_classes, n_classes)`` int64.

    Parameters
    ----------
    predicted, truth : integer arrays of one shape
        Class per pixel or voxel, in ``[0, n_classes)``.
    mask : bool array of the same shape, optional
        Only these pixels count.
    """
    predicted, truth = to_numpy(predicted), to_numpy(truth)
    if predicted.shape != truth.shape:
        raise ValueError(f"predicted: shape {predicted.shape} differs from truth {truth.shape}")
    if mask is not None:
        mask = to_numpy(mask).astype(bool)
        if mask.shape != truth.shape:
            raise ValueError(f"mask: shape {mask.shape} differs from truth {truth.shape}")
        predicted, truth = predicted[mask], truth[mask]
    predicted, truth = predicted.ravel().astype(np.int64), truth.ravel().astype(np.int64)
    if predicted.size and (min(predicted.min(), truth.min()) < 0 or max(predicted.max(), truth.max()) >= n_classes):
        raise ValueError(f"predicted and truth must hold classes in [0, {n_classes})")
    return np.bincount(truth * n_classes + predicted, minlength=n_classes**2).reshape(n_classes, n_classes)


def iou_dice(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class IoU and Dice from a confusion matrix; NaN for a class absent from both.

    Returns
    -------
    (iou, dice) : (n_classes,) float64 ndarrays
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    hits = np.diag(confusion)
    predicted, true = confusion.sum(axis=0), confusion.sum(axis=1)
    union = predicted + true - hits
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, hits / union, np.nan)
        dice = np.where(predicted + true > 0, 2 * hits / (predicted + true), np.nan)
    return iou, dice
