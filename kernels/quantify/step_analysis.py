"""One electrochemical step, quantified: interfaces, thickness, porosity, current density, hot spots."""

import math
from dataclasses import dataclass, field

from porewatch.kernels.backend import check_array
from porewatch.kernels.quantify.current_density import area_mean_std, current_density_map
from porewatch.kernels.quantify.electrodes import ELECTRODES, ElectrodeInterfaces, locate_interfaces
from porewatch.kernels.quantify.hotspots import HOTSPOT_MODES, Hotspot, find_hotspots
from porewatch.kernels.quantify.porosity import ElectrodePorosity, electrode_porosity, pellet_porosity
from porewatch.kernels.quantify.thickness import lithium_volume_map, thickness_map


@dataclass(frozen=True)
class AnalysisSettings:
    """Parameters of :func:`analyse_step`, with their defaults.

    Attributes
    ----------
    near_interface_m : float
        Depth of the near-interface porosity layer, m (10 um, Dixit et al. Fig. 2b).
    depth_bin_m : float
        Bin width of the porosity depth profile, m (10 um, as in the paper's Fig. S5b).
    pore_density_window_m : float
        Depth averaged by the pore density map, m (500 um, the paper's Fig. 2).
    current_density_sigma_px : float
        NaN-aware Gaussian smoothing of the current density maps, pixels (0: none).
    hotspot_mode : {"std", "mean_multiple"}
        Scale of hot-spot departures: robust (MAD) standard deviations, or multiples of
        the mean current density.
    hotspot_threshold : float
        Departure threshold in that scale.  4 robust standard deviations: pure noise
        rarely crosses it, and ``hotspot_min_area_m2`` removes the few specks that do.
    hotspot_min_area_m2 : float
        Smallest hot spot, m^2 (2500 um^2, a 50 um square; the paper's hot spots are
        ~100 um across).  It is 16 pixel areas at 12.5 um pixels; coarser grids need a
        larger value to keep noise blobs out (see :func:`find_hotspots`).
    lateral_sigma_px, rim_margin_px, edge_margin_px, plateau_px
        Interface search, see :func:`~porewatch.kernels.quantify.electrodes.locate_interfaces`.
    """

    near_interface_m: float = 10e-6
    depth_bin_m: float = 10e-6
    pore_density_window_m: float = 500e-6
    current_density_sigma_px: float = 1.0
    hotspot_mode: str = "std"
    hotspot_threshold: float = 4.0
    hotspot_min_area_m2: float = 2.5e-9
    lateral_sigma_px: float = 1.0
    rim_margin_px: float = 5.0
    edge_margin_px: int = 4
    plateau_px: int = 8

    def __post_init__(self):
        if self.hotspot_mode not in HOTSPOT_MODES:
            raise ValueError(f"hotspot_mode must be one of {HOTSPOT_MODES}, got {self.hotspot_mode!r}")


@dataclass(frozen=True)
class ElectrodeAnalysis:
    """Everything measured on one Li electrode at one step (maps ``(n_y, n_x)`` float32).

    ``current_density_*`` and ``hotspots`` need a previous step: None and empty on the first.
    """

    interfaces: ElectrodeInterfaces
    thickness_map_m: object
    thickness_mean_m: float
    lithium_volume_map_m3: object
    porosity: ElectrodePorosity
    current_density_map_A_m2: object = None
    current_density_mean_A_m2: float | None = None
    current_density_std_A_m2: float | None = None
    hotspots: tuple[Hotspot, ...] = field(default_factory=tuple)

    def to_report(self) -> dict:
        """JSON-ready summary in um and A/m^2; NaN becomes None."""
        return {
            "collector_interface_z_um": _finite(self.interfaces.collector_z_mean_m * 1e6),
            "electrolyte_interface_z_um": _finite(self.interfaces.electrolyte_z_mean_m * 1e6),
            "thickness_mean_um": _finite(self.thickness_mean_m * 1e6),
            "porosity": _finite(self.porosity.overall),
            "porosity_near_interface": _finite(self.porosity.near_interface),
            "current_density_mean_A_m2": _finite(self.current_density_mean_A_m2),
            "current_density_std_A_m2": _finite(self.current_density_std_A_m2),
            "hotspots": [
                {
                    "id": spot.id,
                    "x_um": spot.x_m * 1e6,
                    "y_um": spot.y_m * 1e6,
                    "area_um2": spot.area_m2 * 1e12,
                    "peak_current_density_A_m2": spot.peak_j_A_m2,
                }
                for spot in self.hotspots
            ],
        }


