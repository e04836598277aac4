"""Projection preprocessing: flat-field normalisation, -log, zingers, stripes, phase, centre."""

from porewatch.kernels.prep.centre import find_center
from porewatch.kernels.prep.normalize import minus_log, normalize
from porewatch.kernels.prep.phase import paganin
from porewatch.kernels.prep.stripes import remove_stripes_fourier_wavelet, remove_stripes_sorting
from porewatch.kernels.prep.zingers import remove_zingers

__all__ = [
    "find_center",
    "minus_log",
    "normalize",
    "paganin",
    "remove_stripes_fourier_wavelet",
    "remove_stripes_sorting",
    "remove_zingers",
]
