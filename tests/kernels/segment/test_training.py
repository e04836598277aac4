import numpy as np
import pytest

torch = pytest.importorskip("torch")

from porewatch.kernels.segment.augment import Augmentation  # noqa: E402
from porewatch.kernels.segment.dataset import LabelledSlices  # noqa: E402
from porewatch.kernels.segment.training import (  # noqa: E402
    TrainSettings, class_count_loss, evaluate, soft_dice_loss, train_segmenter)
from porewatch.kernels.segment.unet import UNet  # noqa: E402

TINY = dict(encoder_channels=(8, 16, 32, 64), depths=(1, 1, 1, 1), decoder_channels=(16, 16, 8, 8, 8))


def toy_slices(n, seed):
    """Bright discs (class 1) on a noisy dark background (class 0), 1/m-like values."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:32, :32]
    images, labels = [], []
    for _ in range(n):
        label = np.zeros((32, 32), np.uint8)
        for _ in range(3):
            cy, cx, r = rng.integers(6, 26), rng.integers(6, 26), rng.integers(3, 6)
            label[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 1
        images.append((400.0 * label + rng.normal(0.0, 80.0, label.shape)).astype(np.float32))
        labels.append(label)
    return LabelledSlices(images, labels, tuple(f"toy {i}" for i in range(n)))


def test_loss_falls_and_iou_rises_on_a_toy_set():
    torch.manual_seed(0)
    train, val = toy_slices(24, seed=1), toy_slices(6, seed=2)
    model = UNet(2, input_offset_per_m=100.0, input_scale_per_m=200.0, **TINY)
    before, _, _ = evaluate(model, val, n_classes=2)
    settings = TrainSettings(iterations=60, batch_size=4, learning_rate=3e-3, warmup_iterations=5, eval_every=20,
                             patience=10, augmentation=Augmentation(crop_px=32, max_angle_deg=0.0,
                                                                    noise_std_range_per_m=(0.0, 10.0)))
    history = []
    result = train_segmenter(model, train, val, n_classes=2, settings=settings, on_evaluation=history.append)
    assert [entry["iteration"] for entry in history] == [20, 40, 60]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert result.best["val_iou"][1] > max(before[1], 0.5) + 0.1
    after, _, _ = evaluate(model, val, n_classes=2)
    np.testing.assert_allclose(after, result.best["val_iou"])
    assert result.stopped == "iterations"


def test_early_stopping_keeps_the_best_weights():
    torch.manual_seed(0)
    model = UNet(2, **TINY)
    settings = TrainSettings(iterations=50, batch_size=2, learning_rate=0.0, warmup_iterations=1, eval_every=5,
                             patience=2, augmentation=Augmentation(crop_px=32))
    result = train_segmenter(model, toy_slices(4, 3), toy_slices(2, 4), n_classes=2, settings=settings)
    assert result.stopped == "early stopping" and len(result.history) == 3
    assert result.best is result.history[0]


def test_weight_average_is_kept_when_asked():
    def run(iterations, ema_decay=None):
        torch.manual_seed(0)
        model = UNet(2, **TINY)
        settings = TrainSettings(iterations=iterations, batch_size=2, learning_rate=1e-2, warmup_iterations=10,
                                 eval_every=iterations, ema_decay=ema_decay, augmentation=Augmentation(crop_px=32))
        return train_segmenter(model, toy_slices(4, 5), toy_slices(2, 6), n_classes=2, settings=settings).state_dict

    first, second, averaged = run(1), run(2), run(2, ema_decay=0.75)
    assert not torch.allclose(first["head.weight"], second["head.weight"])
    for name, value in averaged.items():
        if value.is_floating_point():
            torch.testing.assert_close(value, 0.75 * first[name] + 0.25 * second[name])


def test_dice_weight_scales_the_dice_term_of_the_loss():
    def first_loss(dice_weight):
        torch.manual_seed(0)
        settings = TrainSettings(iterations=1, batch_size=2, eval_every=1, dice_weight=dice_weight,
                                 augmentation=Augmentation(crop_px=32))
        result = train_segmenter(UNet(2, **TINY), toy_slices(4, 5), toy_slices(2, 6), n_classes=2, settings=settings)
        return result.history[0]["train_loss"]

    cross_entropy, with_dice, with_double_dice = first_loss(0.0), first_loss(1.0), first_loss(2.0)
    assert with_dice > cross_entropy
    assert with_double_dice - cross_entropy == pytest.approx(2 * (with_dice - cross_entropy), rel=1e-4)


def test_count_weight_adds_the_count_term_to_the_loss():
    def first_loss(count_weight):
        torch.manual_seed(0)
        settings = TrainSettings(iterations=1, batch_size=2, eval_every=1, count_weight=count_weight, count_class=1,
                                 count_within=(0, 1), augmentation=Augmentation(crop_px=32))
        result = train_segmenter(UNet(2, **TINY), toy_slices(4, 5), toy_slices(2, 6), n_classes=2, settings=settings)
        return result.history[0]["train_loss"]

    without, with_count, with_double_count = first_loss(0.0), first_loss(1.0), first_loss(2.0)
    assert with_count > without
    assert with_double_count - without == pytest.approx(2 * (with_count - without), rel=1e-4)


@pytest.mark.parametrize("settings, name", [(TrainSettings(ema_decay=1.0), "ema_decay"),
                                            (TrainSettings(dice_weight=-0.5), "dice_weight"),
                                            (TrainSettings(count_weight=-1.0), "count_weight"),
                                            (TrainSettings(count_weight=1.0, count_class=2), "count_class"),
                                            (TrainSettings(count_weight=1.0, count_class=1, count_within=(0,)),
                                             "count_within"),
                                            (TrainSettings(count_weight=1.0, count_class=1, count_within=(1, 2)),
                                             "count_within")])
def test_out_of_range_settings_are_rejected(settings, name):
    with pytest.raises(ValueError, match=name):
        train_segmenter(UNet(2, **TINY), toy_slices(2, 7), toy_slices(1, 8), n_classes=2, settings=settings)


def test_soft_dice_is_zero_loss_for_a_confident_correct_prediction():
    target = torch.tensor([[[0, 1], [1, 0]]])
    logits = 50.0 * torch.nn.functional.one_hot(target, 2).permute(0, 3, 1, 2).float()
    assert float(soft_dice_loss(logits, target, 2)) == pytest.approx(0.0, abs=1e-4)
    assert float(soft_dice_loss(-logits, target, 2)) == pytest.approx(1 - 1 / 5, abs=1e-4)  # smoothing 1 over 4 pixels


def test_count_loss_is_zero_when_the_decided_count_matches_the_labels():
    target = torch.tensor([[[0, 1, 0, 0], [0, 1, 0, 0]]])
    logits = 50.0 * torch.nn.functional.one_hot(target, 2).permute(0, 3, 1, 2).float()
    assert float(class_count_loss(logits, target, 1, (0, 1))) == pytest.approx(0.0, abs=1e-6)
    # every decision flipped: 6 pixels decided class 1 against 2 labelled, over 2 + 25
    assert float(class_count_loss(-logits, target, 1, (0, 1))) == pytest.approx(((6 - 2) / 27) ** 2, rel=1e-4)


def test_count_loss_counts_only_within_the_named_classes():
    target = torch.tensor([[[2, 1, 2, 0, 0, 0]]])
    # class 1 decided on the labelled pore and on every pixel labelled 0 (outside the counted region)
    decided = torch.tensor([[[2, 1, 2, 1, 1, 1]]])
    logits = 50.0 * torch.nn.functional.one_hot(decided, 3).permute(0, 3, 1, 2).float()
    assert float(class_count_loss(logits, target, 1, (1, 2))) == pytest.approx(0.0, abs=1e-6)
    assert float(class_count_loss(logits, target, 1, (0, 1, 2))) == pytest.approx((3 / 26) ** 2, rel=1e-4)


def test_count_loss_pools_the_batch_so_a_crop_without_the_class_adds_only_its_false_calls():
    labelled = torch.tensor([[1] * 100 + [0] * 100, [0] * 200])[:, None, :]  # (2, 1, 200): pores in crop 0 only
    decided = torch.tensor([[1] * 90 + [0] * 110, [1] * 10 + [0] * 190])[:, None, :]
    logits = 50.0 * torch.nn.functional.one_hot(decided, 2).permute(0, 3, 1, 2).float()
    # 90 + 10 decided against 100 labelled: the batch's count is right
    assert float(class_count_loss(logits, labelled, 1, (0, 1))) == pytest.approx(0.0, abs=1e-6)


def test_count_loss_widens_an_under_counted_class_where_the_network_hesitates():
    target = torch.tensor([[[1, 1, 1, 0, 0, 0, 0, 0]]])
    # class 1 leads on the first pixel only; the next two (labelled 1) lean to class 0 by 0.5
    margin = torch.tensor([[[4.0, -0.5, -0.5, -4.0, -4.0, -4.0, -4.0, -4.0]]])
    logits = torch.stack([torch.zeros_like(margin), margin], dim=1).requires_grad_(True)
    class_count_loss(logits, target, 1, (0, 1)).backward()
    rise = -logits.grad[0, 1, 0]  # descent direction of the class-1 logit per pixel
    assert float(rise[1]) > 0 and float(rise[2]) > 0
    assert float(rise[1]) > 10 * float(rise[0]) and float(rise[1]) > 10 * float(rise[3])  # the hesitant pixels move most
