"""The pore | Li decision of slice-wise segmentation, taken with the neighbouring slices.

The network labels each z-slice on its own, but a pore a few voxels across spans several
slices, and in each the evidence is noisy.  Here every voxel labelled pore or Li is decided
again on its pore share ``s = p_pore / (p_pore + p_Li)`` averaged with the shares of the
voxels directly above and below it (weights 1, 2, 1), counting only neighbours that are
themselves pore or Li and lie in the adjacent row of the volume: LLZO, steel and slices
that were not segmented do not dilute it.  The voxel is pore where that average exceeds
``threshold``.  Averaging pulls a pore's edge voxels towards their Li neighbours, so a
threshold under 1/2 keeps the pore volume: the service's default is the one at which the
fused pore volume equals the slice-wise one on simulated cells used neither for training
nor for the held-out evaluation (``python -m porewatch.tools.calibrate_pore_threshold``).
With only confident neighbours the averaged share takes the values 0, 1/4, 1/3, 1/2, ...,
so a threshold just above 1/4 or 1/3 decides on noise: keep it clear of them.
"""

from porewatch.kernels.backend import check_array
from porewatch.kernels.labels import Phase

#: Weights of the slice below, the voxel's own slice and the slice above.
NEIGHBOUR_WEIGHT, OWN_WEIGHT = 1.0, 2.0


def fuse_pore_decision(labels, confidence, pore_share, rows, *, threshold: float):
    """Labels with pore vs Li decided on the pore share averaged over neighbouring slices.

    Parameters
    ----------
    labels : (n, H, W) uint8 array
        Classes (:class:`~porewatch.kernels.labels.Phase`) of ``n`` z-slices of a volume.
    confidence : (n, H, W) float array
        Network probability of each voxel's class.
    pore_share : (n, H, W) float array
        ``p_pore / (p_pore + p_Li)`` of each voxel, in [0, 1].
    rows : (n,) int array
        Row of the volume each slice is; slices ``i`` and ``i + 1`` are neighbours only
        where ``rows[i + 1] == rows[i] + 1``.
    threshold : float
        Averaged share above which a pore-or-Li voxel is pore, in (0, 1).

    Returns
    -------
    labels : (n, H, W) uint8 array
        ``labels`` with every pore-or-Li voxel set to pore or Li; other classes unchanged.
    confidence : (n, H, W) float32 array
        The network's probability of each voxel's new class (of its own slice).
    """
    xp = check_array(labels, name="labels", ndim=3)
    for name, array in (("confidence", confidence), ("pore_share", pore_share)):
        check_array(array, name=name, ndim=3)
        if array.shape != labels.shape:
            raise ValueError(f"{name}: shape {array.shape} differs from labels {labels.shape}")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
    rows = xp.asarray(rows)
    if rows.shape != (labels.shape[0],):
        raise ValueError(f"rows: expected shape ({labels.shape[0]},), got {tuple(rows.shape)}")
    candidate = (labels == Phase.PORE) | (labels == Phase.LITHIUM)
    weight = candidate.astype(xp.float32)
    share = xp.asarray(pore_share, dtype=xp.float32)
    weighted_share = weight * share
    total = OWN_WEIGHT * weighted_share
    norm = OWN_WEIGHT * weight
    adjacent = ((rows[1:] - rows[:-1]) == 1)[:, None, None]
    total[1:] += NEIGHBOUR_WEIGHT * xp.where(adjacent, weighted_share[:-1], 0.0)
    norm[1:] += NEIGHBOUR_WEIGHT * xp.where(adjacent, weight[:-1], 0.0)
    total[:-1] += NEIGHBOUR_WEIGHT * xp.where(adjacent, weighted_share[1:], 0.0)
    norm[:-1] += NEIGHBOUR_WEIGHT * xp.where(adjacent, weight[1:], 0.0)
    averaged = total / xp.maximum(norm, OWN_WEIGHT)
    fused = xp.where(candidate, xp.where(averaged > threshold, Phase.PORE, Phase.LITHIUM), labels).astype(labels.dtype)
    # p_pore / p_Li = s / (1 - s): a voxel that changed class takes the other of the two probabilities.
    to_pore = (fused == Phase.PORE) & (labels == Phase.LITHIUM)
    to_lithium = (fused == Phase.LITHIUM) & (labels == Phase.PORE)
    confidence = xp.asarray(confidence, dtype=xp.float32)
    confidence = xp.where(to_pore, confidence * share / xp.maximum(1.0 - share, 0.5), confidence)
    confidence = xp.where(to_lithium, confidence * (1.0 - share) / xp.maximum(share, 0.5), confidence)
    return fused, confidence
