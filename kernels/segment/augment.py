"""Training augmentation of one labelled slice (NumPy): crop, flips, rotations, resolution, background,
intensity and noise jitter.

Geometric changes apply to image and labels alike (labels by nearest neighbour);
resolution and intensity changes, in 1/m, to the image only: a pore keeps its outline when
the image is blurrier or sits on a raised background.
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Augmentation:
    """Ranges of the random changes.

    Attributes
    ----------
    crop_px : int
        Side of the square crop (slices smaller than it are padded by reflection).
    rotate : bool
        Random multiple of 90 degrees, then, with probability ``angle_probability``, a
        uniform angle in ``+-max_angle_deg`` (bilinear, which also smooths the noise a little).
    max_angle_deg, angle_probability : float
    flip : bool
        Random mirror of either axis.
    gain_range : (float, float)
        Multiplicative intensity jitter.
    offset_std_per_m : float
        Standard deviation of an additive offset, 1/m.
    noise_std_range_per_m : (float, float)
        Range of the standard deviation of added white Gaussian noise, 1/m.
    extra_blur_max_px : float
        With probability one half, a Gaussian blur of standard deviation uniform in
        ``[0, extra_blur_max_px]`` pixels: detector and reconstruction resolution differ between
        set-ups, and the boundaries the labels draw do not move with it.  0 leaves it out.
    background_max_per_m : float
        With probability one half, a smooth additive field (white noise smoothed over 8-32 px,
        scaled to a standard deviation and a mean each uniform in ``[0, background_max_per_m]``),
        1/m: the spill of the dense pellet into the first Li slices beside the interface,
        cupping and ring remnants raise the background unevenly.  0 leaves it out.
    """

    crop_px: int = 128
    rotate: bool = True
    max_angle_deg: float = 45.0
    angle_probability: float = 0.5
    flip: bool = True
    gain_range: tuple[float, float] = (0.9, 1.1)
    offset_std_per_m: float = 10.0
    noise_std_range_per_m: tuple[float, float] = (0.0, 60.0)
    extra_blur_max_px: float = 0.0
    background_max_per_m: float = 0.0

    def __post_init__(self):
        for name in ("extra_blur_max_px", "background_max_per_m"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"Augmentation.{name} must be at least 0, got {getattr(self, name)}")


def augment(image: np.ndarray, labels: np.ndarray, *, settings: Augmentation, rng: np.random.Generator):
    """One random variant of a slice.

    Parameters
    ----------
    image : (H, W) float array
        Attenuation, 1/m.
    labels : (H, W) integer array
    settings : Augmentation
    rng : numpy Generator

    Returns
    -------
    image : (crop_px, crop_px) float32, labels : (crop_px, crop_px) uint8
    """
    if image.shape != labels.shape or image.ndim != 2:
        raise ValueError(f"image and labels must be 2-D of one shape, got {image.shape}, {labels.shape}")
    image, labels = _crop(np.asarray(image, dtype=np.float32), np.asarray(labels, dtype=np.uint8),
                          settings.crop_px, rng)
    if settings.rotate:
        k = int(rng.integers(4))
        image, labels = np.rot90(image, k), np.rot90(labels, k)
        angle = float(rng.uniform(-settings.max_angle_deg, settings.max_angle_deg))
        if rng.random() < settings.angle_probability and angle:
            image = ndimage.rotate(image, angle, reshape=False, order=1, mode="reflect")
            labels = ndimage.rotate(labels, angle, reshape=False, order=0, mode="reflect")
    if settings.flip:
        if rng.random() < 0.5:
            image, labels = image[::-1], labels[::-1]
        if rng.random() < 0.5:
            image, labels = image[:, ::-1], labels[:, ::-1]
    if settings.extra_blur_max_px > 0 and rng.random() < 0.5:
        image = ndimage.gaussian_filter(image, rng.uniform(0.0, settings.extra_blur_max_px), mode="reflect")
    if settings.background_max_per_m > 0 and rng.random() < 0.5:
        image = image + _smooth_field(image.shape, settings.background_max_per_m, rng)
    gain = rng.uniform(*settings.gain_range)
    noise = rng.uniform(*settings.noise_std_range_per_m)
    image = image * gain + rng.normal(0.0, settings.offset_std_per_m) + rng.normal(0.0, 1.0, image.shape) * noise
    return np.ascontiguousarray(image, dtype=np.float32), np.ascontiguousarray(labels, dtype=np.uint8)


def _smooth_field(shape: tuple[int, int], max_per_m: float, rng: np.random.Generator) -> np.ndarray:
    """A random smooth field of ``shape``: correlation length 8-32 px, standard deviation and
    mean each uniform in ``[0, max_per_m]``, 1/m."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), rng.uniform(8.0, 32.0), mode="wrap")
    field *= rng.uniform(0.0, max_per_m) / max(float(field.std()), 1e-12)
    return (field - field.mean() + rng.uniform(0.0, max_per_m)).astype(np.float32)


def _crop(image: np.ndarray, labels: np.ndarray, size: int, rng: np.random.Generator):
    """Random ``size`` x ``size`` window; sides shorter than ``size`` are reflect-padded first."""
    pad = [(0, max(0, size - n)) for n in image.shape]
    if any(after for _, after in pad):
        image, labels = np.pad(image, pad, mode="reflect"), np.pad(labels, pad, mode="reflect")
    i = int(rng.integers(image.shape[0] - size + 1))
    j = int(rng.integers(image.shape[1] - size + 1))
    return image[i:i + size, j:j + size], labels[i:i + size, j:j + size]
