"""Detector and scan specification, and the sampling grids it implies.

Geometry follows :mod:`porewatch.kernels`: detector row ``r`` images ``z = r * p`` (row 0
at the top), column ``c`` the lateral coordinate ``s = (c - c_rot) * p`` with
``c_rot = (n_cols - 1) / 2 + centre_offset_px``; angles are ``k * 180 / n_angles`` degrees.
The cell's pellet mid-plane sits at the middle row, ``z = (n_rows - 1) / 2 * p``.
"""

from dataclasses import dataclass
from math import ceil

import numpy as np

from porewatch.kernels.constants import BEAM_ENERGY_KEV, wavelength_m
from porewatch.kernels.simulate.checks import (
    check_non_negative,
    check_positive,
    require,
)
from porewatch.kernels.simulate.spec import CellSpec


@dataclass(frozen=True)
class DetectorSpec:
    """Scan geometry, optics and detector response.

    Attributes
    ----------
    n_cols, n_rows : int
        Detector size; the reconstruction grid is ``(n_rows, n_cols, n_cols)``.
    pixel_size_m : float
        Pixel pitch at the sample (magnification included), m.
    n_angles, n_flats, n_darks : int
        Projections over [0, 180) degrees, flat fields and dark fields per step.
    energy_kev : float
        Photon energy, keV.
    propagation_distance_m : float
        Sample-to-detector distance used for Fresnel propagation, m (0: pure absorption).
    blur_sigma_px : float
        Standard deviation of the Gaussian detector blur, pixels.
    flat_photons : float
        Mean detected counts per pixel of an open beam.
    flat_nonuniformity : float
        Relative amplitude (standard deviation) of the smooth open-beam profile.
    n_defect_columns : int
        Columns whose gain drifted between the flat-field and projection acquisitions.
    defect_gain_amplitude : float
        Largest relative gain drift of a defect column (drawn uniformly in +-amplitude).
    dark_counts, read_noise_counts : float
        Dark offset and Gaussian read-noise standard deviation, counts.
    centre_offset_px : float
        Offset of the rotation axis from the detector centre, pixels (sub-pixel allowed).
    detector_seed : int
        Seed of the fixed detector patterns (open-beam profile, defect columns).
    """

    n_cols: int
    n_rows: int
    pixel_size_m: float
    n_angles: int
    n_flats: int = 10
    n_darks: int = 10
    energy_kev: float = BEAM_ENERGY_KEV
    propagation_distance_m: float = 0.0
    blur_sigma_px: float = 0.8
    flat_photons: float = 20_000.0
    flat_nonuniformity: float = 0.05
    n_defect_columns: int = 4
    defect_gain_amplitude: float = 0.03
    dark_counts: float = 100.0
    read_noise_counts: float = 2.0
    centre_offset_px: float = 0.0
    detector_seed: int = 76

    def __post_init__(self) -> None:
        for name in ("n_cols", "n_rows", "n_angles", "n_flats", "n_darks"):
            value = getattr(self, name)
            require(isinstance(value, int) and value >= 1, name,
                    f"must be an int >= 1, got {value!r}")
        defects = self.n_defect_columns
        require(isinstance(defects, int) and 0 <= defects <= self.n_cols, "n_defect_columns",
                f"must be an int in [0, n_cols], got {defects!r}")
        for name in ("pixel_size_m", "energy_kev", "flat_photons"):
            check_positive(name, getattr(self, name))
        for name in ("propagation_distance_m", "blur_sigma_px", "flat_nonuniformity",
                     "defect_gain_amplitude", "dark_counts", "read_noise_counts"):
            check_non_negative(name, getattr(self, name))
        require(abs(self.centre_offset_px) < self.n_cols / 4, "centre_offset_px",
                f"must stay within a quarter of the detector, got {self.centre_offset_px!r}")
        require(self.flat_photons * 2 + self.dark_counts < 65535, "flat_photons",
                "leaves no headroom below the uint16 range")

    @classmethod
    def for_cell(
        cls,
        spec: CellSpec,
        *,
        n_cols: int = 128,
        n_rows: int | None = None,
        n_angles: int | None = None,
        margin: float = 1.2,
        fresnel_number: float = 4.0,
        **overrides,
    ) -> "DetectorSpec":
        """A detector that frames ``spec`` with ``margin`` to spare in width and height.

        ``n_rows`` defaults to ``n_cols``, ``n_angles`` to ``90 * n_cols / 64``.  The
        propagation distance is ``p^2 / (fresnel_number * wavelength)``, which keeps the
        Fresnel fringes the same size in pixels whatever ``n_cols`` is.  ``overrides`` set
        any other field.
        """
        n_rows = n_cols if n_rows is None else n_rows
        n_angles = ceil(90 * n_cols / 64) if n_angles is None else n_angles
        require(margin >= 1.0, "margin", f"must be >= 1, got {margin!r}")
        check_positive("fresnel_number", fresnel_number)
        require(isinstance(n_cols, int) and isinstance(n_rows, int) and min(n_cols, n_rows) >= 8,
                "n_cols", f"and n_rows must be ints >= 8, got {n_cols!r}, {n_rows!r}")
        pixel = margin * max(2 * spec.cell_radius_m / n_cols, spec.stack_height_m / n_rows)
        energy = overrides.get("energy_kev", BEAM_ENERGY_KEV)
        distance = pixel**2 / (fresnel_number * wavelength_m(energy))
        fields = dict(n_cols=n_cols, n_rows=n_rows, pixel_size_m=pixel, n_angles=n_angles,
                      propagation_distance_m=distance)
        return cls(**{**fields, **overrides})

    @property
    def wavelength_m(self) -> float:
        return wavelength_m(self.energy_kev)

    @property
    def rotation_column(self) -> float:
        """Detector column c_rot of the rotation axis."""
        return (self.n_cols - 1) / 2 + self.centre_offset_px

    def angles_deg(self) -> np.ndarray:
        """(n_angles,) float64: projection angles over [0, 180), degrees."""
        return np.arange(self.n_angles) * (180.0 / self.n_angles)

    def row_z_m(self, factor: int = 1) -> np.ndarray:
        """(n_rows * factor,) float64: z (m, cell frame) of ``factor`` samples per row."""
        rows = np.arange(self.n_rows * factor) / factor + (0.5 / factor - 0.5)
        return (rows - (self.n_rows - 1) / 2) * self.pixel_size_m

    def row_edges_m(self, factor: int = 1) -> np.ndarray:
        """(n_rows * factor + 1,) float64: z (m, cell frame) of the boundaries of ``factor`` slabs per row."""
        rows = np.arange(self.n_rows * factor + 1) / factor - 0.5
        return (rows - (self.n_rows - 1) / 2) * self.pixel_size_m

    def column_s_m(self, factor: int = 1) -> np.ndarray:
        """(n_cols * factor,) float64: s (m) of ``factor`` samples per column."""
        cols = np.arange(self.n_cols * factor) / factor + (0.5 / factor - 0.5)
        return (cols - self.rotation_column) * self.pixel_size_m

    def voxel_xy_m(self, factor: int = 1) -> np.ndarray:
        """(n_cols * factor,) float64: x (or y) of ``factor`` samples per voxel, m."""
        cols = np.arange(self.n_cols * factor) / factor + (0.5 / factor - 0.5)
        return (cols - (self.n_cols - 1) / 2) * self.pixel_size_m

    @property
    def stack_centre_z_m(self) -> float:
        """z (m, volume frame ``z = k p``) of the pellet mid-plane."""
        return (self.n_rows - 1) / 2 * self.pixel_size_m