@dataclass(frozen=True)
class StepAnalysis:
    """Quantification of one step: both electrodes and the pellet."""

    top: ElectrodeAnalysis
    bottom: ElectrodeAnalysis
    llzo_porosity: float

    def electrode(self, name: str) -> ElectrodeAnalysis:
        """The analysis of electrode ``name`` (``"top"`` or ``"bottom"``)."""
        if name not in ELECTRODES:
            raise ValueError(f"name must be one of {ELECTRODES}, got {name!r}")
        return self.top if name == "top" else self.bottom

    def to_report(self) -> dict:
        """JSON-ready dict: ``{"top": {...}, "bottom": {...}, "llzo": {"porosity": ...}}``."""
        return {
            "top": self.top.to_report(),
            "bottom": self.bottom.to_report(),
            "llzo": {"porosity": _finite(self.llzo_porosity)},
        }


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def analyse_step(
    mu,
    labels,
    *,
    pixel_size_m: float,
    duration_s: float | None = None,
    previous: StepAnalysis | None = None,
    settings: AnalysisSettings = AnalysisSettings(),
) -> StepAnalysis:
    """Quantify one step of a cycling experiment.

    Parameters
    ----------
    mu : (n_z, n_y, n_x) float array
        Reconstructed attenuation, 1/m (locates the interfaces).
    labels : (n_z, n_y, n_x) uint8 array
        Phase labels of the same volume (porosity, Li volume).
    pixel_size_m : float
        Voxel size, m.
    duration_s : float, optional
        Time since the previous step, s; required with ``previous``.
    previous : StepAnalysis, optional
        The previous step on the same grid; gives current density and hot spots.
    settings : AnalysisSettings

    Returns
    -------
    StepAnalysis
    """
    check_array(mu, name="mu", ndim=3)
    check_array(labels, name="labels", ndim=3)
    if labels.shape != mu.shape:
        raise ValueError(f"labels: shape {labels.shape} differs from mu {mu.shape}")
    if previous is not None and duration_s is None:
        raise ValueError("duration_s is required when previous is given")
    cell = locate_interfaces(
        mu,
        pixel_size_m=pixel_size_m,
        lateral_sigma_px=settings.lateral_sigma_px,
        rim_margin_px=settings.rim_margin_px,
        edge_margin_px=settings.edge_margin_px,
        plateau_px=settings.plateau_px,
    )
    analyses = {
        name: _analyse_electrode(
            labels,
            cell.electrode(name),
            pixel_size_m=pixel_size_m,
            duration_s=duration_s,
            previous=None if previous is None else previous.electrode(name),
            settings=settings,
        )
        for name in ELECTRODES
    }
    llzo = pellet_porosity(labels, top=cell.top, bottom=cell.bottom, pixel_size_m=pixel_size_m)
    return StepAnalysis(top=analyses["top"], bottom=analyses["bottom"], llzo_porosity=llzo)


def _analyse_electrode(
    labels, interfaces, *, pixel_size_m, duration_s, previous, settings
) -> ElectrodeAnalysis:
    thickness = thickness_map(interfaces)
    porosity = electrode_porosity(
        labels,
        interfaces,
        pixel_size_m=pixel_size_m,
        near_interface_m=settings.near_interface_m,
        depth_bin_m=settings.depth_bin_m,
        pore_density_window_m=settings.pore_density_window_m,
    )
    current = {}
    if previous is not None:
        j = current_density_map(
            previous.thickness_map_m,
            thickness,
            duration_s=duration_s,
            electrode=interfaces.electrode,
            smoothing_sigma_px=settings.current_density_sigma_px,
        )
        mean, std = area_mean_std(j)
        spots = find_hotspots(
            j,
            pixel_size_m=pixel_size_m,
            electrode=interfaces.electrode,
            threshold=settings.hotspot_threshold,
            mode=settings.hotspot_mode,
            min_area_m2=settings.hotspot_min_area_m2,
        )
        current = dict(
            current_density_map_A_m2=j,
            current_density_mean_A_m2=mean,
            current_density_std_A_m2=std,
            hotspots=tuple(spots),
        )
    return ElectrodeAnalysis(
        interfaces=interfaces,
        thickness_map_m=thickness,
        thickness_mean_m=area_mean_std(thickness)[0],
        lithium_volume_map_m3=lithium_volume_map(labels, interfaces, pixel_size_m=pixel_size_m),
        porosity=porosity,
        **current,
    )
