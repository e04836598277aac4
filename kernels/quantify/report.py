"""JSON-ready summaries of a step's analysis, in um and A/m^2 (the keys of ``porewatch report --json``).

The keys present before the LLZO and distribution analyses (README "Results") are a stable
interface; everything else is added beside them.  NaN and infinities become None.
"""

import math

from porewatch.kernels.quantify.llzo import REGIONS


def finite(value) -> float | None:
    """``float(value)``, or None for None, NaN and infinities."""
    return float(value) if value is not None and math.isfinite(value) else None


def _profile(values) -> list:
    return [finite(v) for v in values]


def electrode_report(analysis) -> dict:
    """Summary of an :class:`~porewatch.kernels.quantify.step_analysis.ElectrodeAnalysis`."""
    porosity, distribution = analysis.porosity, analysis.distribution
    edges = porosity.depth_bin_edges_m
    return {
        "collector_interface_z_um": finite(analysis.interfaces.collector_z_mean_m * 1e6),
        "electrolyte_interface_z_um": finite(analysis.interfaces.electrolyte_z_mean_m * 1e6),
        "thickness_mean_um": finite(analysis.thickness_mean_m * 1e6),
        "porosity": finite(porosity.overall),
        "porosity_near_interface": finite(porosity.near_interface),
        "current_density_mean_A_m2": finite(analysis.current_density_mean_A_m2),
        "current_density_std_A_m2": finite(analysis.current_density_std_A_m2),
        "hotspots": [_hotspot(spot, column) for spot, column in zip(analysis.hotspots, analysis.beneath)],
        "porosity_depth_bin_um": finite((edges[1] - edges[0]) * 1e6) if len(edges) > 1 else None,
        "porosity_depth_profile": _profile(porosity.depth_profile),
        "porosity_modes": distribution.modes,
        "porosity_mode_values": list(distribution.mode_porosities),
        "current_density_from_volume_mean_A_m2": finite(analysis.current_density_from_volume_mean_A_m2),
        "mass_balance_ratio": finite(analysis.mass_balance_ratio),
        "mass_balance_ratio_from_volume": finite(analysis.mass_balance_ratio_from_volume),
        "porosity_near_interface_voxels": porosity.near_interface_voxels,
    }


def _hotspot(spot, column) -> dict:
    return {
        "id": spot.id,
        "x_um": spot.x_m * 1e6,
        "y_um": spot.y_m * 1e6,
        "area_um2": spot.area_m2 * 1e12,
        "peak_current_density_A_m2": spot.peak_j_A_m2,
        "electrode": spot.electrode,
        "extent_um": spot.extent_m * 1e6,
        "compactness": spot.compactness,
        "llzo_beneath": {
            "porosity": finite(column.porosity),
            "tortuosity": finite(column.tortuosity),
            "tortuosity_factor": finite(column.tortuosity_factor),
            "solid_path": column.tortuosity != math.inf,
            "radius_um": math.sqrt(spot.area_m2 / math.pi) * 1e6,
            "thickness_um": column.thickness_m * 1e6,
        },
    }


def llzo_report(llzo) -> dict:
    """Summary of an :class:`~porewatch.kernels.quantify.step_analysis.LLZOAnalysis`."""
    porosity = llzo.porosity
    edges = porosity.depth_bin_edges_m
    report = {
        "porosity": finite(porosity.overall),
        "porosity_bulk": finite(porosity.regions["bulk"]),
        "porosity_interfacial_top": finite(porosity.regions["interfacial_top"]),
        "porosity_interfacial_bottom": finite(porosity.regions["interfacial_bottom"]),
        "porosity_depth_bin_um": finite((edges[1] - edges[0]) * 1e6) if len(edges) > 1 else None,
        "porosity_depth_profile_normalised": _profile(porosity.normalised_profile),
        "pore_radius_um": finite(porosity.pore_radius_m * 1e6),
    }
    for name in REGIONS:
        region = llzo.transport.get(name)
        report[f"tortuosity_{name}"] = finite(region.tortuosity.tau) if region else None
    report["microstructure_factors"] = {name: _factors(region) for name, region in llzo.transport.items()
                                        if region.domain_px}
    return report


def _factors(region) -> dict:
    def stats(conductivity, young):
        if conductivity is None:
            return None
        return {"conductivity": conductivity.to_report(), "youngs_modulus": young.to_report()}

    return {
        "domain_px": region.domain_px,
        "tomography": stats(region.conductivity, region.youngs_modulus),
        "synthetic": stats(region.synthetic_conductivity, region.synthetic_youngs_modulus),
    }
