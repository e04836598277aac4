"""One electrochemical step, quantified: interfaces, thickness, porosity, current density, hot spots, LLZO."""

import math
from dataclasses import dataclass, field

import numpy as np

from porewatch.kernels.backend import check_array
from porewatch.kernels.quantify.current_density import area_mean_std, current_density_map
from porewatch.kernels.quantify.distribution import PorosityDistribution, porosity_distribution
from porewatch.kernels.quantify.electrodes import ELECTRODES, CellInterfaces, ElectrodeInterfaces, locate_interfaces
from porewatch.kernels.quantify.hotspots import HOTSPOT_MODES, Hotspot, find_hotspots
from porewatch.kernels.quantify.llzo import PelletPorosity, pellet_porosity_analysis, region_boxes
from porewatch.kernels.quantify.pellet_column import PelletColumn, pellet_column
from porewatch.kernels.quantify.pellet_transport import RegionTransport, region_transport
from porewatch.kernels.quantify.porosity import ElectrodePorosity, electrode_porosity
from porewatch.kernels.quantify.report import electrode_report, llzo_report
from porewatch.kernels.quantify.thickness import lithium_volume, thickness_map


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
    distribution_window_px : int
        Lateral window of the local porosity whose distribution is reported (Fig. S5a).
    current_density_sigma_px : float
        NaN-aware Gaussian smoothing of the current density maps, pixels (0: none).
    hotspot_mode : {"std", "mean_multiple"}
        Scale of hot-spot departures: robust (MAD) standard deviations, or multiples of
        the mean current density.
    hotspot_threshold : float
        Departure threshold in that scale.
    hotspot_min_area_m2, hotspot_min_area_px, hotspot_min_compactness, hotspot_peak_factor
        Region filters of :func:`~porewatch.kernels.quantify.hotspots.find_hotspots`.
    lateral_sigma_px, rim_margin_px, edge_margin_px, plateau_px, linearise_edges, electrolyte_median_px
        Interface search (``linearise_edges`` is its ``linearise``), see
        :func:`~porewatch.kernels.quantify.electrodes.locate_interfaces`.
    llzo_depth_bin_m : float
        Bin of the pellet's porosity depth profile, m (36 um, Fig. 4a).
    llzo_interfacial_m : float
        Thickness of the pellet's interfacial regions, m (100 um, Fig. 4c).
    llzo_transport : bool
        Compute tortuosity and microstructure factors of the pellet's regions (the costly part).
    llzo_box_max_px : int
        Lateral side of the region boxes (tortuosity), cropped about the cell's centre.
    llzo_domains, llzo_domain_max_px : int
        Microstructure-factor domains per interfacial region (the paper's choice; the bulk gets
        its tortuosity only) and their largest side, voxels.
    llzo_grain_size_m, llzo_poisson_ratio : float
        Grain size of the synthetic domains, m, and Poisson's ratio of LLZO.
    """

    near_interface_m: float = 10e-6
    depth_bin_m: float = 10e-6
    pore_density_window_m: float = 500e-6
    distribution_window_px: int = 5
    current_density_sigma_px: float = 1.0
    hotspot_mode: str = "std"
    hotspot_threshold: float = 4.0
    hotspot_min_area_m2: float = 2.5e-9
    hotspot_min_area_px: int = 16
    hotspot_min_compactness: float = 0.5
    hotspot_peak_factor: float = 2.0
    lateral_sigma_px: float = 1.0
    rim_margin_px: float = 5.0
    edge_margin_px: int = 4
    plateau_px: int = 8
    linearise_edges: bool = True
    electrolyte_median_px: int = 5
    llzo_depth_bin_m: float = 36e-6
    llzo_interfacial_m: float = 100e-6
    llzo_transport: bool = True
    llzo_box_max_px: int = 128
    llzo_domains: int = 2
    llzo_domain_max_px: int = 16
    llzo_grain_size_m: float = 20e-6
    llzo_poisson_ratio: float = 0.26

    def __post_init__(self):
        if self.hotspot_mode not in HOTSPOT_MODES:
            raise ValueError(f"hotspot_mode must be one of {HOTSPOT_MODES}, got {self.hotspot_mode!r}")


@dataclass(frozen=True)
class ElectrodeAnalysis:
    """Everything measured on one Li electrode at one step (maps ``(n_y, n_x)`` float32).

    ``current_density_*``, ``mass_balance_*``, ``pore_density_difference_map`` and
    ``hotspots`` need a previous step: None and empty on the first; ``mass_balance_*`` (area
    mean j over the applied current density) also needs the applied value.
    """

    interfaces: ElectrodeInterfaces
    thickness_map_m: object
    thickness_mean_m: float
    lithium_volume_map_m3: object
    porosity: ElectrodePorosity
    distribution: PorosityDistribution
    current_density_map_A_m2: object = None
    current_density_mean_A_m2: float | None = None
    current_density_std_A_m2: float | None = None
    current_density_from_volume_map_A_m2: object = None
    current_density_from_volume_mean_A_m2: float | None = None
    mass_balance_ratio: float | None = None
    mass_balance_ratio_from_volume: float | None = None
    pore_density_difference_map: object = None
    hotspots: tuple[Hotspot, ...] = field(default_factory=tuple)
    beneath: tuple[PelletColumn, ...] = field(default_factory=tuple)

    def to_report(self) -> dict:
        """JSON-ready summary in um and A/m^2; NaN becomes None."""
        return electrode_report(self)


@dataclass(frozen=True)
class LLZOAnalysis:
    """The pellet at one step: porosity figures, and per region transport (empty when not computed)."""

    porosity: PelletPorosity
    transport: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StepAnalysis:
    """Quantification of one step: both electrodes and the pellet."""

    top: ElectrodeAnalysis
    bottom: ElectrodeAnalysis
    llzo: LLZOAnalysis

    @property
    def llzo_porosity(self) -> float:
        """Transparent fraction of the whole pellet."""
        return self.llzo.porosity.overall

    def electrode(self, name: str) -> ElectrodeAnalysis:
        """The analysis of electrode ``name`` (``"top"`` or ``"bottom"``)."""
        if name not in ELECTRODES:
            raise ValueError(f"name must be one of {ELECTRODES}, got {name!r}")
        return self.top if name == "top" else self.bottom

    def to_report(self) -> dict:
        """JSON-ready dict: ``{"top": {...}, "bottom": {...}, "llzo": {"porosity": ..., ...}}``."""
        return {"top": self.top.to_report(), "bottom": self.bottom.to_report(), "llzo": llzo_report(self.llzo)}


@dataclass(frozen=True)
class _Step:
    """What the electrodes' analyses share."""

    labels: object
    cell: CellInterfaces
    pixel_size_m: float
    duration_s: float | None
    applied_A_m2: float | None
    settings: AnalysisSettings


