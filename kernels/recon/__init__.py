"""Slice reconstruction (gridrec, FBP) over NumPy or CuPy; see :mod:`.reconstruct`."""

from porewatch.kernels.recon.reconstruct import (
    prefilter_projection,
    prefiltered_layout,
    reconstruct,
    reconstruct_prefiltered,
)

__all__ = ["prefilter_projection", "prefiltered_layout", "reconstruct", "reconstruct_prefiltered"]
