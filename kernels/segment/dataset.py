"""Labelled slices for the segmentation network: which slices cross the Li electrodes, and the split.

The network sees z-slices ``(n_y, n_x)``.  Only the slices that cross a Li electrode are
segmented by it (and trained on): the rows of both coarse electrode bands (found on the
area-mean z-profile, :func:`porewatch.kernels.quantify.electrodes.coarse_bands`) widened
by a margin that covers interface roughness and hot-spot caps.
"""

from dataclasses import dataclass

import numpy as np

from porewatch.kernels.backend import check_array, to_numpy
from porewatch.kernels.quantify.cell import cell_footprint
from porewatch.kernels.quantify.electrodes import ELECTRODES, coarse_bands


def electrode_rows(mu, *, margin_px: int, rim_margin_px: float = 5.0, electrodes=ELECTRODES) -> np.ndarray:
    """Indices of the z-slices of ``mu`` that cross the Li electrodes (both, or those named).

    Parameters
    ----------
    mu : (n_z, n_y, n_x) float array
        Reconstructed attenuation, 1/m.
    margin_px : int
        Rows added on both sides of each coarse band (``ElectrodeBand.rows``).
    rim_margin_px : float
        Columns this close to the cell's rim are left out of the z-profile.
    electrodes : sequence of str
        ``"top"`` and/or ``"bottom"``.

    Returns
    -------
    (n,) int64 ndarray
        Sorted, unique row indices within ``[0, n_z)``.
    """
    check_array(mu, name="mu", ndim=3)
    if int(margin_px) != margin_px or margin_px < 0:
        raise ValueError(f"margin_px must be a non-negative integer, got {margin_px}")
    if not electrodes or any(name not in ELECTRODES for name in electrodes):
        raise ValueError(f"electrodes must name some of {ELECTRODES}, got {electrodes!r}")
    usable = cell_footprint(mu).mask(mu.shape[1:], margin_px=rim_margin_px)
    bands = dict(zip(ELECTRODES, coarse_bands(mu, usable=usable)))
    rows = [np.arange(*bands[name].rows(margin_px=int(margin_px))) for name in electrodes]
    rows = np.unique(np.concatenate(rows))
    return rows[rows < mu.shape[0]].astype(np.int64)


@dataclass(frozen=True)
class LabelledSlices:
    """Slices and their labels.

    Attributes
    ----------
    images : list of (H, W) float32 ndarray
        Attenuation, 1/m.  Slices of one set may differ in size between sources.
    labels : list of (H, W) uint8 ndarray
        Class per pixel (:class:`porewatch.kernels.labels.Phase`).
    sources : tuple of str
        Where each slice came from (for the model card), e.g. ``"seed 3 step 1 z 41"``.
    """

    images: list
    labels: list
    sources: tuple

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, indices) -> "LabelledSlices":
        """The slices at ``indices``, in that order."""
        return LabelledSlices([self.images[i] for i in indices], [self.labels[i] for i in indices],
                              tuple(self.sources[i] for i in indices))

    def concat(self, other: "LabelledSlices") -> "LabelledSlices":
        return LabelledSlices(self.images + other.images, self.labels + other.labels, self.sources + other.sources)


def volume_slices(mu, labels, *, rows, source: str) -> LabelledSlices:
    """Slices ``rows`` of a volume and of its label volume.

    Parameters
    ----------
    mu : (n_z, n_y, n_x) float array
        Attenuation, 1/m.
    labels : (n_z, n_y, n_x) integer array
        Classes of the same grid.
    rows : sequence of int
    source : str
        Prefix of each slice's ``sources`` entry.
    """
    check_array(mu, name="mu", ndim=3)
    check_array(labels, name="labels", ndim=3)
    if labels.shape != mu.shape:
        raise ValueError(f"labels: shape {labels.shape} differs from mu {mu.shape}")
    rows = [int(k) for k in rows]
    if any(not 0 <= k < mu.shape[0] for k in rows):
        raise ValueError(f"rows: indices must lie in [0, {mu.shape[0]})")
    images = [np.ascontiguousarray(to_numpy(mu[k]), dtype=np.float32) for k in rows]
    classes = [np.ascontiguousarray(to_numpy(labels[k]), dtype=np.uint8) for k in rows]
    return LabelledSlices(images, classes, tuple(f"{source} z {k}" for k in rows))


