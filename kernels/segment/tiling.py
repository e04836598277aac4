"""Slices of any size through a fixed-size network: overlapping tiles blended with a smooth window (NumPy).

Each slice is reflect-padded at its far edges to sides that are multiples of 32 (the
network's :data:`~porewatch.kernels.segment.unet.SIZE_MULTIPLE`) and covered by tiles of
at most ``tile_px`` (a slice smaller than a tile is one tile of its padded size) that
overlap by at least ``overlap_px``.  Each tile's class probabilities are weighted by a
separable window that rises as ``sin^2`` over the overlap and is flat inside, summed, and
divided by the summed weights, so seams vanish and every pixel's probabilities still sum
to one.  The class map is the most probable class, the confidence its probability; on
request, the share of one class in a pair (``p_a / (p_a + p_b)``, e.g. pore within pore or
Li) is kept too, for decisions that weigh neighbouring slices
(:mod:`~porewatch.kernels.segment.slice_fusion`).

Tiles of several slices share batches; only the slices whose tiles are in flight hold
accumulators, so memory stays bounded however many slices there are.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

#: Sides of network inputs are multiples of this.
SIZE_MULTIPLE = 32
_MIN_WEIGHT = 1e-3


@dataclass(frozen=True)
class TileLayout:
    """Where the tiles of one slice shape go.

    Attributes
    ----------
    padded_shape : (int, int)
        The slice's shape rounded up to multiples of 32.
    tile_shape : (int, int)
    starts_y, starts_x : tuple of int
        Tile origins along each axis, in the padded slice.
    weights : (tile_h, tile_w) float32 ndarray
        Blending window of one tile.
    """

    padded_shape: tuple[int, int]
    tile_shape: tuple[int, int]
    starts_y: tuple[int, ...]
    starts_x: tuple[int, ...]
    weights: np.ndarray

    @property
    def n_tiles(self) -> int:
        return len(self.starts_y) * len(self.starts_x)


def _starts(length: int, tile: int, overlap: int) -> tuple[int, ...]:
    """Origins of tiles of ``tile`` covering ``length`` with at least ``overlap`` shared pixels."""
    if tile >= length:
        return (0,)
    count = int(np.ceil((length - overlap) / (tile - overlap)))
    return tuple(int(round(s)) for s in np.linspace(0, length - tile, count))


def _window(size: int, overlap: int) -> np.ndarray:
    ramp = np.ones(size, dtype=np.float32)
    if overlap > 0:
        rise = np.sin(0.5 * np.pi * (np.arange(overlap) + 0.5) / overlap) ** 2
        ramp[:overlap] = rise
        ramp[size - overlap:] = np.minimum(ramp[size - overlap:], rise[::-1])
    return np.maximum(ramp, _MIN_WEIGHT)


def tile_layout(shape: tuple[int, int], *, tile_px: int, overlap_px: int) -> TileLayout:
    """The tiles of slices of ``shape`` (see the module docstring)."""
    if tile_px < SIZE_MULTIPLE or tile_px % SIZE_MULTIPLE:
        raise ValueError(f"tile_px must be a positive multiple of {SIZE_MULTIPLE}, got {tile_px}")
    if not 0 <= overlap_px <= tile_px // 2:
        raise ValueError(f"overlap_px must lie in [0, tile_px / 2], got {overlap_px}")
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"shape must be two positive sides, got {shape}")
    padded = tuple(-(-n // SIZE_MULTIPLE) * SIZE_MULTIPLE for n in shape)
    tile = tuple(min(tile_px, n) for n in padded)
    overlap = tuple(min(overlap_px, t // 2) for t in tile)
    weights = np.outer(_window(tile[0], overlap[0]), _window(tile[1], overlap[1]))
    return TileLayout(padded, tile, _starts(padded[0], tile[0], overlap[0]), _starts(padded[1], tile[1], overlap[1]),
                      np.ascontiguousarray(weights, dtype=np.float32))


def flip_averaged(predict: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """``predict`` averaged over the four mirror images of each batch (test-time augmentation).

    Each batch ``(b, 1, h, w)`` goes through ``predict`` as it is, flipped in ``h``, in ``w``
    and in both; each output ``(b, n_classes, h, w)`` is flipped back and the four are
    averaged, so the probabilities still sum to one.  Four network calls per batch.
    """

    def averaged(batch: np.ndarray) -> np.ndarray:
        mirrors = ((), (-2,), (-1,), (-2, -1))
        return sum(np.flip(np.asarray(predict(np.ascontiguousarray(np.flip(batch, axes))), dtype=np.float32), axes)
                   for axes in mirrors) / len(mirrors)

    return averaged


class SegmentedSlices(NamedTuple):
    """What :func:`segment_slices` returns; arrays ``(n, H, W)``."""

    #: uint8 most probable class.
    labels: np.ndarray
    #: float32 blended probability of that class.
    confidence: np.ndarray
    #: float32 ``p_a / (p_a + p_b)`` of the requested class pair ``(a, b)``; None when none was requested.
    share: np.ndarray | None = None


def segment_slices(images, *, predict: Callable[[np.ndarray], np.ndarray], n_classes: int, tile_px: int = 256,
                   overlap_px: int = 32, batch_size: int = 8,
                   share_of: tuple[int, int] | None = None) -> SegmentedSlices:
    """Class maps, confidences and optionally a class share of slices, through a network that takes
    fixed-size batches.

    Parameters
    ----------
    images : (n, H, W) float array
        Slices, in the network's input units (attenuation, 1/m).
    predict : callable
        ``predict(batch)`` with ``batch`` ``(b, 1, h, w)`` float32 (``b <= batch_size``,
        ``h``, ``w`` multiples of 32) returns probabilities ``(b, n_classes, h, w)``.
    n_classes : int
    tile_px, overlap_px : int
        Largest tile side (a multiple of 32) and smallest overlap between tiles, pixels.
    batch_size : int
        Tiles per ``predict`` call.
    share_of : (int, int), optional
        Classes ``(a, b)`` whose share ``p_a / (p_a + p_b)`` of the blended probabilities is
        returned (0 where both are 0).

    Returns
    -------
    SegmentedSlices
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must be (n, H, W), got shape {images.shape}")
    if batch_size < 1 or n_classes < 1:
        raise ValueError(f"batch_size and n_classes must be at least 1, got {batch_size}, {n_classes}")
    if share_of is not None and not (len(share_of) == 2 and share_of[0] != share_of[1]
                                     and all(0 <= c < n_classes for c in share_of)):
        raise ValueError(f"share_of must be two different classes below n_classes={n_classes}, got {share_of}")
    n, height, width = images.shape
    layout = tile_layout((height, width), tile_px=tile_px, overlap_px=overlap_px)
    total_weight = np.zeros(layout.padded_shape, dtype=np.float32)
    for y in layout.starts_y:
        for x in layout.starts_x:
            total_weight[y:y + layout.tile_shape[0], x:x + layout.tile_shape[1]] += layout.weights
    labels = np.empty((n, height, width), dtype=np.uint8)
    confidence = np.empty((n, height, width), dtype=np.float32)
    share = None if share_of is None else np.empty((n, height, width), dtype=np.float32)
    sums, remaining, pending = {}, {}, []

    def finish(index: int) -> None:
        blended = sums.pop(index)[:, :height, :width] / total_weight[None, :height, :width]
        labels[index] = blended.argmax(axis=0)
        confidence[index] = blended.max(axis=0)
        if share is not None:
            part, pair = blended[share_of[0]], blended[share_of[0]] + blended[share_of[1]]
            share[index] = np.divide(part, pair, out=np.zeros_like(part), where=pair > 0)

    def run_batch() -> None:
        batch = np.stack([tile for _, _, _, tile in pending])[:, None]
        probabilities = np.asarray(predict(batch), dtype=np.float32)
        if probabilities.shape != (len(pending), n_classes, *layout.tile_shape):
            raise ValueError(f"predict returned shape {probabilities.shape}, expected "
                             f"{(len(pending), n_classes, *layout.tile_shape)}")
        for (index, y, x, _), tile in zip(pending, probabilities):
            sums[index][:, y:y + layout.tile_shape[0], x:x + layout.tile_shape[1]] += tile * layout.weights
            remaining[index] -= 1
            if remaining[index] == 0:
                finish(index)
        pending.clear()

    pad = ((0, layout.padded_shape[0] - height), (0, layout.padded_shape[1] - width))
    for index in range(n):
        padded = np.pad(np.asarray(images[index], dtype=np.float32), pad, mode="reflect")
        sums[index] = np.zeros((n_classes, *layout.padded_shape), dtype=np.float32)
        remaining[index] = layout.n_tiles
        for y in layout.starts_y:
            for x in layout.starts_x:
                pending.append((index, y, x, padded[y:y + layout.tile_shape[0], x:x + layout.tile_shape[1]]))
                if len(pending) == batch_size:
                    run_batch()
    if pending:
        run_batch()
    return SegmentedSlices(labels, confidence, share)
