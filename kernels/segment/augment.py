"""Training augmentation of one labelled slice (NumPy): crop, flips, rotations, intensity and noise jitter.

Geometric changes apply to image and labels alike (labels by nearest neighbour);
intensity changes, in 1/m, to the image only.
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
    """

    crop_px: int = 128
    rotate: bool = True
    max_angle_deg: float = 45.0
    angle_probability: float = 0.5
    flip: bool = True
    gain_range: tuple[float, float] = (0.9, 1.1)
    offset_std_per_m: float = 10.0
    noise_std_range_per_m: tuple[float, float] = (0.0, 60.0)


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
    gain = rng.uniform(*settings.gain_range)
    noise = rng.uniform(*settings.noise_std_range_per_m)
    image = image * gain + rng.normal(0.0, settings.offset_std_per_m) + rng.normal(0.0, 1.0, image.shape) * noise
    return np.ascontiguousarray(image, dtype=np.float32), np.ascontiguousarray(labels, dtype=np.uint8)


def _crop(image: np.ndarray, labels: np.ndarray, size: int, rng: np.random.Generator):
    """Random ``size`` x ``size`` window; sides shorter than ``size`` are reflect-padded first."""
    pad = [(0, max(0, size - n)) for n in image.shape]
    if any(after for _, after in pad):
        image, labels = np.pad(image, pad, mode="reflect"), np.pad(labels, pad, mode="reflect")
    i = int(rng.integers(image.shape[0] - size + 1))
    j = int(rng.integers(image.shape[1] - size + 1))
    return image[i:i + size, j:j + size], labels[i:i + size, j:j + size]
