"""Slab sizes that keep a reconstruction within a memory budget.

A slab is a run of consecutive detector rows (sinograms) reconstructed together.  Its
working memory is estimated per row, plus a fixed part shared by all slabs (the gridding
matrix of gridrec); the estimates are upper bounds of what the NumPy and CuPy paths
allocate at once, not counting the caller's input and output volumes.
"""

import numpy as np

from porewatch.kernels.recon.filters import padded_length

_FLOAT32 = 4
_COMPLEX64 = 8


def slab_bytes_per_row(*, method: str, n_angles: int, n_cols: int, oversampling: float = 2.0) -> int:
    """Working bytes per detector row of a slab for ``method`` ("fbp" or "gridrec")."""
    length = padded_length(n_cols)
    spectra = n_angles * (length // 2 + 1) * _COMPLEX64
    slices = 2 * n_cols * n_cols * _FLOAT32
    if method == "fbp":
        filtered = n_angles * n_cols * _FLOAT32
        return spectra + filtered + 2 * slices
    if method == "gridrec":
        grid = int(np.ceil(oversampling * n_cols))
        # rows travel in complex pairs: per row, half a packed spectrum and half a grid,
        # each held twice at most (a product and its reordered copy)
        packed = n_angles * length * _COMPLEX64
        gridded = grid * grid * _COMPLEX64
        return spectra + packed + gridded + slices
    raise ValueError(f"method must be 'gridrec' or 'fbp', got {method!r}")


def rows_per_slab(*, n_rows: int, bytes_per_row: int, fixed_bytes: int, memory_budget_bytes: int) -> int:
    """Largest number of rows (at most ``n_rows``) whose working memory fits the budget.

    Raises
    ------
    ValueError
        Even one row does not fit in ``memory_budget_bytes``.
    """
    if memory_budget_bytes <= 0:
        raise ValueError(f"memory_budget_bytes must be positive, got {memory_budget_bytes}")
    available = memory_budget_bytes - fixed_bytes
    if available < bytes_per_row:
        raise ValueError(
            f"memory_budget_bytes={memory_budget_bytes} is below the {fixed_bytes + bytes_per_row} "
            "bytes needed to reconstruct one row"
        )
    return int(min(n_rows, available // bytes_per_row))


def slabs(n_rows: int, rows: int):
    """Consecutive ``slice`` objects of at most ``rows`` rows covering ``range(n_rows)``."""
    return [slice(start, min(start + rows, n_rows)) for start in range(0, n_rows, rows)]
