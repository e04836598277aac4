"""Training loop of the segmentation network (torch): augmented crops, cross-entropy + Dice, early stopping.

Each iteration draws ``batch_size`` random slices of the training set, augments them
(:func:`porewatch.kernels.segment.augment.augment`) and takes one AdamW step on
cross-entropy plus ``dice_weight`` times soft Dice (the Dice term keeps rare classes, pores
above all, from being drowned by Li and air), plus ``count_weight`` times the count loss of
``count_class`` within the pixels labelled one of ``count_within`` (:func:`class_count_loss`):
a most-probable-class decision under-counts a rare class whose edges are ambiguous, and
porosity is a count of pores among the electrode's pore-or-Li voxels.  The learning rate warms up linearly, then
follows a cosine to zero at ``iterations`` or at ``max_seconds``, whichever comes first (so
a time-limited run on a busy machine still anneals).  Every ``eval_every`` iterations the
whole validation set is segmented (full slices, reflect-padded to multiples of 32); the
weights with the best mean per-class IoU are kept, and training stops after ``patience``
evaluations without improvement, at ``iterations``, or once ``max_seconds`` have passed.

With ``ema_decay`` set, an exponential moving average of the weights and batch-norm
statistics (torch's ``AveragedModel``) is what gets evaluated and kept: on a plateau
it smooths out the last steps' noise at no cost at inference.

No I/O here: progress goes to the optional ``on_evaluation`` callback.
"""

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from porewatch.kernels.labels import Phase
from porewatch.kernels.segment.augment import Augmentation, augment
from porewatch.kernels.segment.dataset import LabelledSlices
from porewatch.kernels.segment.metrics import confusion_matrix, iou_dice
from porewatch.kernels.segment.unet import SIZE_MULTIPLE


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings; see the module docstring."""

    iterations: int = 4000
    batch_size: int = 8
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    warmup_iterations: int = 100
    dice_weight: float = 1.0
    count_weight: float = 0.0
    count_class: int = Phase.PORE
    count_within: tuple[int, ...] = (Phase.PORE, Phase.LITHIUM)
    eval_every: int = 250
    patience: int = 6
    max_seconds: float | None = None
    eval_batch_size: int = 8
    ema_decay: float | None = None
    seed: int = 0
    augmentation: Augmentation = field(default_factory=Augmentation)


@dataclass
class TrainingResult:
    """Best weights and the record of the run.

    Attributes
    ----------
    state_dict : dict
        Weights (and buffers) at the best evaluation, on the CPU.
    history : list of dict
        One entry per evaluation: ``iteration``, ``seconds``, ``train_loss`` (mean since the
        previous evaluation), ``val_iou`` and ``val_dice`` (per class, NaN for an absent class),
        ``val_mean_iou``.
    best : dict
        The history entry of the kept weights.
    stopped : str
        ``"early stopping"``, ``"iterations"`` or ``"time limit"``.
    """

    state_dict: dict
    history: list
    best: dict
    stopped: str


def soft_dice_loss(logits, target, n_classes: int):
    """1 - mean soft Dice over the classes present in ``target`` (N, H, W) int64."""
    probabilities = torch.softmax(logits, dim=1)
    one_hot = torch.nn.functional.one_hot(target, n_classes).permute(0, 3, 1, 2).to(probabilities.dtype)
    dims = (0, 2, 3)
    overlap = (probabilities * one_hot).sum(dims)
    sizes = probabilities.sum(dims) + one_hot.sum(dims)
    present = one_hot.sum(dims) > 0
    dice = (2 * overlap + 1.0) / (sizes + 1.0)
    return 1.0 - dice[present].mean()


#: Temperature of the sharpened softmax that stands in for the most-probable-class decision in
#: :func:`class_count_loss`: a pixel whose two leading logits differ by 1 counts 88 % to the leader.
COUNT_TEMPERATURE = 0.5
#: Pixels added to the batch's labelled count in the count loss's denominator, so that a batch with
#: few or none of the class weighs little (a pore 3.6 voxels across cuts a slice in about 10 pixels).
COUNT_FLOOR_PIXELS = 25.0


def class_count_loss(logits, target, class_index: int, within: tuple[int, ...], *,
                     temperature: float = COUNT_TEMPERATURE, floor_pixels: float = COUNT_FLOOR_PIXELS):
    """``((m - n) / (n + floor_pixels))**2`` over the whole batch, counted where ``target`` is in ``within``.

    ``n`` is the batch's number of pixels labelled ``class_index`` in ``target`` (N, H, W) int64 and
    ``m`` the same count from ``softmax(logits / temperature)`` (``logits`` (N, C, H, W)), a
    differentiable stand-in for the count of pixels whose most probable class it is; both run over
    the pixels labelled one of ``within`` only (for porosity: pore or Li), so calls elsewhere
    neither add to nor cancel the count.  Pooled over the batch, a crop without the class adds
    its false calls to ``m`` but not a relative error of its own.  The gradient moves the decision
    boundary where the network hesitates, so that the decided count matches the labels.
    """
    counted = torch.isin(target, torch.tensor(within, device=target.device))
    predicted = (torch.softmax(logits / temperature, dim=1)[:, class_index] * counted).sum()
    labelled = (target == class_index).sum().to(predicted.dtype)
    return ((predicted - labelled) / (labelled + floor_pixels)) ** 2


def _check_count_classes(settings: TrainSettings, n_classes: int) -> None:
    if not 0 <= settings.count_class < n_classes:
        raise ValueError(f"count_class must be a class below n_classes={n_classes}, got {settings.count_class}")
    if settings.count_class not in settings.count_within or not all(0 <= c < n_classes for c in settings.count_within):
        raise ValueError(f"count_within must hold count_class={settings.count_class} and classes below "
                         f"n_classes={n_classes}, got {settings.count_within}")


def pad_to_multiple(image: np.ndarray, multiple: int = SIZE_MULTIPLE) -> np.ndarray:
    """Reflect-pad a ``(H, W)`` slice at its far edges to sides that are multiples of ``multiple``."""
    pad = [(0, -n % multiple) for n in image.shape]
    return np.pad(image, pad, mode="reflect") if any(after for _, after in pad) else image


@torch.no_grad()
def predict_classes(model, images: list, *, batch_size: int = 8) -> list:
    """Class maps ``(H, W)`` uint8 of whole slices, each reflect-padded to multiples of 32 and cropped back."""
    model.eval()
    device = next(model.parameters()).device
    out = [None] * len(images)
    by_shape: dict = {}
    for index, image in enumerate(images):
        by_shape.setdefault(image.shape, []).append(index)
    for shape, indices in by_shape.items():
        for start in range(0, len(indices), batch_size):
            chunk = indices[start:start + batch_size]
            batch = np.stack([pad_to_multiple(images[i]) for i in chunk])[:, None]
            classes = model(torch.from_numpy(batch).to(device)).argmax(dim=1).cpu().numpy()
            for i, result in zip(chunk, classes):
                out[i] = result[: shape[0], : shape[1]].astype(np.uint8)
    return out


def evaluate(model, slices: LabelledSlices, *, n_classes: int, batch_size: int = 8):
    """Per-class IoU and Dice of ``model`` on ``slices``; returns ``(iou, dice, confusion)``."""
    predicted = predict_classes(model, slices.images, batch_size=batch_size)
    confusion = sum(confusion_matrix(p, t, n_classes=n_classes) for p, t in zip(predicted, slices.labels))
    iou, dice = iou_dice(confusion)
    return iou, dice, confusion


def _batch(slices: LabelledSlices, settings: TrainSettings, rng: np.random.Generator, device):
    picks = rng.integers(len(slices), size=settings.batch_size)
    pairs = [augment(slices.images[i], slices.labels[i], settings=settings.augmentation, rng=rng) for i in picks]
    images = torch.from_numpy(np.stack([p[0] for p in pairs])[:, None]).to(device)
    labels = torch.from_numpy(np.stack([p[1] for p in pairs]).astype(np.int64)).to(device)
    return images, labels


def _learning_rate(iteration: int, elapsed_s: float, settings: TrainSettings) -> float:
    """Linear warm-up, then a cosine to zero at ``iterations`` or at ``max_seconds``, whichever comes first."""
    if iteration < settings.warmup_iterations:
        return settings.learning_rate * (iteration + 1) / settings.warmup_iterations
    progress = (iteration - settings.warmup_iterations) / max(1, settings.iterations - settings.warmup_iterations)
    if settings.max_seconds:
        progress = max(progress, elapsed_s / settings.max_seconds)
    return settings.learning_rate * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def train_segmenter(model, train: LabelledSlices, val: LabelledSlices, *, n_classes: int,
                    settings: TrainSettings = TrainSettings(),
                    on_evaluation: Callable[[dict], None] | None = None) -> TrainingResult:
    """Train ``model`` (a :class:`~porewatch.kernels.segment.unet.UNet`, on its device) in place.

    Returns the best weights (also loaded into ``model``) and the evaluation history.
    """
    if len(train) == 0 or len(val) == 0:
        raise ValueError("train and val must each hold at least one slice")
    if settings.iterations < 1 or settings.eval_every < 1 or settings.batch_size < 1:
        raise ValueError("iterations, eval_every and batch_size must be at least 1")
    if settings.ema_decay is not None and not 0.0 < settings.ema_decay < 1.0:
        raise ValueError(f"ema_decay must lie in (0, 1), got {settings.ema_decay}")
    for name in ("dice_weight", "count_weight"):
        if not getattr(settings, name) >= 0.0:
            raise ValueError(f"{name} must be at least 0, got {getattr(settings, name)}")
    if settings.count_weight:
        _check_count_classes(settings, n_classes)
    device = next(model.parameters()).device
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    average = None if settings.ema_decay is None else AveragedModel(
        model, multi_avg_fn=get_ema_multi_avg_fn(settings.ema_decay), use_buffers=True)
    evaluated = model if average is None else average.module
    started, losses, history = time.monotonic(), [], []
    best, best_state, stale, stopped = None, None, 0, "iterations"
    for iteration in range(settings.iterations):
        model.train()
        for group in optimiser.param_groups:
            group["lr"] = _learning_rate(iteration, time.monotonic() - started, settings)
        images, labels = _batch(train, settings, rng, device)
        logits = model(images)
        loss = (torch.nn.functional.cross_entropy(logits, labels)
                + settings.dice_weight * soft_dice_loss(logits, labels, n_classes))
        if settings.count_weight:
            loss = loss + settings.count_weight * class_count_loss(
                logits, labels, settings.count_class, settings.count_within)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if average is not None:
            average.update_parameters(model)
        losses.append(loss.item())
        last = iteration + 1 == settings.iterations
        out_of_time = settings.max_seconds is not None and time.monotonic() - started > settings.max_seconds
        if (iteration + 1) % settings.eval_every and not last and not out_of_time:
            continue
        iou, dice, _ = evaluate(evaluated, val, n_classes=n_classes, batch_size=settings.eval_batch_size)
        entry = {"iteration": iteration + 1, "seconds": time.monotonic() - started,
                 "train_loss": float(np.mean(losses)), "val_iou": iou.tolist(), "val_dice": dice.tolist(),
                 "val_mean_iou": float(np.nanmean(iou))}
        losses = []
        history.append(entry)
        if on_evaluation is not None:
            on_evaluation(entry)
        if best is None or entry["val_mean_iou"] > best["val_mean_iou"]:
            best, stale = entry, 0
            best_state = {k: v.detach().cpu().clone() for k, v in evaluated.state_dict().items()}
        else:
            stale += 1
        if out_of_time:
            stopped = "time limit"
            break
        if stale >= settings.patience:
            stopped = "early stopping"
            break
    model.load_state_dict(best_state)
    return TrainingResult(best_state, history, best, stopped)
