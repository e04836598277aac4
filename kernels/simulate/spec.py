"""Specification of the simulated Li | LLZO | Li cell and of its galvanostatic protocol.

All lengths are in metres, current densities in A/m^2 and durations in seconds.
"""

from dataclasses import dataclass
from math import isfinite, pi

from porewatch.kernels.simulate.checks import (
    check_fraction,
    check_non_negative,
    check_positive,
    check_range,
    require,
)

ELECTRODES = ("top", "bottom")


@dataclass(frozen=True)
class CellSpec:
    """Geometry, microstructure and hot-spot statistics of a symmetric Li | LLZO | Li cell.

    The cell is a stack of coaxial discs of radius ``cell_radius_m`` along z (the rotation
    axis): top steel collector, top Li foil, LLZO pellet, bottom Li foil, bottom steel
    collector.  Pores are spheres; hot spots are paraboloid footprints on the Li | LLZO
    interfaces above columns of denser LLZO porosity.  ``seed`` fixes every random draw.

    Attributes
    ----------
    cell_radius_m, steel_thickness_m, lithium_thickness_m, llzo_thickness_m : float
        Stack geometry, m (pristine Li foil thickness for ``lithium_thickness_m``).
    llzo_porosity : float
        Volume fraction of pores in the whole pellet (anomalous columns included).
    llzo_pore_radius_range_m : (float, float)
        Uniform range of LLZO pore radii, m.
    anomaly_porosity_factor : float
        Porosity inside an anomalous column over the porosity of the rest of the pellet.
    anomaly_depth_m : float
        Depth of an anomalous column into the pellet from its hot spot's interface, m.
    lithium_porosity : float
        Volume fraction of pores in the pristine Li foils.
    lithium_pore_radius_range_m : (float, float)
        Uniform range of pristine Li pore radii, m.
    hot_spots_per_electrode : (int, int)
        Number of hot spots on the top and on the bottom electrode.
    hot_spot_radius_range_m : (float, float)
        Uniform range of hot-spot footprint radii, m.
    hot_spot_gain_range : (float, float)
        Uniform range of hot-spot gains g: the local current density at a hot-spot centre
        is ``(1 + g)`` times the baseline before normalisation to the applied mean.
    voids_per_coulomb : float
        Voids nucleated on the stripping electrode per coulomb of stripped charge.
    void_radius_range_m : (float, float)
        Uniform range of void radii, m.
    void_depth_spread_m : float
        A void's centre lies between ``r`` and ``r + void_depth_spread_m`` from the
        Li | LLZO interface, m.
    void_hot_spot_fraction : float
        Fraction of new voids placed inside hot-spot footprints (when the stripping
        electrode has any), distributed with the local current density.
    seed : int
        Seed of every random draw of the cell (pores, hot spots, voids).
    """

    cell_radius_m: float = 0.5e-3
    steel_thickness_m: float = 100e-6
    lithium_thickness_m: float = 150e-6
    llzo_thickness_m: float = 400e-6
    llzo_porosity: float = 0.05
    llzo_pore_radius_range_m: tuple[float, float] = (8e-6, 16e-6)
    anomaly_porosity_factor: float = 2.5
    anomaly_depth_m: float = 150e-6
    lithium_porosity: float = 0.0075
    lithium_pore_radius_range_m: tuple[float, float] = (6e-6, 12e-6)
    hot_spots_per_electrode: tuple[int, int] = (2, 1)
    hot_spot_radius_range_m: tuple[float, float] = (60e-6, 90e-6)
    hot_spot_gain_range: tuple[float, float] = (4.0, 6.0)
    voids_per_coulomb: float = 2000.0
    void_radius_range_m: tuple[float, float] = (5e-6, 12e-6)
    void_depth_spread_m: float = 6e-6
    void_hot_spot_fraction: float = 0.3
    seed: int = 2020

    def __post_init__(self) -> None:
        for name in ("cell_radius_m", "steel_thickness_m", "lithium_thickness_m",
                     "llzo_thickness_m", "anomaly_porosity_factor", "anomaly_depth_m"):
            check_positive(name, getattr(self, name))
        for name in ("llzo_porosity", "lithium_porosity", "void_hot_spot_fraction"):
            check_fraction(name, getattr(self, name))
        for name in ("voids_per_coulomb", "void_depth_spread_m"):
            check_non_negative(name, getattr(self, name))
        for name in ("llzo_pore_radius_range_m", "lithium_pore_radius_range_m",
                     "hot_spot_radius_range_m", "hot_spot_gain_range", "void_radius_range_m"):
            check_range(name, getattr(self, name))
        counts = self.hot_spots_per_electrode
        require(len(counts) == 2 and all(isinstance(n, int) and n >= 0 for n in counts),
                "hot_spots_per_electrode", f"must be two counts >= 0, got {counts!r}")
        require(self.hot_spot_radius_range_m[1] < self.cell_radius_m / 2,
                "hot_spot_radius_range_m", "must stay below half the cell radius")
        require(self.anomaly_depth_m <= self.llzo_thickness_m / 2, "anomaly_depth_m",
                "must not exceed half the LLZO thickness")
        require(2 * self.llzo_pore_radius_range_m[1] < self.llzo_thickness_m,
                "llzo_pore_radius_range_m", "must fit inside the pellet")
        require(self.anomaly_porosity_factor * self.llzo_porosity < 0.3, "anomaly_porosity_factor",
                "times llzo_porosity must stay below 0.3 (non-overlapping packing)")

    @property
    def stack_height_m(self) -> float:
        """Total height of the stack (both collectors included), m."""
        return self.llzo_thickness_m + 2 * (self.lithium_thickness_m + self.steel_thickness_m)

    @property
    def cell_area_m2(self) -> float:
        """Cross-sectional area of the cell, m^2."""
        return pi * self.cell_radius_m**2


@dataclass(frozen=True)
class GalvanostaticStep:
    """One electrochemical step at constant current.

    Attributes
    ----------
    name : str
    current_density_A_m2 : float
        Applied (area-mean) current density, A/m^2; positive plates Li on the top electrode
        and strips it from the bottom one.
    duration_s : float
        Duration of the step, s (0 for the pristine scan).
    """

    name: str
    current_density_A_m2: float
    duration_s: float

    def __post_init__(self) -> None:
        require(isfinite(self.current_density_A_m2), "current_density_A_m2",
                f"must be finite, got {self.current_density_A_m2!r}")
        check_non_negative("duration_s", self.duration_s)

    @property
    def charge_density_C_m2(self) -> float:
        """Signed charge passed per unit area, C/m^2."""
        return self.current_density_A_m2 * self.duration_s


def default_steps(
    *, current_density_A_m2: float = 0.25, duration_s: float = 72 * 3600.0
) -> list[GalvanostaticStep]:
    """Pristine, plating and stripping steps of the default protocol.

    The defaults (25 uA/cm^2 for 72 h, near the critical current density reported by
    Dixit et al. 2020) move the mean Li | steel interface by ~8.7 um per step, about one
    voxel of the default 128-column detector.
    """
    check_positive("current_density_A_m2", current_density_A_m2)
    check_positive("duration_s", duration_s)
    return [
        GalvanostaticStep("pristine", 0.0, 0.0),
        GalvanostaticStep("plate", current_density_A_m2, duration_s),
        GalvanostaticStep("strip", -current_density_A_m2, duration_s),
    ]