def _volume_and_row(source: str) -> tuple[str, int | None]:
    """``("sim seed 3 ...", 41)`` from ``"sim seed 3 ... z 41"``; ``(source, None)`` without a row."""
    volume, separator, row = source.rpartition(" z ")
    return (volume, int(row)) if separator and row.isdigit() else (source, None)


def slice_blocks(sources, block_slices: int) -> list[np.ndarray]:
    """Indices of ``sources`` in blocks of at most ``block_slices`` consecutive rows of one volume.

    A source ``"<volume> z <row>"`` belongs to ``<volume>``; any other source is a block of its own.
    Blocks follow the volumes' first appearance and rise in row.
    """
    if block_slices < 1:
        raise ValueError(f"block_slices must be at least 1, got {block_slices}")
    volumes: dict = {}
    for index, source in enumerate(sources):
        volume, row = _volume_and_row(source)
        volumes.setdefault(volume if row is not None else (source, index), []).append((row or 0, index))
    blocks = []
    for members in volumes.values():
        members.sort()
        run = []
        for row, index in members:
            if run and (row != run[-1][0] + 1 or len(run) == block_slices):
                blocks.append(np.array([i for _, i in run]))
                run = []
            run.append((row, index))
        blocks.append(np.array([i for _, i in run]))
    return blocks


def split_slices(slices: LabelledSlices, *, n_train: int = 800, n_val: int = 200, seed: int = 0,
                 block_slices: int = 20, guard_slices: int = 2):
    """Train/validation split, by default the paper's 800 + 200 slices, validating on whole blocks.

    Neighbouring z-slices of one volume show the same pores, so a random split would validate on
    near-copies of training slices.  Validation takes randomly chosen blocks of up to
    ``block_slices`` consecutive rows of one volume (:func:`slice_blocks`), and no training slice
    lies within ``guard_slices`` rows of a validation slice of its volume.  ``block_slices=1,
    guard_slices=0`` is a random split.  When fewer than ``n_train + n_val`` slices exist, they are
    split in the same proportion (at least one validation slice); the guard rows can leave fewer
    training slices than asked for.  Validation is the end of a seeded shuffle of the blocks and
    training the rest in that order, so with single slices and every slice used the split is the
    one earlier versions drew at random.

    Returns
    -------
    (train, val) : LabelledSlices
    """
    if n_train < 1 or n_val < 1:
        raise ValueError(f"n_train and n_val must be at least 1, got {n_train}, {n_val}")
    if guard_slices < 0:
        raise ValueError(f"guard_slices must be at least 0, got {guard_slices}")
    total = len(slices)
    if total < 2:
        raise ValueError(f"slices: need at least 2 slices to split, got {total}")
    if total < n_train + n_val:
        n_val = min(max(1, round(total * n_val / (n_train + n_val))), total - 1)
        n_train = total - n_val
    blocks = slice_blocks(slices.sources, block_slices)
    shuffled = [blocks[b] for b in np.random.default_rng(seed).permutation(len(blocks))]
    val: list[int] = []  # whole blocks from the end of the shuffled order, kept in that order
    for block in reversed(shuffled):
        val[:0] = block[max(0, len(block) - (n_val - len(val))):].tolist()
        if len(val) == n_val:
            break
    located = [_volume_and_row(source) for source in slices.sources]
    guarded = {(located[i][0], located[i][1] + shift) for i in val if located[i][1] is not None
               for shift in range(-guard_slices, guard_slices + 1)}
    held_out = set(val)
    train = [i for block in shuffled for i in block.tolist() if i not in held_out and located[i] not in guarded]
    if not train:
        raise ValueError(f"no training slice is more than {guard_slices} rows from the {n_val} validation slices: "
                         f"give more slices or a smaller guard_slices")
    return slices.subset(train[:n_train]), slices.subset(val)


def intensity_statistics(slices: LabelledSlices) -> tuple[float, float]:
    """Mean and standard deviation (1/m) of all pixels of ``slices``: the network's input normalisation."""
    if len(slices) == 0:
        raise ValueError("slices: empty")
    total = sum(float(image.sum(dtype=np.float64)) for image in slices.images)
    count = sum(image.size for image in slices.images)
    mean = total / count
    squares = sum(float(((image - mean) ** 2).sum(dtype=np.float64)) for image in slices.images)
    return mean, max(np.sqrt(squares / count), np.finfo(np.float32).eps)
