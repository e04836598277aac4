"""Projection preprocessing: flat-field normalisation, -log, zingers, stripes, phase, centre."""

from porewatch.kernels.prep.normalize import minus_log, normalize

__all__ = ["minus_log", "normalize"]