def analyse_step(
    mu,
    labels,
    *,
    pixel_size_m: float,
    duration_s: float | None = None,
    previous: StepAnalysis | None = None,
    applied_current_density_A_m2: float | None = None,
    settings: AnalysisSettings = AnalysisSettings(),
    llzo_transport: bool | None = None,
    seed: int = 0,
) -> StepAnalysis:
    """Quantify one step of a cycling experiment.

    Parameters
    ----------
    mu : (n_z, n_y, n_x) float array
        Reconstructed attenuation, 1/m (locates the interfaces).
    labels : (n_z, n_y, n_x) uint8 array
        Phase labels of the same volume (porosity, Li volume, pellet).
    pixel_size_m : float
        Voxel size, m.
    duration_s : float, optional
        Time since the previous step, s; required with ``previous``.
    previous : StepAnalysis, optional
        The previous step on the same grid; gives current density, hot spots and differences.
    applied_current_density_A_m2 : float, optional
        Applied current density of the step (sign convention of the maps), for the mass balance.
    settings : AnalysisSettings
    llzo_transport : bool, optional
        Overrides ``settings.llzo_transport`` for this step (e.g. every N steps).
    seed : int
        Seed of the synthetic LLZO domains.

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
        mu, pixel_size_m=pixel_size_m, lateral_sigma_px=settings.lateral_sigma_px,
        rim_margin_px=settings.rim_margin_px, edge_margin_px=settings.edge_margin_px,
        plateau_px=settings.plateau_px, linearise=settings.linearise_edges,
        electrolyte_median_px=settings.electrolyte_median_px,
    )
    step = _Step(labels, cell, pixel_size_m, duration_s, applied_current_density_A_m2, settings)
    analyses = {name: _analyse_electrode(step, name, None if previous is None else previous.electrode(name))
                for name in ELECTRODES}
    transport = settings.llzo_transport if llzo_transport is None else llzo_transport
    return StepAnalysis(top=analyses["top"], bottom=analyses["bottom"],
                        llzo=_analyse_pellet(step, transport=transport, seed=seed))


def _analyse_electrode(step: _Step, name: str, previous: ElectrodeAnalysis | None) -> ElectrodeAnalysis:
    s, interfaces = step.settings, step.cell.electrode(name)
    thickness = thickness_map(interfaces)
    porosity = electrode_porosity(step.labels, interfaces, pixel_size_m=step.pixel_size_m,
                                  near_interface_m=s.near_interface_m, depth_bin_m=s.depth_bin_m,
                                  pore_density_window_m=s.pore_density_window_m)
    volume = lithium_volume(thickness, porosity.pore_length_map_m, pixel_size_m=step.pixel_size_m)
    base = dict(interfaces=interfaces, thickness_map_m=thickness, thickness_mean_m=area_mean_std(thickness)[0],
                lithium_volume_map_m3=volume, porosity=porosity,
                distribution=porosity_distribution(porosity.pore_density_map, window_px=s.distribution_window_px))
    if previous is None:
        return ElectrodeAnalysis(**base)
    return ElectrodeAnalysis(**base, **_changes(step, name, previous, thickness, volume, porosity))


def _changes(step: _Step, name: str, previous: ElectrodeAnalysis, thickness, volume, porosity) -> dict:
    """Current density (thickness and Li volume), mass balance, hot spots and differences against ``previous``."""
    s, area = step.settings, step.pixel_size_m**2
    common = dict(duration_s=step.duration_s, electrode=name, smoothing_sigma_px=s.current_density_sigma_px)
    j = current_density_map(previous.thickness_map_m, thickness, **common)
    j_volume = current_density_map(previous.lithium_volume_map_m3 / area, volume / area, **common)
    mean, std = area_mean_std(j)
    mean_volume = area_mean_std(j_volume)[0]
    spots = find_hotspots(j, pixel_size_m=step.pixel_size_m, electrode=name, threshold=s.hotspot_threshold,
                          mode=s.hotspot_mode, min_area_m2=s.hotspot_min_area_m2, min_area_px=s.hotspot_min_area_px,
                          min_compactness=s.hotspot_min_compactness, peak_factor=s.hotspot_peak_factor)
    beneath = tuple(pellet_column(step.labels, top=step.cell.top, bottom=step.cell.bottom, x_m=spot.x_m,
                                  y_m=spot.y_m, radius_m=max(math.sqrt(spot.area_m2 / math.pi), step.pixel_size_m / 2),
                                  pixel_size_m=step.pixel_size_m) for spot in spots)
    applied = step.applied_A_m2
    return dict(
        current_density_map_A_m2=j, current_density_mean_A_m2=mean, current_density_std_A_m2=std,
        current_density_from_volume_map_A_m2=j_volume, current_density_from_volume_mean_A_m2=mean_volume,
        mass_balance_ratio=_ratio(mean, applied), mass_balance_ratio_from_volume=_ratio(mean_volume, applied),
        pore_density_difference_map=(porosity.pore_density_map - previous.porosity.pore_density_map).astype(np.float32),
        hotspots=tuple(spots), beneath=beneath,
    )


def _ratio(value: float, applied: float | None) -> float | None:
    return value / applied if applied else None


def _analyse_pellet(step: _Step, *, transport: bool, seed: int) -> LLZOAnalysis:
    s, cell = step.settings, step.cell
    porosity = pellet_porosity_analysis(step.labels, top=cell.top, bottom=cell.bottom, pixel_size_m=step.pixel_size_m,
                                        depth_bin_m=s.llzo_depth_bin_m, interfacial_m=s.llzo_interfacial_m)
    if not transport:
        return LLZOAnalysis(porosity)
    boxes = region_boxes(step.labels.shape, top=cell.top, bottom=cell.bottom, usable=cell.usable,
                         pixel_size_m=step.pixel_size_m, interfacial_m=s.llzo_interfacial_m,
                         max_side_px=s.llzo_box_max_px)
    regions: dict[str, RegionTransport] = {
        name: region_transport(step.labels, box, pixel_size_m=step.pixel_size_m,
                               n_domains=0 if name == "bulk" else s.llzo_domains,
                               domain_max_px=s.llzo_domain_max_px, pore_radius_m=porosity.pore_radius_m,
                               grain_size_m=s.llzo_grain_size_m, poisson_ratio=s.llzo_poisson_ratio, seed=seed)
        for name, box in boxes.items()}
    return LLZOAnalysis(porosity, regions)
