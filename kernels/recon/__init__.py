"""Slice reconstruction (gridrec, FBP) over NumPy or CuPy; see :mod:`.reconstruct`."""

from porewatch.kernels.recon.reconstruct import prefilter_projection, reconstruct, reconstruct_prefiltered

__all__ = ["prefilter_projection", "reconstruct", "reconstruct_prefiltered"]
